"""Bit rates of media segments as RFC 8216bis defines them: pure arithmetic over segment
durations and sizes (no I/O), shared by the ladder QA and the media QA."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hs_notebook.errors import InvalidArgument

__all__ = ["average_bitrate", "peak_bitrate", "peak_window"]


def peak_window(target_duration: float) -> tuple[float, float]:
    """(shortest, longest) total duration, seconds, of a run of segments that counts for
    the peak segment bit rate: 0.5 x the target duration to 1.5 x it + 0.5 s (RFC 8216bis
    4.1: "between 0.5 and 1.5 times the target duration"; the 0.5 s allows for EXTINF
    durations that round to the target duration)."""
    return 0.5 * target_duration, 1.5 * target_duration + 0.5


def _arrays(
    durations: Sequence[float] | np.ndarray, sizes: Sequence[int] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(durations, dtype=np.float64)
    s = np.asarray(sizes, dtype=np.float64)
    if d.shape != s.shape or d.ndim != 1:
        raise InvalidArgument(
            f"durations and sizes must be two sequences of one length, got {d.shape} and {s.shape}"
        )
    if not (np.isfinite(d).all() and np.isfinite(s).all()) or (d < 0).any() or (s < 0).any():
        raise InvalidArgument("durations and sizes must be finite, non-negative numbers")
    keep = d > 0  # a zero-duration segment has no bit rate of its own
    return d[keep], s[keep]


def average_bitrate(
    durations: Sequence[float] | np.ndarray, sizes: Sequence[int] | np.ndarray
) -> float | None:
    """The average bit rate, bits/s: total size * 8 / total duration (segments of zero
    duration left out); ``None`` without a segment of positive duration."""
    d, s = _arrays(durations, sizes)
    if not len(d):
        return None
    return float(s.sum() * 8 / d.sum())


def peak_bitrate(
    durations: Sequence[float] | np.ndarray,
    sizes: Sequence[int] | np.ndarray,
    target_duration: float | None,
) -> float | None:
    """The peak segment bit rate of a media playlist, bits/s, as RFC 8216bis 4.1 defines
    it: the largest bit rate (total size * 8 / total duration) of any contiguous run of
    segments whose total duration is within :func:`peak_window` of the target duration.

    A short segment (the last one, typically) therefore counts only together with its
    neighbour, and never raises a false peak on its own.

    Args:
        durations: the EXTINF durations, seconds, in playlist order.
        sizes: the segment sizes, bytes, in the same order.
        target_duration: EXT-X-TARGETDURATION, seconds; ``None`` (unknown) falls back to
            the largest bit rate of a single segment.

    Returns:
        bits/s (float), or ``None`` when there is no segment of positive duration.  When
        no run fits the window (the whole playlist is shorter than half the target
        duration, or segments exceed it), the whole playlist's average, respectively the
        largest single-segment bit rate, is returned.
    """
    d, s = _arrays(durations, sizes)
    n = len(d)
    if not n:
        return None
    if target_duration is None or not math.isfinite(target_duration) or target_duration <= 0:
        return float((s * 8 / d).max())
    low, high = peak_window(float(target_duration))
    total = float(d.sum())
    if total < low:
        return float(s.sum() * 8 / total)
    # prefix sums: the run i..j-1 lasts ends[j] - ends[i]
    ends = np.concatenate(([0.0], np.cumsum(d)))
    bits = np.concatenate(([0.0], np.cumsum(s * 8)))
    best: float | None = None
    j = 0
    for i in range(n):
        j = max(j, i + 1)
        # the shortest run from i that lasts at least `low`
        while j < n and ends[j] - ends[i] < low:
            j += 1
        k = j
        while k <= n and ends[k] - ends[i] <= high:
            span = ends[k] - ends[i]
            if span >= low:
                rate = (bits[k] - bits[i]) / span
                if best is None or rate > best:
                    best = rate
            k += 1
    if best is None:  # every run is shorter than `low` or longer than `high`
        return float((s * 8 / d).max())
    return float(best)
