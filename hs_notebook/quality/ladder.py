"""Perceptual quality of a whole ladder: :func:`quality` fetches every rendition (and a
reference) through our HTTP client, scores them with :func:`hs_notebook.quality.score`,
measures their loudness, and reports the quality rules (:mod:`hs_notebook.quality_rules`).

>>> result = quality(ladder)                  # doctest: +SKIP
>>> result.renditions    # one row per rung: bitrates, VMAF mean / p5 / min, PSNR, SSIM, loudness
>>> result.per_time      # rendition, second, scores: where the dips are
>>> result.findings      # the quality findings (as hs.qa(ladder, depth="quality") adds them)

Inputs: HeapStream and sandbox ladders are read from their static MP4s (``/stcr4/``);
ladders of other origins from their HLS segments (init segment + media segments, joined).
Everything travels as bytes: tokens stay in the client and never reach an ffmpeg command
line, a process list or a log; ffmpeg reads from pipes or private temporary files that are
removed afterwards (:mod:`hs_notebook.quality._ffmpeg`).
"""

from __future__ import annotations

import base64
import html
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hs_notebook.errors import HeapStreamError, InvalidArgument, TokenRejected
from hs_notebook.http import Client
from hs_notebook.ladder import Ladder
from hs_notebook.quality._ffmpeg import QualityError
from hs_notebook.quality._loudness import loudness
from hs_notebook.quality._media import media_facts
from hs_notebook.quality._score import METRICS, QualityScores, frames_at, score
from hs_notebook.quality_rules import QualityThresholds, quality_findings
from hs_notebook.redaction import redact
from hs_notebook.urls import HeapStream, parse_signed_url
from hs_notebook.validate import Progress, progress_arg

__all__ = ["RENDITION_COLUMNS", "LadderQuality", "Progress", "quality"]

#: Columns of :attr:`LadderQuality.renditions`, one row per rendition, lowest declared
#: bitrate first.
RENDITION_COLUMNS: dict[str, str] = {
    "rendition": "the preset id, or the rendition's URI on origins without preset ids",
    "width": "declared picture width (pixels; the media's when undeclared)",
    "height": "declared picture height (pixels)",
    "declared_bitrate": "AVERAGE-BANDWIDTH, else BANDWIDTH (int bits/s)",
    "measured_bitrate": "size * 8 / duration of the media scored (int bits/s, <NA> unknown)",
    "frames": "frames scored (int; 0 when not scored)",
    "vmaf_mean": "mean VMAF (vmaf_v0.6.1) against the reference",
    "vmaf_p5": "5th percentile of the frames' VMAF (the hard scenes)",
    "vmaf_min": "lowest VMAF of a scored frame",
    "psnr": "mean luma PSNR (dB)",
    "ssim": "mean luma SSIM",
    "integrated": "EBU R128 integrated loudness (LUFS; NaN without audio)",
    "true_peak": "true peak (dBTP)",
    "is_reference": "this rendition is the reference (not scored against itself)",
    "error": "why the rendition could not be fetched or scored (<NA> when it was)",
}


@dataclass
class LadderQuality:
    """What :func:`quality` returns.

    Attributes:
        renditions: one row per rendition (:data:`RENDITION_COLUMNS`), in ladder order.
        per_time: rendition, second and the scores of that second
            (:data:`hs_notebook.quality.SECOND_COLUMNS`): where quality dips.
        frames: the per-frame scores (:data:`hs_notebook.quality.FRAME_COLUMNS`).
        findings: the quality findings (columns of :attr:`hs_notebook.QAReport.table`).
        reference: what the renditions were scored against (``"original"``, ``"top rung
            <id>"``, ``"preset <id>"``, a redacted URL or a path).
        reference_note: why that reference.
        sampling: what was scored (whole, or which windows), in words.
        thresholds: the :class:`~hs_notebook.quality_rules.QualityThresholds` the rules used.
        elapsed: wall-clock seconds, fetching included.
    """

    renditions: pd.DataFrame
    per_time: pd.DataFrame
    frames: pd.DataFrame
    reference: str
    reference_note: str
    sampling: str
    thresholds: QualityThresholds
    elapsed: float = 0.0
    findings: pd.DataFrame = field(default_factory=pd.DataFrame)
    scores: QualityScores | None = field(default=None, repr=False)
    _media: dict[str, bytes] = field(default_factory=dict, repr=False)
    _reference_media: bytes | str | None = field(default=None, repr=False)

    def line(self) -> str:
        """One line: how many rungs were scored, against what, how, in how long."""
        scored = int((self.renditions["frames"] > 0).sum())
        failed = int(self.renditions["error"].notna().sum())
        extra = f", {failed} not scored" if failed else ""
        return (
            f"{scored} of {len(self.renditions)} renditions scored against {self.reference}"
            f"{extra}; {self.sampling}; {len(self.findings)} finding(s) in {self.elapsed:.1f} s"
        )

    def __repr__(self) -> str:
        return f"<LadderQuality {self.line()}>"

    def rate_quality_figure(self) -> Any:
        """Measured bitrate against VMAF mean, with the upper convex hull."""
        from hs_notebook.plots import rate_quality_figure

        table = self.renditions.assign(
            bitrate=self.renditions["measured_bitrate"].fillna(self.renditions["declared_bitrate"])
        )
        table = table[table["vmaf_mean"].notna().to_numpy()]
        return rate_quality_figure(table, title=f"rate-quality against {self.reference}")

    def vmaf_over_time_figure(self) -> Any:
        """VMAF of every scored frame over time, one line per rendition."""
        from hs_notebook.plots import vmaf_over_time_figure

        return vmaf_over_time_figure(self.frames, title="VMAF over time")

    def frames_at(self, at: float) -> dict[str, np.ndarray]:
        """The reference's and every scored rendition's frame at ``at`` seconds, upscaled to
        the reference's size (RGB arrays)."""
        if self._reference_media is None or not self._media:
            raise QualityError("no media kept to compare frames from")
        return frames_at(self._reference_media, self._media, at)

    def frame_comparison_figure(
        self, at: float, crop: tuple[int, int, int, int] | None = None
    ) -> Any:
        """The reference beside each rendition at ``at`` seconds (``crop`` = x, y, width,
        height in reference pixels adds a zoomed row)."""
        from hs_notebook.plots import frame_comparison_figure

        return frame_comparison_figure(
            self.frames_at(at), crop=crop, title=f"frame at {at:g} s against {self.reference}"
        )

    def _repr_html_(self) -> str:
        from hs_notebook.plots import figure_png

        table = self.renditions.to_html(index=False, na_rep="–", float_format="{:.2f}".format)
        parts = [f"<div class='hs-quality'><div><b>{html.escape(self.line())}</b></div>", table]
        if self.renditions["vmaf_mean"].notna().any():
            png = base64.b64encode(figure_png(self.rate_quality_figure())).decode()
            parts.append(f"<img alt='rate-quality' src='data:image/png;base64,{png}'/>")
        if len(self.findings):
            parts.append(self.findings.to_html(index=False))
        parts.append("</div>")
        return "".join(parts)


def _name(row: Mapping[str, Any]) -> str:
    preset = row.get("preset_id")
    if isinstance(preset, str) and preset:
        return preset
    return redact(str(row.get("uri")))


def _declared(row: Mapping[str, Any]) -> int | None:
    for col in ("average_bandwidth", "bandwidth"):
        value = row.get(col)
        if value is not None and not pd.isna(value):
            return int(value)
    return None


def _why(exc: HeapStreamError) -> str:
    return f"{type(exc).__name__}: {exc}"


class _Fetcher:
    """Reads a ladder's renditions and reference as bytes through one client."""

    def __init__(self, ladder: Ladder, client: Client) -> None:
        self.ladder = ladder
        self.client = client
        signed = parse_signed_url(ladder.master_url or "")
        self.signed = signed if signed is not None and signed.kind == "master" else None
        token = ladder.token
        self.token = (
            str(token) if token is not None else (self.signed.token if self.signed else None)
        )

    def url(self, kind: str, ident: str) -> str | None:
        """The HeapStream URL of ``kind`` for ``ident`` (None off HeapStream)."""
        if self.signed is None:
            return None
        origin = HeapStream(int(self.signed.project_id), self.signed.base_url)
        return origin.url(kind, ident, self.token or "x").split("?token=x")[0]

    def rendition(self, row: Mapping[str, Any]) -> bytes:
        preset = row.get("preset_id")
        if isinstance(preset, str) and preset:
            url = self.url("mp4", preset)
            if url is not None:
                return self.client.get_bytes(url)
        return self.segments(row)

    def segments(self, row: Mapping[str, Any]) -> bytes:
        preset = row.get("preset_id")
        key = preset if isinstance(preset, str) and preset else str(row.get("uri"))
        table = self.ladder.segments(key)
        if not len(table):
            raise QualityError(f"{_name(row)}: its playlist lists no segments")
        parts: list[bytes] = []
        init = table["init_uri"].dropna()
        if len(init):
            parts.append(self.client.get_bytes(str(init.iloc[0])))
        for uri in table["uri"].tolist():
            parts.append(self.client.get_bytes(str(uri)))
        return b"".join(parts)

    def original(self) -> bytes:
        assert self.signed is not None
        url = self.url("original", self.signed.id)
        assert url is not None
        return self.client.get_bytes(url)


class _Steps:
    """Progress over the steps of :func:`quality` (a tqdm.auto bar, a callback, or none)."""

    def __init__(self, total: int, progress: Progress) -> None:
        self.total, self.done = total, 0
        self.callback = progress if callable(progress) else None
        self.bar = None
        if progress is True:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="quality", unit="step")

    def step(self, what: str, advance: int = 1) -> None:
        """``what`` comes next; ``advance`` steps are done."""
        self.done += advance
        if self.bar is not None:
            self.bar.update(advance)
            self.bar.set_postfix_str(what)
        if self.callback is not None:
            self.callback(self.done, self.total, what)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def quality(
    ladder: Ladder,
    reference: str | os.PathLike[str] = "original",
    metrics: Sequence[str] = METRICS,
    sample: Any = None,
    progress: Progress = True,
    *,
    thresholds: QualityThresholds | None = None,
    client: Client | None = None,
) -> LadderQuality:
    """Score every rendition of ``ladder`` against a reference.

    Args:
        ladder: a fetched :class:`~hs_notebook.ladder.Ladder` (``fetch_ladder`` /
            ``fetch_ladder_url``).
        reference: ``"original"`` (the original upload from ``/dlo/``; when the project
            keeps no originals, or the ladder is not on a HeapStream origin, the top rung,
            with a ``quality_reference`` finding saying why), a preset id (or rendition
            URI) of the ladder, the URL of a source file, or a local path.
        metrics: some of ``("vmaf", "psnr", "ssim")`` (VMAF is always computed).
        sample: which parts to score (:func:`hs_notebook.quality.plan_windows`): by default
            short videos whole and long ones in three 2 s windows; the result says which.
        progress: show a ``tqdm.auto`` bar (fetching each input, scoring, loudness), or
            ``fn(done, total, what)`` called at every step.
        thresholds: the quality rules' thresholds (default :class:`QualityThresholds`).
        client: the :class:`~hs_notebook.http.Client` to fetch with (default: a new one).

    A rendition whose fetch fails (or whose media cannot be read) is reported in the
    ``error`` column and by the ``quality_scored`` finding; every other rendition is
    still scored.

    Raises:
        InvalidArgument: not a Ladder, a ladder built from text, or a reference that is
            neither ``"original"``, a rendition, a URL nor an existing file.
        QualityError: the reference cannot be read, or ffmpeg failed.
    """
    started = time.perf_counter()
    if not isinstance(ladder, Ladder):
        raise InvalidArgument(
            f"ladder must be a Ladder (fetch_ladder()), got {type(ladder).__name__}"
        )
    if not ladder.fetchable:
        raise InvalidArgument(
            "the ladder was built from text and has no origin to fetch media from; use "
            "fetch_ladder() or fetch_ladder_url()"
        )
    progress_arg("progress", progress)
    if not isinstance(reference, str | os.PathLike) or not str(reference):
        raise InvalidArgument(
            f"reference must be 'original', a preset id, a URL or a path, got {reference!r}"
        )
    thresholds = thresholds if thresholds is not None else QualityThresholds()
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()} for r in ladder.renditions.to_dict("records")
    ]
    rows = sorted(
        records,
        key=lambda r: (_declared(r) or 0, int(r.get("height") or 0)),
    )
    names = [_name(r) for r in rows]
    own = client is None
    http = Client() if client is None else client
    bar = _Steps(len(rows) + 3, progress)
    try:
        fetcher = _Fetcher(ladder, http)
        media: dict[str, bytes] = {}
        errors: dict[str, str] = {}
        for k, (name, row) in enumerate(zip(names, rows, strict=True)):
            bar.step(f"fetching {name}", advance=0 if k == 0 else 1)
            try:
                data = fetcher.rendition(row)
                media_facts(data, name=f"rendition {name!r}")
                media[name] = data
            except InvalidArgument:
                raise
            except HeapStreamError as exc:
                errors[name] = _why(exc)
        bar.step("fetching the reference")
        ref_data, ref_label, note, ref_rung = _reference(reference, fetcher, names, media, errors)
        bar.step("scoring")
        scored = {n: d for n, d in media.items() if n != ref_rung}
        scores = None
        if scored:
            scores = score(ref_data, scored, metrics=metrics, sample=sample)
        bar.step("loudness")
        loud = loudness(media) if media else None
        bar.step("done")
    finally:
        bar.close()
        if own:
            http.close()
    table = _table(rows, names, media, errors, scores, loud, ref_rung)
    empty_frames = pd.DataFrame(
        {c: [] for c in ("rendition", "frame", "time", "vmaf", "psnr", "ssim")}
    )
    result = LadderQuality(
        renditions=table,
        per_time=scores.per_second if scores is not None else empty_frames,
        frames=scores.frames if scores is not None else empty_frames,
        reference=ref_label,
        reference_note=note,
        sampling=scores.sampling if scores is not None else "nothing scored",
        thresholds=thresholds,
        scores=scores,
        _media=scored,
        _reference_media=ref_data,
    )
    result.findings = quality_findings(result)
    result.elapsed = time.perf_counter() - started
    return result


def _reference(
    reference: str | os.PathLike[str],
    fetcher: _Fetcher,
    names: list[str],
    media: dict[str, bytes],
    errors: dict[str, str],
) -> tuple[bytes | str, str, str, str | None]:
    """(reference media, label, why, the rung that is the reference or None)."""
    if reference == "original":
        why = "the ladder is not on a HeapStream origin, so it has no original download (/dlo/)"
        if fetcher.signed is not None:
            try:
                return fetcher.original(), "original", "the original upload (/dlo/)", None
            except TokenRejected as exc:
                why = (
                    f"the original upload was refused ({exc.reason}: the project keeps no "
                    "originals)"
                    if exc.reason == "originals_not_kept"
                    else f"the original upload was refused ({exc.reason})"
                )
            except HeapStreamError as exc:
                why = f"the original upload could not be fetched ({_why(exc)})"
        top = next((n for n in reversed(names) if n in media), None)
        if top is None:
            raise QualityError(f"{why}, and no rendition could be fetched to fall back on")
        return media[top], f"top rung {top}", f"{why}; fell back to the top rung", top
    text = str(reference)
    if text in names:
        if text not in media:
            raise QualityError(
                f"the reference rendition {text!r} could not be fetched: {errors[text]}"
            )
        return media[text], f"preset {text}", "the rendition named as reference", text
    if text.startswith(("http://", "https://")):
        return fetcher.client.get_bytes(text), redact(text), "the source URL given", None
    path = Path(text)
    if not path.is_file():
        raise InvalidArgument(
            f"reference {redact(text)!r} is not 'original', a rendition of this ladder "
            f"({', '.join(names)}), a URL nor an existing file"
        )
    return str(path), path.name, "the local source file given", None


def _table(
    rows: list[dict[str, Any]],
    names: list[str],
    media: Mapping[str, bytes],
    errors: Mapping[str, str],
    scores: QualityScores | None,
    loud: pd.DataFrame | None,
    ref_rung: str | None,
) -> pd.DataFrame:
    summary = (
        {str(r["rendition"]): r for r in scores.renditions.to_dict("records")} if scores else {}
    )
    levels = {str(r["rendition"]): r for r in loud.to_dict("records")} if loud is not None else {}
    out = []
    for name, row in zip(names, rows, strict=True):
        s = summary.get(name, {})
        lv = levels.get(name, {})
        measured: Any = s.get("bitrate")
        if (measured is None or pd.isna(measured)) and name in media:
            measured = media_facts(media[name], name=name).bitrate
        width, height = row.get("width"), row.get("height")
        out.append(
            {
                "rendition": name,
                "width": int(width) if width is not None and not pd.isna(width) else s.get("width"),
                "height": int(height)
                if height is not None and not pd.isna(height)
                else s.get("height"),
                "declared_bitrate": _declared(row),
                "measured_bitrate": None
                if measured is None or pd.isna(measured)
                else int(measured),
                "frames": int(s.get("frames", 0)),
                **{
                    k: float(s.get(k, math.nan))
                    for k in ("vmaf_mean", "vmaf_p5", "vmaf_min", "psnr", "ssim")
                },
                "integrated": float(lv.get("integrated", math.nan)),
                "true_peak": float(lv.get("true_peak", math.nan)),
                "is_reference": name == ref_rung,
                "error": errors.get(name),
            }
        )
    table = pd.DataFrame(out, columns=list(RENDITION_COLUMNS))
    table["rendition"] = table["rendition"].astype("string")
    table["error"] = table["error"].astype("string")
    for col in ("width", "height", "declared_bitrate", "measured_bitrate"):
        table[col] = pd.array(table[col].tolist(), dtype="Int64")
    table["frames"] = table["frames"].astype("int64")
    table["is_reference"] = table["is_reference"].astype(bool)
    return table
