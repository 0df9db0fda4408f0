"""Quality rules (pure): what a scored ladder's per-rendition table says about its rungs.

Each rule is a row of :data:`QUALITY_RULES` (id, severity, source, what it checks) and a
function over a scored ladder (anything with the :class:`ScoredLadder` attributes, e.g.
:class:`hs_notebook.quality.ladder.LadderQuality`) yielding ``(subject, message, measured,
expected)``.  :data:`hs_notebook.qa.RULES` registers them (``depth="quality"``) and
:func:`hs_notebook.quality.ladder.quality` reports them as ``.findings``.  Every threshold
is a field of :class:`QualityThresholds`, documented there.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from hs_notebook.media_rules import FINDING_COLUMNS  # the QA report's columns
from hs_notebook.quality.hull import hull_gap

__all__ = [
    "FINDING_COLUMNS",
    "QUALITY_RULES",
    "QualityRule",
    "QualityThresholds",
    "ScoredLadder",
    "quality_findings",
]


_SOURCE = "hs_notebook: perceptual quality"


@dataclass(frozen=True)
class QualityThresholds:
    """The thresholds of the quality rules (VMAF points unless said otherwise).

    Attributes:
        rise_tolerance: ``quality_rises``: a rung may score at most this much below the
            rung beneath it (by declared bitrate) before it is an error (default 0: any
            drop).
        min_gain: ``quality_redundant``: a rung that adds less than this over the rung
            beneath it is redundant (default 2.0; one just-noticeable difference is about 6).
        hull_tolerance: ``quality_hull``: a rung more than this below the upper convex
            hull of (measured bitrate, VMAF mean) is inefficient (default 1.0).
        top_floor: ``quality_top_floor``: the top rung's VMAF mean should reach this
            (default 93).
        p5_drop: ``quality_hard_scenes``: the 5th-percentile VMAF of a rung should be no
            more than this below its mean (default 15: a hard scene falls apart).
        loudness_spread: ``quality_loudness``: integrated loudness may differ across
            renditions by at most this many LU (default 1.0).
    """

    rise_tolerance: float = 0.0
    min_gain: float = 2.0
    hull_tolerance: float = 1.0
    top_floor: float = 93.0
    p5_drop: float = 15.0
    loudness_spread: float = 1.0


class ScoredLadder(Protocol):
    """What the rules read.

    ``renditions`` has one row per rendition in ladder order (lowest declared bitrate
    first) with at least ``rendition``, ``declared_bitrate``, ``measured_bitrate``,
    ``vmaf_mean``, ``vmaf_p5``, ``integrated``, ``is_reference`` and ``error`` (why the
    rendition could not be scored, ``<NA>`` when it was)."""

    renditions: pd.DataFrame
    reference: str
    reference_note: str
    thresholds: QualityThresholds


Hits = Iterator[tuple[str, str, str, str]]


def _f(value: object) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out


def _scored(q: ScoredLadder) -> list[dict[str, object]]:
    """The rows with a VMAF mean (in ladder order), the reference rung left out."""
    rows: list[dict[str, object]] = [
        {str(k): v for k, v in r.items()} for r in q.renditions.to_dict("records")
    ]
    return [r for r in rows if not math.isnan(_f(r["vmaf_mean"])) and not bool(r["is_reference"])]


def _rate(row: dict[str, object]) -> float:
    measured = _f(row["measured_bitrate"])
    return measured if not math.isnan(measured) else _f(row["declared_bitrate"])


def reference_used(q: ScoredLadder) -> Hits:
    yield "reference", f"scored against {q.reference}: {q.reference_note}", q.reference, ""


def renditions_scored(q: ScoredLadder) -> Hits:
    for row in q.renditions.to_dict("records"):
        error = row["error"]
        if isinstance(error, str) and error:
            yield str(row["rendition"]), f"not scored: {error}", "not scored", "scored"


def quality_rises(q: ScoredLadder) -> Hits:
    rows, tol = _scored(q), q.thresholds.rise_tolerance
    for below, above in itertools.pairwise(rows):
        lo, hi = _f(below["vmaf_mean"]), _f(above["vmaf_mean"])
        if hi < lo - tol:
            yield (
                str(above["rendition"]),
                f"VMAF {hi:.1f} is below the {lo:.1f} of {below['rendition']}, the rung "
                "beneath it at fewer bits",
                f"{hi:.1f}",
                f">= {lo - tol:.1f}",
            )


def quality_redundant(q: ScoredLadder) -> Hits:
    rows, gain = _scored(q), q.thresholds.min_gain
    for below, above in itertools.pairwise(rows):
        step = _f(above["vmaf_mean"]) - _f(below["vmaf_mean"])
        if step < gain:
            yield (
                str(above["rendition"]),
                f"adds {step:+.1f} VMAF over {below['rendition']} (less than {gain:g}): a "
                "redundant rung",
                f"{step:+.1f}",
                f">= {gain:g}",
            )


def quality_hull(q: ScoredLadder) -> Hits:
    rows, tol = _scored(q), q.thresholds.hull_tolerance
    gaps = hull_gap([_rate(r) for r in rows], [_f(r["vmaf_mean"]) for r in rows])
    for row, gap in zip(rows, gaps, strict=True):
        if not math.isnan(gap) and gap > tol:
            yield (
                str(row["rendition"]),
                f"{gap:.1f} VMAF below the upper convex hull of (bitrate, VMAF): its "
                "neighbours buy more quality with these bits (an inefficient rung)",
                f"{gap:.1f} below",
                f"<= {tol:g} below",
            )


def quality_top_floor(q: ScoredLadder) -> Hits:
    rows, floor = _scored(q), q.thresholds.top_floor
    ref_rows = q.renditions[q.renditions["is_reference"].astype(bool).to_numpy()]
    if not rows or len(ref_rows):  # the top rung is the reference: nothing to say
        return
    top = rows[-1]
    mean = _f(top["vmaf_mean"])
    if mean < floor:
        yield (
            str(top["rendition"]),
            f"the top rung's VMAF mean is {mean:.1f}, below the floor of {floor:g}",
            f"{mean:.1f}",
            f">= {floor:g}",
        )


def quality_hard_scenes(q: ScoredLadder) -> Hits:
    drop = q.thresholds.p5_drop
    for row in _scored(q):
        mean, p5 = _f(row["vmaf_mean"]), _f(row["vmaf_p5"])
        if mean - p5 > drop:
            yield (
                str(row["rendition"]),
                f"5th-percentile VMAF {p5:.1f} is {mean - p5:.1f} below the mean {mean:.1f}: "
                "a hard scene falls apart (see per_time)",
                f"{p5:.1f}",
                f">= {mean - drop:.1f}",
            )


def quality_loudness(q: ScoredLadder) -> Hits:
    table = q.renditions
    levels = pd.to_numeric(table["integrated"], errors="coerce").astype(float)
    known = table[levels.notna().to_numpy()]
    if len(known) < 2:
        return
    values = levels[levels.notna()]
    spread = float(values.max() - values.min())
    if spread > q.thresholds.loudness_spread:
        loud = str(known["rendition"].iloc[int(values.to_numpy().argmax())])
        quiet = str(known["rendition"].iloc[int(values.to_numpy().argmin())])
        yield (
            "ladder",
            f"integrated loudness differs by {spread:.1f} LU across renditions ({quiet} "
            f"{values.min():.1f} LUFS, {loud} {values.max():.1f} LUFS): switching rungs "
            "changes the volume",
            f"{spread:.1f} LU",
            f"<= {q.thresholds.loudness_spread:g} LU",
        )


@dataclass(frozen=True)
class QualityRule:
    """One quality rule: a row of :data:`QUALITY_RULES`."""

    id: str
    severity: str
    source: str
    checks: str
    check: Callable[[ScoredLadder], Hits]


#: The quality rules, in report order.
QUALITY_RULES: tuple[QualityRule, ...] = (
    QualityRule(
        "quality_reference",
        "info",
        _SOURCE,
        "says which reference the renditions were scored against and why (the original "
        "upload, else the top rung)",
        reference_used,
    ),
    QualityRule(
        "quality_scored",
        "warning",
        _SOURCE,
        "every rendition could be fetched and scored",
        renditions_scored,
    ),
    QualityRule(
        "quality_rises",
        "error",
        _SOURCE,
        "VMAF mean rises with bitrate along the ladder (rise_tolerance)",
        quality_rises,
    ),
    QualityRule(
        "quality_redundant",
        "warning",
        _SOURCE,
        "each rung adds at least min_gain VMAF over the rung beneath it",
        quality_redundant,
    ),
    QualityRule(
        "quality_hull",
        "warning",
        "hs_notebook: perceptual quality (the per-title rate-quality convex hull)",
        "no rung lies more than hull_tolerance VMAF below the upper convex hull of (bitrate, VMAF)",
        quality_hull,
    ),
    QualityRule(
        "quality_top_floor",
        "warning",
        _SOURCE,
        "the top rung's VMAF mean reaches top_floor (93)",
        quality_top_floor,
    ),
    QualityRule(
        "quality_hard_scenes",
        "warning",
        _SOURCE,
        "each rung's 5th-percentile VMAF is within p5_drop of its mean",
        quality_hard_scenes,
    ),
    QualityRule(
        "quality_loudness",
        "warning",
        "hs_notebook: perceptual quality (EBU R128 loudness)",
        "integrated loudness differs across renditions by at most loudness_spread (1 LU)",
        quality_loudness,
    ),
)


def quality_findings(q: ScoredLadder) -> pd.DataFrame:
    """Every quality rule over ``q``: a findings table (:data:`FINDING_COLUMNS`, text)."""
    rows = [
        (rule.id, rule.severity, *hit)
        for rule in sorted(
            QUALITY_RULES, key=lambda r: ("error", "warning", "info").index(r.severity)
        )
        for hit in rule.check(q)
    ]
    return pd.DataFrame(
        {
            c: pd.array([str(r[i]) for r in rows], dtype="string")
            for i, c in enumerate(FINDING_COLUMNS)
        }
    )
