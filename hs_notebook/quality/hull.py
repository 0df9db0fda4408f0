"""Rate-quality helpers (pure): the upper convex hull of a ladder's (bitrate, VMAF) points,
and how far below it each rung sits.

The hull is the concave, rising frontier of the points sorted by bitrate: a rung on it
buys the most quality its bits can buy among these encodes; a rung below it is beaten by
a mix of its neighbours (an inefficient rung).  Convexity is taken in plain bitrate, as
in the per-title encoding literature; quality that falls with more bits is never on the
hull.

>>> upper_hull([300_000, 800_000, 1_500_000, 3_000_000], [60.0, 80.0, 78.0, 95.0])
[0, 1, 3]
>>> [round(g, 2) for g in hull_gap([300_000, 800_000, 1_500_000, 3_000_000],
...                                [60.0, 80.0, 78.0, 95.0])]
[0.0, 0.0, 6.77, 0.0]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from hs_notebook.errors import InvalidArgument

__all__ = ["hull_gap", "upper_hull"]


def _points(bitrates: Sequence[float], scores: Sequence[float]) -> list[tuple[float, float, int]]:
    if len(bitrates) != len(scores):
        raise InvalidArgument(
            f"bitrates and scores must have the same length, got {len(bitrates)} and {len(scores)}"
        )
    points = []
    for i, (rate, score) in enumerate(zip(bitrates, scores, strict=True)):
        rate_f, score_f = float(rate), float(score)
        if math.isnan(rate_f) or math.isnan(score_f):
            continue  # an unscored or unmeasured rung is not on any hull
        points.append((rate_f, score_f, i))
    return sorted(points)


def upper_hull(bitrates: Sequence[float], scores: Sequence[float]) -> list[int]:
    """Indices (into the inputs, in bitrate order) of the points on the rising upper convex
    hull of ``(bitrate, score)``.  Points with a NaN bitrate or score are left out; of
    points at the same bitrate only the best can be on the hull."""
    hull: list[tuple[float, float, int]] = []
    for p in _points(bitrates, scores):
        if hull and p[0] == hull[-1][0]:  # same bitrate: keep the better score
            if p[1] <= hull[-1][1]:
                continue
            hull.pop()
        if hull and p[1] <= hull[-1][1]:
            continue  # no better than a cheaper point: never on the rising hull
        while len(hull) >= 2 and _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()  # hull[-1] lies on or below the chord from hull[-2] to p
        hull.append(p)
    return [p[2] for p in hull]


def hull_gap(bitrates: Sequence[float], scores: Sequence[float]) -> list[float]:
    """For each point, how far its score lies below the hull at its bitrate (score points;
    0 on the hull, NaN for NaN inputs).  Beyond the hull's last point the hull is flat."""
    points = _points(bitrates, scores)
    on = set(upper_hull(bitrates, scores))
    hull = [p for p in points if p[2] in on]
    gaps = [math.nan] * len(bitrates)
    for rate, score, i in points:
        level = _hull_level(hull, rate)
        gaps[i] = 0.0 if i in on else max(0.0, level - score)
    return gaps


def _hull_level(hull: list[tuple[float, float, int]], rate: float) -> float:
    if rate <= hull[0][0]:
        return hull[0][1] if rate == hull[0][0] else -math.inf
    for (x0, y0, _), (x1, y1, _) in itertools.pairwise(hull):
        if x0 <= rate <= x1:
            return y0 + (y1 - y0) * (rate - x0) / (x1 - x0)
    return hull[-1][1]


def _cross(
    o: tuple[float, float, int], a: tuple[float, float, int], b: tuple[float, float, int]
) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
