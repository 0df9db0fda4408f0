"""Perceptual quality of renditions: VMAF, PSNR and SSIM against a reference, loudness, and
the rate-quality hull, with the ffmpeg binary of imageio-ffmpeg (``pip install
'hs_notebook[media]'``; its libvmaf has the built-in ``vmaf_v0.6.1`` model).

>>> scores = score("source.mp4", {"360p": "360p.mp4", "720p": mp4_bytes})  # doctest: +SKIP
>>> scores.renditions       # VMAF mean / 5th percentile / min, PSNR, SSIM per rendition
>>> scores.per_second       # the dips, second by second
>>> loudness({"360p": "360p.mp4", "720p": mp4_bytes})   # EBU R128 per rendition
>>> upper_hull(scores.renditions["bitrate"], scores.renditions["vmaf_mean"])

Inputs are local paths or bytes, never URLs: fetch with the client first, so a token never
reaches an ffmpeg command line.  Scoring costs what its accuracy needs: the reference is
decoded once for every rendition, libvmaf scores every n-th frame (up to
:data:`DEFAULT_SUBSAMPLE`, keeping :data:`MIN_SCORED_FRAMES`) on every core, and long
references are scored in time windows (``sample``); ``benchmarks/bench_quality.py``
measures the speed and the error of each setting.  Figures:
:func:`hs_notebook.plots.rate_quality_figure`,
:func:`~hs_notebook.plots.vmaf_over_time_figure`,
:func:`~hs_notebook.plots.frame_comparison_figure`.
"""

from __future__ import annotations

from hs_notebook.quality._ffmpeg import MediaInput, QualityError
from hs_notebook.quality._loudness import LOUDNESS_COLUMNS, loudness
from hs_notebook.quality._media import MediaFacts, media_facts
from hs_notebook.quality._score import (
    AUTO_FULL_SECONDS,
    DEFAULT_MODEL,
    DEFAULT_SUBSAMPLE,
    DEFAULT_WINDOW,
    DEFAULT_WINDOWS,
    FRAME_COLUMNS,
    METRICS,
    MIN_SCORED_FRAMES,
    SECOND_COLUMNS,
    SUMMARY_COLUMNS,
    QualityScores,
    Window,
    auto_subsample,
    frames_at,
    plan_windows,
    score,
)
from hs_notebook.quality.hull import hull_gap, upper_hull

__all__ = [
    "AUTO_FULL_SECONDS",
    "DEFAULT_MODEL",
    "DEFAULT_SUBSAMPLE",
    "DEFAULT_WINDOW",
    "DEFAULT_WINDOWS",
    "FRAME_COLUMNS",
    "LOUDNESS_COLUMNS",
    "METRICS",
    "MIN_SCORED_FRAMES",
    "SECOND_COLUMNS",
    "SUMMARY_COLUMNS",
    "MediaFacts",
    "MediaInput",
    "QualityError",
    "QualityScores",
    "Window",
    "auto_subsample",
    "frames_at",
    "hull_gap",
    "loudness",
    "media_facts",
    "plan_windows",
    "score",
    "upper_hull",
]
