"""The ladder panel: fetch a video's rendition ladder and look at it.

Everything comes from :func:`hs_notebook.ladder.fetch_ladder` (through
:meth:`TokenPanel.ladder`, which caches one :class:`~hs_notebook.ladder.Ladder` per token):
the renditions, text tracks, audio and I-frame tables, one rendition's segments, and
segment sizes measured with :meth:`Ladder.measure_segment_sizes`.  Tables are shown with
every token redacted; plots are drawn with matplotlib's Agg canvas and shown as PNG.

"Check media" runs :func:`hs_notebook.qa.qa` with ``depth="media"`` and the media rules
only (the segments probed by :meth:`Ladder.probe`, kept on the ladder) in a background
thread, with a progress bar, and shows the variant overview and the media findings.
"""

from __future__ import annotations

import html
import threading
import time
from typing import TYPE_CHECKING, Any

import ipywidgets as W
import pandas as pd

from hs_notebook import formatting
from hs_notebook.diagnose import diagnose
from hs_notebook.errors import HeapStreamError, TokenRejected
from hs_notebook.ladder import RENDITION_DISPLAY_COLUMNS
from hs_notebook.plots import ladder_figure, segments_figure
from hs_notebook.qa import RULES, QAReport, qa
from hs_notebook.widgets._common import (
    error_html,
    info_html,
    png_output,
    table_box,
    table_html,
)
from hs_notebook.widgets.token_panel import TokenPanel

if TYPE_CHECKING:
    from hs_notebook.ladder import Ladder

__all__ = ["LadderPanel"]

_RENDITION_COLUMNS = RENDITION_DISPLAY_COLUMNS
_SEGMENT_COLUMNS = ("index", "media_sequence", "duration", "size", "uri")
_MEDIA_RULES = tuple(rid for rid, rule in RULES.items() if rule.media)


class LadderPanel(W.VBox):
    """Fetch and show the rendition ladder of the token panel's video.

    Args:
        token_panel: the :class:`TokenPanel` whose token is used.
        measure_sizes: measure the chosen rendition's segment sizes (one ``HEAD`` per
            segment) for the segments table and plot.

    Attributes after :meth:`fetch`: ``ladder`` (the :class:`Ladder`), ``segments`` (the
    chosen rendition's segments table); after :meth:`check_media`: ``media_report`` (the
    :class:`~hs_notebook.qa.QAReport` of the media rules) and ``media_thread`` (the
    background thread that ran it).
    """

    def __init__(self, token_panel: TokenPanel, *, measure_sizes: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.token_panel = token_panel
        self.ladder: Ladder | None = None
        self.segments: pd.DataFrame | None = None
        self.fetch_button = W.Button(
            description="Fetch ladder", button_style="primary", icon="download"
        )
        self.status = W.Label(value="")
        self.error_area = W.HTML()
        self.summary = W.HTML()
        self.renditions_html = table_box()
        self.text_tracks_html = table_box()
        self.audio_html = table_box()
        self.iframes_html = table_box()
        self.ladder_plot = W.Output()
        self.rendition_dropdown = W.Dropdown(
            options=[], description="rendition", layout=W.Layout(width="30em")
        )
        self.measure_checkbox = W.Checkbox(value=measure_sizes, description="measure sizes")
        self.segments_html = table_box()
        self.segments_plot = W.Output()
        self.media_report: QAReport | None = None
        self.media_thread: threading.Thread | None = None
        self.media_button = W.Button(description="Check media", icon="film", disabled=True)
        self.media_depth = W.Dropdown(
            options=[("first, middle, last segments", "sample"), ("every segment", "full")],
            value="sample",
            description="probe",
            layout=W.Layout(width="22em"),
        )
        self.media_progress = W.IntProgress(
            value=0, min=0, max=1, description="segments", layout=W.Layout(visibility="hidden")
        )
        self.media_status = W.Label(value="")
        self.variants_html = table_box()
        self.media_findings_html = W.HTML()

        self.fetch_button.on_click(lambda _b: self.fetch())
        self.media_button.on_click(lambda _b: self.check_media(wait=False))
        self.rendition_dropdown.observe(self._on_rendition, names="value")
        token_panel.observe(self._on_token, names="token")
        self._on_token()
        self.children = [
            W.HTML("<h3 style='margin:4px 0'>Rendition ladder</h3>"),
            W.HBox([self.fetch_button, self.status]),
            self.error_area,
            self.summary,
            W.HTML("<b>Renditions</b>"),
            self.renditions_html,
            self.ladder_plot,
            W.HTML("<b>Text tracks</b>"),
            self.text_tracks_html,
            W.HTML("<b>Audio</b>"),
            self.audio_html,
            W.HTML("<b>I-frame streams</b>"),
            self.iframes_html,
            W.HTML("<b>Segments</b>"),
            W.HBox([self.rendition_dropdown, self.measure_checkbox]),
            self.segments_html,
            self.segments_plot,
            W.HTML("<b>Media</b> (what the segments hold, as Apple's mediastreamvalidator)"),
            W.HBox([self.media_button, self.media_depth, self.media_progress, self.media_status]),
            self.variants_html,
            self.media_findings_html,
        ]

    # ------------------------------------------------------------------ public API
    def fetch(self) -> Ladder | None:
        """Fetch (or refetch) the ladder for the current token and show it. Returns the
        ladder, or ``None`` after showing the error."""
        tp = self.token_panel
        if not tp.token:
            self.error_area.value = error_html("mint a token first (token panel, Mint)")
            return None
        n = len(tp.resources["preset_ids"])
        self.status.value = f"fetching master and {n if n else 'all'} presets…"
        self.error_area.value = ""
        self.fetch_button.disabled = True
        started = time.perf_counter()
        try:
            ladder = tp.ladder(refresh=True)
        except TokenRejected as exc:
            self.status.value = "refused"
            self.error_area.value = self._refusal_html(exc)
            return None
        except HeapStreamError as exc:
            self.status.value = "failed"
            self.error_area.value = error_html(str(exc), "Could not fetch the ladder")
            return None
        finally:
            self.fetch_button.disabled = False
        elapsed = time.perf_counter() - started
        self.ladder = ladder
        n = len(ladder.preset_ids)
        self.status.value = f"fetched master and {n} presets in {formatting.seconds(elapsed, 2)}"
        self._show(ladder)
        return ladder

    def show_segments(self, preset_id: str) -> pd.DataFrame | None:
        """Show the segments table (and plot) of one rendition of the fetched ladder."""
        if self.ladder is None:
            return None
        note = ""
        try:
            if self.measure_checkbox.value:
                try:
                    self.ladder.measure_segment_sizes([preset_id])
                except HeapStreamError as exc:
                    note = error_html(str(exc), "Segment sizes unavailable")
            segments = self.ladder.segments(preset_id)
        except HeapStreamError as exc:
            self.segments_html.value = error_html(str(exc))
            return None
        self.segments = segments
        self.segments_html.value = note + table_html(segments, columns=_SEGMENT_COLUMNS)
        self.segments_plot.outputs = (
            png_output(segments_figure(segments, preset_id), f"segments of {preset_id}"),
        )
        return segments

    def check_media(self, *, wait: bool = True) -> QAReport | None:
        """Probe the ladder's segments (the ``probe`` dropdown: a sample or every segment)
        and run the media rules, in a background thread so the notebook stays responsive;
        then show the variant overview and the findings.  With ``wait`` (the default when
        called from code) it waits and returns the report; the button does not wait."""
        ladder = self.ladder
        if ladder is None:
            self.media_findings_html.value = error_html("fetch the ladder first")
            return None
        if self.media_thread is not None and self.media_thread.is_alive():
            self.media_status.value = "already running…"
        else:
            self.media_thread = threading.Thread(
                target=self._check_media, args=(ladder, self.media_depth.value), daemon=True
            )
            self.media_button.disabled = True
            self.media_status.value = "probing segments…"
            self.media_progress.value, self.media_progress.max = 0, 1
            self.media_progress.layout.visibility = "visible"
            self.media_thread.start()
        if wait:
            self.media_thread.join()
            return self.media_report
        return None

    def __repr__(self) -> str:
        what = self.ladder.summary() if self.ladder is not None else "not fetched"
        return f"<LadderPanel {what}>"

    def _media_progress(self, done: int, total: int, _what: str) -> None:
        self.media_progress.max = max(total, 1)
        self.media_progress.value = done

    def _check_media(self, ladder: Ladder, depth: str) -> None:
        started = time.perf_counter()
        try:
            report = qa(
                ladder,
                depth="media",
                rules=_MEDIA_RULES,
                measure=False,
                probe=depth,
                progress=self._media_progress,
            )
        except HeapStreamError as exc:  # a missing [media] extra, a ladder from text, ...
            self.media_status.value = "failed"
            self.media_findings_html.value = error_html(str(exc), "Could not check the media")
            return
        finally:
            self.media_button.disabled = self.ladder is None
            self.media_progress.value = self.media_progress.max
        self.media_report = report
        media = ladder.probed
        if media is not None:
            self.variants_html.value = table_html(media.variant_overview())
            probed = sum(1 for s in media.segments if s.status == "probed")
            took = formatting.seconds(time.perf_counter() - started, 2)
            self.media_status.value = f"{probed} of {len(media.segments)} segments probed in {took}"
        self.media_findings_html.value = report._repr_html_()

    # ------------------------------------------------------------------ internals
    def _on_token(self, _change: Any = None) -> None:
        self.fetch_button.disabled = not self.token_panel.token
        if self.ladder is not None and self.token_panel.token:
            self.status.value = "new token: press Fetch ladder to refresh"

    def _refusal_html(self, exc: TokenRejected) -> str:
        tp = self.token_panel
        findings = diagnose(
            tp.token,
            url=tp.heapstream.master_playlist_url(tp.minted_video_id, tp.token)
            if tp.heapstream is not None and tp.minted_video_id
            else None,
            public_key=tp.signing_key,
        )
        where = f" ({exc.status} from {html.escape(exc.url)})" if exc.url else ""
        return (
            error_html(f"{exc.reason}: {exc.detail}", "Token rejected")
            + f"<div><small>{where}</small></div>"
            + "<div><b>Token diagnosis</b></div>"
            + findings._repr_html_()
        )

    def _show(self, ladder: Ladder) -> None:
        self.summary.value = f"<b>{html.escape(ladder.summary())}</b>"
        self.media_button.disabled = False
        self.variants_html.value = self.media_findings_html.value = self.media_status.value = ""
        self.media_progress.layout.visibility = "hidden"
        self.renditions_html.value = table_html(ladder.renditions, columns=_RENDITION_COLUMNS)
        self.text_tracks_html.value = self._table_or_none(
            ladder.text_tracks, ("text_track_id", "type", "language", "name", "default", "uri")
        )
        self.audio_html.value = self._table_or_none(
            ladder.audio, ("group_id", "language", "name", "default", "channels", "uri")
        )
        self.iframes_html.value = self._table_or_none(
            ladder.iframes, ("preset_id", "bandwidth", "width", "height", "codecs", "uri")
        )
        self.ladder_plot.outputs = (
            png_output(ladder_figure(ladder.renditions), "bitrate vs resolution"),
        )
        options: list[tuple[str, str]] = []
        for row in ladder.renditions.to_dict("records"):
            key = str(row["preset_id"] if isinstance(row["preset_id"], str) else row["uri"])
            if key in ladder.preset_ids:
                bw = row["bandwidth"]
                rate = f", {formatting.bitrate(float(bw))}" if pd.notna(bw) else ""
                label = f"{key} ({row['width']}x{row['height']}{rate})"
                options.append((label, key))
        self.token_panel.set_resources(
            preset_ids=[k for _, k in options],
            text_track_ids=[
                t for t in ladder.text_tracks["text_track_id"].tolist() if isinstance(t, str)
            ]
            if "text_track_id" in ladder.text_tracks.columns
            else None,
        )
        self.rendition_dropdown.unobserve(self._on_rendition, names="value")
        self.rendition_dropdown.options = options
        self.rendition_dropdown.value = options[0][1] if options else None
        self.rendition_dropdown.observe(self._on_rendition, names="value")
        if options:
            self.show_segments(options[0][1])
        else:
            self.segments_html.value = info_html("no preset playlists in this ladder")
            self.segments_plot.outputs = ()

    @staticmethod
    def _table_or_none(df: pd.DataFrame, columns: tuple[str, ...]) -> str:
        if df.empty:
            return "<i>none</i>"
        return table_html(df, columns=columns)

    def _on_rendition(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.show_segments(change["new"])
