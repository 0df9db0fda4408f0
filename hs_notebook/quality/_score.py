"""Score renditions against a reference (VMAF, PSNR, SSIM) in ONE ffmpeg run.

The reference is decoded once and split to one libvmaf per rendition; each rendition is
decoded once, upscaled bicubic to the reference's size, brought to its frame rate when it
differs, and aligned in time (both start at 0).  libvmaf computes VMAF and luma PSNR (an
extra feature of the same pass) on every ``subsample``-th frame with as many threads as
there are cores, while ffmpeg decodes the inputs on threads of their own; SSIM comes from
ffmpeg's ``ssim`` filter on the same frames (several times cheaper than libvmaf's
``float_ssim``).  With time windows (``sample``), indexed inputs (MP4) are opened once per
window with an accurate seek and MPEG-TS is read once and trimmed, so nothing outside the
windows is scored and no frame is decoded twice.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hs_notebook import formatting, validate
from hs_notebook.errors import InvalidArgument
from hs_notebook.quality._ffmpeg import (
    MediaInput,
    QualityError,
    Staging,
    run_ffmpeg,
    seeks_reliably,
)
from hs_notebook.quality._media import MediaFacts, media_facts

__all__ = [
    "AUTO_FULL_SECONDS",
    "DEFAULT_MODEL",
    "DEFAULT_SUBSAMPLE",
    "DEFAULT_WINDOW",
    "DEFAULT_WINDOWS",
    "FRAME_COLUMNS",
    "METRICS",
    "MIN_SCORED_FRAMES",
    "SECOND_COLUMNS",
    "SUMMARY_COLUMNS",
    "QualityScores",
    "Window",
    "auto_subsample",
    "frames_at",
    "plan_windows",
    "score",
]

#: The metrics :func:`score` can compute.
METRICS: tuple[str, ...] = ("vmaf", "psnr", "ssim")
#: The VMAF model: libvmaf's built-in ``vmaf_v0.6.1`` (no model file to ship).
DEFAULT_MODEL = "version=vmaf_v0.6.1"
#: References up to this long (seconds) are scored whole when ``sample`` is ``None``.
AUTO_FULL_SECONDS = 30.0
#: Longer ones are scored in this many windows ...
DEFAULT_WINDOWS = 3
#: ... of this many seconds each, spread evenly over the reference.
DEFAULT_WINDOW = 2.0
#: By default libvmaf scores every n-th frame, n at most this (``subsample=1`` scores every
#: frame); see ``benchmarks/bench_quality.py`` for its speed and accuracy ...
DEFAULT_SUBSAMPLE = 6
#: ... but never fewer than this many frames per rendition, so that the mean stays within
#: about 1 VMAF point of scoring every frame (short clips are scored frame by frame).
MIN_SCORED_FRAMES = 120

#: Columns of :attr:`QualityScores.frames`, one row per scored frame of each rendition.
FRAME_COLUMNS: dict[str, str] = {
    "rendition": "the rendition's name (the key it was given under)",
    "frame": "frame number in the reference's timeline (at its frame rate)",
    "time": "seconds from the start of the reference (float)",
    "vmaf": "VMAF (vmaf_v0.6.1) of the frame, 0..100",
    "psnr": "PSNR of the luma plane (dB)",
    "ssim": "SSIM of the luma plane (ffmpeg's ssim filter), 0..1",
}
#: Columns of :attr:`QualityScores.per_second`: the frames grouped by whole second.
SECOND_COLUMNS: dict[str, str] = {
    "rendition": "the rendition's name",
    "second": "the second of the reference the frames fall in (int)",
    "vmaf": "mean VMAF of the scored frames in that second",
    "vmaf_min": "lowest VMAF of a scored frame in that second",
    "psnr": "mean luma PSNR (dB)",
    "ssim": "mean luma SSIM",
}
#: Columns of :attr:`QualityScores.renditions`, one row per rendition.
SUMMARY_COLUMNS: dict[str, str] = {
    "rendition": "the rendition's name",
    "width": "its picture width before upscaling (pixels)",
    "height": "its picture height before upscaling (pixels)",
    "bitrate": "its average bitrate, file size * 8 / duration (int bits/s, <NA> unknown)",
    "frames": "frames scored (int)",
    "vmaf_mean": "mean VMAF of the scored frames",
    "vmaf_p5": "5th percentile of the scored frames' VMAF (the hard scenes)",
    "vmaf_min": "lowest VMAF of a scored frame",
    "psnr": "mean luma PSNR (dB)",
    "ssim": "mean luma SSIM",
}

_LIBVMAF_FEATURES = {"psnr": "psnr"}  # SSIM: ffmpeg's ssim filter, several times cheaper
_SSIM_LINE = re.compile(r"^n:(\d+) Y:([\d.]+|inf|nan)", re.M)


@dataclass(frozen=True)
class Window:
    """A stretch of the reference to score: ``start`` and ``duration`` in seconds."""

    start: float
    duration: float


def _count(name: str, value: Any) -> int:
    checked = validate.positive_int(name, value)
    assert checked is not None  # not optional
    return checked


def _seconds(name: str, value: Any) -> float:
    checked = validate.positive_seconds(name, value)
    assert checked is not None  # not optional
    return checked


def auto_subsample(frames: float) -> int:
    """The default ``subsample`` for ``frames`` frames to score per rendition: as high as
    :data:`DEFAULT_SUBSAMPLE` while at least :data:`MIN_SCORED_FRAMES` are scored."""
    return max(1, min(DEFAULT_SUBSAMPLE, int(frames // MIN_SCORED_FRAMES)))


def plan_windows(sample: Any, duration: float) -> tuple[list[Window] | None, str]:
    """The windows to score for a reference of ``duration`` seconds, and a sentence saying
    what was chosen (``None`` windows: score everything).

    ``sample`` is ``None`` (everything up to :data:`AUTO_FULL_SECONDS`, else
    :data:`DEFAULT_WINDOWS` windows of :data:`DEFAULT_WINDOW` s), ``"full"``, a number of
    windows ``n`` (of :data:`DEFAULT_WINDOW` s), ``(n, seconds)``, or a list of
    ``(start, seconds)`` pairs.  Evenly spread windows that would cover the whole reference
    score it whole instead.
    """
    whole = f"scored the whole reference ({formatting.seconds(round(duration, 2))})"
    if sample == "full":
        return None, whole
    if sample is None:
        if duration <= AUTO_FULL_SECONDS:
            limit = formatting.seconds(AUTO_FULL_SECONDS)
            return None, whole[:-1] + f"; up to {limit} is scored whole by default)"
        count, length = DEFAULT_WINDOWS, DEFAULT_WINDOW
    elif isinstance(sample, int) and not isinstance(sample, bool):
        count, length = _count("sample", sample), DEFAULT_WINDOW
    elif isinstance(sample, tuple) and len(sample) == 2 and validate.is_number(sample[0]):
        count = _count("sample's window count", sample[0])
        length = _seconds("sample's window length", sample[1])
    elif isinstance(sample, Sequence) and not isinstance(sample, str):
        windows = []
        for item in sample:
            if not (isinstance(item, Sequence) and len(item) == 2):
                raise InvalidArgument(
                    f"sample windows must be (start, seconds) pairs, got {item!r}"
                )
            start = validate.non_negative_seconds("a sample window's start", item[0])
            length = _seconds("a sample window's length", item[1])
            if start >= duration:
                raise InvalidArgument(
                    f"a sample window starts at {start:g} s, after the reference's end "
                    f"({duration:g} s)"
                )
            windows.append(Window(start, min(length, duration - start)))
        if not windows:
            raise InvalidArgument("sample is an empty list of windows; use 'full' or None")
        shown = ", ".join(f"{w.start:g}+{w.duration:g} s" for w in windows)
        return windows, f"scored {len(windows)} window(s) of the reference: {shown}"
    else:
        raise InvalidArgument(
            "sample must be None, 'full', a number of windows, (windows, seconds) or a list "
            f"of (start, seconds) pairs; got {sample!r}"
        )
    if count * length >= duration:
        return None, whole + f" (sample={sample!r} would cover it all)"
    windows = []
    for i in range(count):
        center = (i + 0.5) * duration / count
        start = min(max(0.0, center - length / 2), duration - length)
        windows.append(Window(round(start, 3), float(length)))
    return windows, (
        f"scored {count} window(s) of {formatting.seconds(length)} spread over the "
        f"{formatting.seconds(round(duration, 2))} reference"
        + (
            f" (sampled by default: longer than {formatting.seconds(AUTO_FULL_SECONDS)})"
            if sample is None
            else ""
        )
    )


@dataclass
class QualityScores:
    """What :func:`score` returns.

    Attributes:
        frames: one row per scored frame of each rendition (:data:`FRAME_COLUMNS`).
        renditions: one row per rendition (:data:`SUMMARY_COLUMNS`), in the order given.
        reference: the reference's :class:`~hs_notebook.quality.MediaFacts`.
        sampling: what was scored, in words (whole, or which windows).
        windows: the windows scored (``None``: the whole reference).
        subsample: libvmaf's frame subsampling (1: every frame).
        elapsed: wall-clock seconds.
    """

    frames: pd.DataFrame
    renditions: pd.DataFrame
    reference: MediaFacts
    sampling: str
    windows: list[Window] | None = None
    subsample: int = 1
    elapsed: float = 0.0
    metrics: tuple[str, ...] = METRICS
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> pd.DataFrame:
        """The frames grouped by rendition and whole second (:data:`SECOND_COLUMNS`)."""
        frame = self.frames.assign(second=self.frames["time"].astype(float) // 1)
        grouped = frame.groupby(["rendition", "second"], sort=False)
        out = grouped.agg(
            vmaf=("vmaf", "mean"),
            vmaf_min=("vmaf", "min"),
            psnr=("psnr", "mean"),
            ssim=("ssim", "mean"),
        ).reset_index()
        out["second"] = out["second"].astype("int64")
        return out[list(SECOND_COLUMNS)]

    def line(self) -> str:
        """One line: renditions, frames and how they were chosen, the time it took."""
        n = len(self.renditions)
        every = "every frame" if self.subsample == 1 else f"every {self.subsample}th frame"
        return (
            f"{n} rendition{'s' if n != 1 else ''} scored on {every}; {self.sampling} "
            f"in {formatting.seconds(round(self.elapsed, 1))}"
        )

    def __repr__(self) -> str:
        return f"<QualityScores {self.line()}>"

    def _repr_html_(self) -> str:
        table = self.renditions.to_html(index=False, na_rep="–", float_format="{:.2f}".format)
        return f"<div class='hs-quality'><div><b>{html.escape(self.line())}</b></div>{table}</div>"


def _check_metrics(metrics: Any) -> tuple[str, ...]:
    chosen = tuple(validate.string_list("metrics", metrics))
    unknown = [m for m in chosen if m not in METRICS]
    if unknown or not chosen:
        raise InvalidArgument(f"metrics must be some of {', '.join(METRICS)}, got {metrics!r}")
    return chosen


def _check_renditions(renditions: Any) -> dict[str, MediaInput]:
    if not isinstance(renditions, Mapping) or not renditions:
        raise InvalidArgument(
            "renditions must be a non-empty mapping {name: path or bytes}, got "
            f"{type(renditions).__name__}"
        )
    bad = [k for k in renditions if not isinstance(k, str) or not k]
    if bad:
        raise InvalidArgument(f"rendition names must be non-empty strings, got {bad[0]!r}")
    return dict(renditions)


def _libvmaf(metrics: tuple[str, ...], subsample: int, threads: int, model: str, log: str) -> str:
    options = [f"model={model}", f"n_subsample={subsample}", f"n_threads={threads}"]
    features = [_LIBVMAF_FEATURES[m] for m in metrics if m in _LIBVMAF_FEATURES]
    if features:
        options.append("feature=" + "|".join(f"name={f}" for f in features))
    options += ["log_fmt=json", f"log_path={log}", "shortest=1"]
    return "libvmaf=" + ":".join(options)


class _Inputs:
    """ffmpeg arguments and filter chains that open each input once per window (an
    accurate seek, for indexed containers) or once in all (read front to back and trimmed
    to the windows, for MPEG-TS, whose seeks can land between keyframes): either way each
    window comes out as one stream label whose timestamps start at 0."""

    def __init__(self, staging: Staging, windows: list[Window] | None) -> None:
        self.staging = staging
        self.windows = windows
        self.args: list[str] = []
        self.chains: list[str] = []
        self._count = 0

    def open(self, value: MediaInput, name: str, tag: str) -> list[str]:
        """Per-window stream labels of ``value``'s first video stream."""
        windows = self.windows
        if windows is None:
            return [self._input(self.staging.source(value, name=name), [], f"{tag}w0")]
        if seeks_reliably(value):
            src = self.staging.source(value, name=name, seekable=True)
            return [
                self._input(src, ["-ss", f"{w.start:.3f}", "-t", f"{w.duration:.3f}"], f"{tag}w{k}")
                for k, w in enumerate(windows)
            ]
        whole = self._input(self.staging.source(value, name=name), [], f"{tag}all")
        labels = [f"[{tag}w{k}]" for k in range(len(windows))]
        self.chains.append(
            f"{whole}split={len(windows)}{''.join(f'[{tag}s{k}]' for k in range(len(windows)))}"
        )
        for k, w in enumerate(windows):
            self.chains.append(
                f"[{tag}s{k}]trim=start={w.start:.3f}:duration={w.duration:.3f},"
                f"setpts=PTS-STARTPTS{labels[k]}"
            )
        return labels

    def _input(self, src: str, seek: list[str], label: str) -> str:
        self.args += [*seek, "-an", "-sn", "-dn", "-i", src]
        self.chains.append(f"[{self._count}:v]setpts=PTS-STARTPTS[{label}]")
        self._count += 1
        return f"[{label}]"


def _window_graph(
    ref: str,
    dists: list[tuple[str, MediaFacts]],
    reference: MediaFacts,
    libvmaf: list[str],
    ssim: list[str] | None,
    subsample: int,
    tag: str,
) -> tuple[list[str], list[str]]:
    """The chains of one window: the reference split to one libvmaf (and, when ``ssim``
    names stats files, one ``ssim`` filter on the same subsampled frames) per rendition,
    each rendition upscaled bicubic and brought to the reference's frame rate."""
    n, k = len(dists), 2 if ssim else 1
    refs = "".join(f"[r{tag}_{j}_{i}]" for j in range(n) for i in range(k))
    chains = [f"{ref}format=yuv420p,split={n * k}{refs}"]
    outs = []
    pick = f"select='not(mod(n,{subsample}))'"
    for j, (label, facts) in enumerate(dists):
        fps = ""
        if reference.frame_rate and abs(facts.frame_rate - reference.frame_rate) > 0.01:
            fps = f"fps={reference.frame_rate:.6g},"
        copies = "".join(f"[d{tag}_{j}_{i}]" for i in range(k))
        chains.append(
            f"{label}{fps}scale={reference.width}:{reference.height}:flags=bicubic,"
            f"format=yuv420p{',split=2' if k == 2 else ''}{copies}"
        )
        chains.append(f"[d{tag}_{j}_0][r{tag}_{j}_0]{libvmaf[j]}[o{tag}_{j}_0]")
        outs.append(f"[o{tag}_{j}_0]")
        if ssim:
            chains.append(f"[d{tag}_{j}_1]{pick}[ds{tag}_{j}]")
            chains.append(f"[r{tag}_{j}_1]{pick}[rs{tag}_{j}]")
            chains.append(
                f"[ds{tag}_{j}][rs{tag}_{j}]ssim=stats_file={ssim[j]}:shortest=1[o{tag}_{j}_1]"
            )
            outs.append(f"[o{tag}_{j}_1]")
    return chains, outs


def _read_ssim(path: Path, subsample: int) -> dict[int, float]:
    """``{frame number: luma SSIM}`` from an ``ssim`` stats file of subsampled frames."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    return {(int(n) - 1) * subsample: float(y) for n, y in _SSIM_LINE.findall(text)}


def _read_log(path: Path, name: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as f:
            return list(json.load(f).get("frames", []))
    except (OSError, ValueError) as exc:
        raise QualityError(f"{name}: libvmaf wrote no readable scores ({exc})") from None


def score(
    reference: MediaInput,
    renditions: Mapping[str, MediaInput],
    *,
    metrics: Sequence[str] = METRICS,
    sample: Any = None,
    subsample: int | None = None,
    threads: int | None = None,
    model: str = DEFAULT_MODEL,
    timeout: float | None = None,
) -> QualityScores:
    """Score each rendition against ``reference`` with libvmaf.

    Args:
        reference: the source (a local path, or its bytes).
        renditions: ``{name: path or bytes}``; each is upscaled bicubic to the reference's
            size and aligned with it in time.
        metrics: some of :data:`METRICS`; VMAF is always computed (libvmaf needs its model)
            but only the chosen columns are filled.
        sample: which parts of the reference to score (see :func:`plan_windows`); by
            default short references whole, long ones in three 2 s windows.
        subsample: score every n-th frame (1 = all; default :func:`auto_subsample`: up to
            :data:`DEFAULT_SUBSAMPLE`, keeping at least :data:`MIN_SCORED_FRAMES`).
        threads: libvmaf threads (default: every core).
        model: the libvmaf model option.
        timeout: seconds before ffmpeg is stopped (default: no limit).

    Returns:
        a :class:`QualityScores`: per-frame scores, per-second (``.per_second``) and a
        per-rendition summary.
    """
    started = time.perf_counter()
    chosen = _check_metrics(metrics)
    named = _check_renditions(renditions)
    cores = _count("threads", (os.cpu_count() or 1) if threads is None else threads)
    if not isinstance(model, str) or not model:
        raise InvalidArgument(f"model must be a libvmaf model option string, got {model!r}")
    ref_facts = media_facts(reference, name="reference")
    facts = {name: media_facts(value, name=f"rendition {name!r}") for name, value in named.items()}
    windows, sampling = plan_windows(sample, ref_facts.duration)
    if subsample is None:
        covered = sum(w.duration for w in windows) if windows else ref_facts.duration
        step = auto_subsample(covered * (ref_facts.frame_rate or 1.0))
    else:
        step = _count("subsample", subsample)
    passes = windows if windows is not None else [None]
    names = list(named)
    outputs: list[str] = []
    logs: dict[tuple[int, str], str] = {}
    with Staging() as staging:
        inputs = _Inputs(staging, windows)
        ref_streams = inputs.open(reference, "reference", "ref")
        streams = {
            name: inputs.open(value, f"rendition {name!r}", f"in{j}")
            for j, (name, value) in enumerate(named.items())
        }
        with_ssim = "ssim" in chosen
        for p in range(len(passes)):
            vmafs = []
            for j, name in enumerate(names):
                logs[(p, name)] = f"vmaf-{p}-{j}.json"
                vmafs.append(_libvmaf(chosen, step, cores, model, logs[(p, name)]))
            ssims = [f"ssim-{p}-{j}.log" for j in range(len(names))] if with_ssim else None
            dists = [(streams[name][p], facts[name]) for name in names]
            chains, outs = _window_graph(
                ref_streams[p], dists, ref_facts, vmafs, ssims, step, str(p)
            )
            inputs.chains += chains
            outputs += outs
        args = [*inputs.args, "-filter_complex", ";".join(inputs.chains)]
        for out in outputs:
            args += ["-map", out, "-f", "null", "-"]
        run_ffmpeg(args, what="scoring", cwd=staging.directory, timeout=timeout)
        rows: list[dict[str, Any]] = []
        rate = ref_facts.frame_rate or 1.0
        for p, window in enumerate(passes):
            offset = window.start if window else 0.0
            for j, name in enumerate(names):
                ssim = _read_ssim(staging.directory / f"ssim-{p}-{j}.log", step)
                for entry in _read_log(staging.directory / logs[(p, name)], name):
                    frame_num = int(entry["frameNum"])
                    scores = entry.get("metrics", {})
                    t = offset + frame_num / rate
                    rows.append(
                        {
                            "rendition": name,
                            "frame": round(t * rate),
                            "time": t,
                            "vmaf": scores.get("vmaf", math.nan),
                            "psnr": scores.get("psnr_y", math.nan),
                            "ssim": ssim.get(frame_num, math.nan),
                        }
                    )
    frames = _frames_table(rows, chosen)
    summary = _summary_table(frames, names, facts)
    return QualityScores(
        frames=frames,
        renditions=summary,
        reference=ref_facts,
        sampling=sampling,
        windows=windows,
        subsample=step,
        elapsed=time.perf_counter() - started,
        metrics=chosen,
    )


def _frames_table(rows: list[dict[str, Any]], chosen: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "rendition": pd.array([r["rendition"] for r in rows], dtype="string"),
            "frame": pd.array([r["frame"] for r in rows], dtype="int64"),
            "time": pd.array([r["time"] for r in rows], dtype="float64"),
            **{
                m: pd.array([r[m] if m in chosen else math.nan for r in rows], dtype="float64")
                for m in METRICS
            },
        }
    )
    return frame[list(FRAME_COLUMNS)]


def _summary_table(
    frames: pd.DataFrame, names: list[str], facts: Mapping[str, MediaFacts]
) -> pd.DataFrame:
    rows = []
    for name in names:
        mine = frames[(frames["rendition"] == name).to_numpy()]
        vmaf = mine["vmaf"].to_numpy(dtype=float)
        scored = vmaf[~np.isnan(vmaf)]
        rows.append(
            {
                "rendition": name,
                "width": facts[name].width,
                "height": facts[name].height,
                "bitrate": facts[name].bitrate,
                "frames": len(mine),
                "vmaf_mean": float(scored.mean()) if scored.size else math.nan,
                "vmaf_p5": float(np.percentile(scored, 5)) if scored.size else math.nan,
                "vmaf_min": float(scored.min()) if scored.size else math.nan,
                "psnr": float(mine["psnr"].mean()) if len(mine) else math.nan,
                "ssim": float(mine["ssim"].mean()) if len(mine) else math.nan,
            }
        )
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    table["rendition"] = table["rendition"].astype("string")
    table["bitrate"] = pd.array(table["bitrate"].tolist(), dtype="Int64")
    for col in ("width", "height", "frames"):
        table[col] = table[col].astype("int64")
    return table


def frames_at(
    reference: MediaInput,
    renditions: Mapping[str, MediaInput],
    at: float,
    *,
    timeout: float | None = None,
) -> dict[str, np.ndarray]:
    """The frame shown at ``at`` seconds in the reference and in each rendition, each
    upscaled bicubic to the reference's size, as ``height x width x 3`` uint8 RGB arrays:
    ``{"reference": ..., name: ...}`` (one ffmpeg run; for
    :func:`hs_notebook.plots.frame_comparison_figure`)."""
    named = _check_renditions(renditions)
    when = validate.non_negative_seconds("at", at)
    ref_facts = media_facts(reference, name="reference")
    if when >= ref_facts.duration > 0:
        raise InvalidArgument(
            f"at={when:g} s is past the reference's end ({ref_facts.duration:g} s)"
        )
    width, height = ref_facts.width, ref_facts.height
    labels = ["reference", *named]
    with Staging() as staging:
        inputs = _Inputs(staging, [Window(when, 1.0)])
        for i, (label, value) in enumerate([("reference", reference), *named.items()]):
            (stream,) = inputs.open(value, label, f"in{i}")
            inputs.chains.append(
                f"{stream}scale={width}:{height}:flags=bicubic,format=rgb24,trim=end_frame=1[f{i}]"
            )
        stacked = "".join(f"[f{i}]" for i in range(len(labels)))
        stack = f"{stacked}vstack=inputs={len(labels)}[all]" if len(labels) > 1 else "[f0]null[all]"
        args = [*inputs.args, "-filter_complex", ";".join([*inputs.chains, stack])]
        args += ["-map", "[all]"]
        args += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
        out, _log = run_ffmpeg(args, what=f"frames at {when:g} s", timeout=timeout)
    expected = width * height * 3 * len(labels)
    if len(out) != expected:
        raise QualityError(
            f"frames at {when:g} s: ffmpeg returned {len(out)} bytes, expected {expected} "
            "(an input may end before that time)"
        )
    stack_array = np.frombuffer(out, dtype=np.uint8).reshape(len(labels), height, width, 3)
    return {label: stack_array[i].copy() for i, label in enumerate(labels)}
