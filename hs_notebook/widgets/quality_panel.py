"""The quality panel: score the token panel's ladder (:func:`hs_notebook.quality.ladder.quality`)
and look at it: the rate-quality plot, the per-rendition table, the quality findings,
VMAF over time, and the frame comparison at a time chosen with a slider.

Scoring runs in a background thread (the **Score** button) with a progress bar, so the
page stays responsive; :meth:`QualityPanel.score` does the same work in the calling
thread (for notebooks and tests).
"""

from __future__ import annotations

import html
import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as W

from hs_notebook.errors import HeapStreamError
from hs_notebook.quality.ladder import quality
from hs_notebook.widgets._common import (
    error_html,
    info_html,
    png_output,
    table_box,
    table_html,
)
from hs_notebook.widgets.token_panel import TokenPanel

if TYPE_CHECKING:
    from hs_notebook.quality.ladder import LadderQuality

__all__ = ["QualityPanel"]

_TABLE_COLUMNS = (
    "rendition",
    "width",
    "height",
    "declared_bitrate",
    "measured_bitrate",
    "vmaf_mean",
    "vmaf_p5",
    "vmaf_min",
    "psnr",
    "ssim",
    "integrated",
    "true_peak",
    "is_reference",
    "error",
)
#: The sample choices offered: label -> ``sample=`` of :func:`quality`.
SAMPLES: dict[str, Any] = {
    "auto (short videos whole)": None,
    "whole video": "full",
    "3 windows of 2 s": (3, 2.0),
    "1 window of 2 s": (1, 2.0),
}


class QualityPanel(W.VBox):
    """Score the rendition ladder of the token panel's video against the original upload
    (or the top rung when the project keeps no originals) and show what came out.

    Attributes after :meth:`score`: ``result`` (the
    :class:`~hs_notebook.quality.ladder.LadderQuality`).
    """

    def __init__(self, token_panel: TokenPanel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token_panel = token_panel
        self.result: LadderQuality | None = None
        self._thread: threading.Thread | None = None
        self.score_button = W.Button(description="Score", button_style="primary", icon="eye")
        self.sample_dropdown = W.Dropdown(
            options=list(SAMPLES), description="sample", layout=W.Layout(width="22em")
        )
        self.status = W.Label(value="")
        self.progress = W.IntProgress(value=0, min=0, max=1, layout=W.Layout(width="20em"))
        self.progress.layout.visibility = "hidden"
        self.error_area = W.HTML()
        self.summary = W.HTML()
        self.rate_plot = W.Output()
        self.table = table_box()
        self.findings = table_box()
        self.time_plot = W.Output()
        self.time_slider = W.FloatSlider(
            value=0.0,
            min=0.0,
            max=1.0,
            step=0.5,
            description="time (s)",
            continuous_update=False,
            disabled=True,
            layout=W.Layout(width="32em"),
        )
        self.frame_plot = W.Output()
        self.score_button.on_click(lambda _b: self.start())
        self.time_slider.observe(self._on_time, names="value")
        token_panel.observe(self._on_token, names="token")
        self._on_token()
        self.children = [
            W.HTML("<h3 style='margin:4px 0'>Perceptual quality (VMAF, PSNR, SSIM)</h3>"),
            W.HBox([self.score_button, self.sample_dropdown, self.progress, self.status]),
            self.error_area,
            self.summary,
            self.rate_plot,
            W.HTML("<b>Renditions</b>"),
            self.table,
            W.HTML("<b>Quality findings</b>"),
            self.findings,
            W.HTML("<b>VMAF over time</b>"),
            self.time_plot,
            W.HTML("<b>Frame comparison</b>"),
            self.time_slider,
            self.frame_plot,
        ]

    # ------------------------------------------------------------------ public API
    def start(self) -> None:
        """Score in a background thread (what the Score button does)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self.score, name="hs-quality", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a scoring started with :meth:`start`."""
        if self._thread is not None:
            self._thread.join(timeout)

    def score(self) -> LadderQuality | None:
        """Fetch the ladder, score it and show it; ``None`` after showing an error."""
        tp = self.token_panel
        if not tp.token:
            self.error_area.value = error_html("mint a token first (token panel, Mint)")
            return None
        self.error_area.value = ""
        self.score_button.disabled = True
        self.progress.value, self.progress.max = 0, 1
        self.progress.layout.visibility = "visible"
        self.status.value = "fetching the ladder…"
        try:
            ladder = tp.ladder()
            result = quality(
                ladder,
                sample=SAMPLES[self.sample_dropdown.value],
                progress=self._on_progress,
            )
        except HeapStreamError as exc:
            self.status.value = "failed"
            self.error_area.value = error_html(str(exc), "Could not score the ladder")
            return None
        finally:
            self.score_button.disabled = not tp.token
            self.progress.layout.visibility = "hidden"
        self.result = result
        self.status.value = f"scored in {result.elapsed:.1f} s"
        self._show(result)
        return result

    def show_frames(self, at: float) -> None:
        """Show the frame comparison at ``at`` seconds."""
        if self.result is None:
            return
        try:
            fig = self.result.frame_comparison_figure(at)
        except HeapStreamError as exc:
            self.frame_plot.outputs = ()
            self.error_area.value = error_html(str(exc), "Could not compare frames")
            return
        self.frame_plot.outputs = (png_output(fig, f"frames at {at:g} s"),)

    def __repr__(self) -> str:
        what = self.result.line() if self.result is not None else "not scored"
        return f"<QualityPanel {what}>"

    # ------------------------------------------------------------------ internals
    def _on_token(self, _change: Any = None) -> None:
        self.score_button.disabled = not self.token_panel.token

    def _on_progress(self, done: int, total: int, what: str) -> None:
        self.progress.max = max(1, total)
        self.progress.value = min(done, total)
        self.status.value = f"{what}…"

    def _show(self, result: LadderQuality) -> None:
        self.summary.value = f"<b>{html.escape(result.line())}</b>"
        self.table.value = table_html(result.renditions, columns=_TABLE_COLUMNS)
        self.findings.value = (
            table_html(result.findings) if len(result.findings) else info_html("no findings")
        )
        scored = result.renditions["vmaf_mean"].notna().any()
        self.rate_plot.outputs = (
            (png_output(result.rate_quality_figure(), "rate-quality"),) if scored else ()
        )
        self.time_plot.outputs = (
            (png_output(result.vmaf_over_time_figure(), "VMAF over time"),) if scored else ()
        )
        if result.scores is not None and scored:
            duration = result.scores.reference.duration
            self.time_slider.unobserve(self._on_time, names="value")
            self.time_slider.max = max(0.5, round(duration - 0.5, 1))
            self.time_slider.value = round(min(duration / 2, self.time_slider.max), 1)
            self.time_slider.disabled = False
            self.time_slider.observe(self._on_time, names="value")
            self.show_frames(self.time_slider.value)

    def _on_time(self, change: dict[str, Any]) -> None:
        self.show_frames(float(change["new"]))
