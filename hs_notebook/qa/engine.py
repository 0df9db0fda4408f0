"""The QA engine: :func:`qa` / :func:`qa_async` run every rule of
:data:`~hs_notebook.qa.rules.RULES` over a ladder's facts and return a
:class:`~hs_notebook.qa.report.QAReport`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import pandas as pd

from hs_notebook.errors import HeapStreamError, InvalidArgument
from hs_notebook.http import AsyncClient
from hs_notebook.ladder import Ladder
from hs_notebook.media_tables import ProbedLadder
from hs_notebook.probe import require_av
from hs_notebook.probe_fetch import DEPTHS as PROBE_DEPTHS
from hs_notebook.qa.bitrates import check_ladder
from hs_notebook.qa.report import COLUMNS, RANK, QAReport, empty_table
from hs_notebook.qa.rules import DEPTHS, PROFILES, RULES
from hs_notebook.qa.view import View, build_view
from hs_notebook.quality.ladder import quality as score_ladder
from hs_notebook.quality_rules import ScoredLadder
from hs_notebook.urls import parse_signed_url
from hs_notebook.validate import Progress, choice, positive_int, progress_arg

__all__ = ["default_profile", "qa", "qa_async"]

_MEASURE_SKIPPED = (
    "measure=False: segment sizes were not measured; run qa(ladder) (measure=True) or pass "
    "sizes=ladder.measure_segment_sizes() to check it"
)
_OFFLINE = (
    "the ladder was built from text (ladder_from_text) and has no origin to measure segment "
    "sizes from; pass sizes= (a table with preset_id, duration and size) to check it"
)


_NOT_PROBED = (
    'depth="playlist": the segments were not probed; run qa(ladder, depth="media") to check it'
)
_OFFLINE_MEDIA = (
    "the ladder was built from text (ladder_from_text) and has no origin to fetch segments "
    "from; fetch it with fetch_ladder()/fetch_ladder_url() to check it"
)
_NOT_SCORED = (
    'depth="{depth}": the renditions were not scored; run qa(ladder, depth="quality") to check it'
)
_OFFLINE_QUALITY = (
    "the ladder was built from text and has no origin to fetch media from; fetch it "
    "with fetch_ladder()/fetch_ladder_url() to score it"
)


def _unmeasured(view: View) -> list[str]:
    """Subjects of the variants that have a media playlist but no measured sizes."""
    return [
        var.subject
        for var in view.variants
        if var.key is not None and var.key in view.playlists and var.key not in view.measured
    ]


def default_profile(ladder: Ladder) -> str:
    """The profile :func:`qa` uses when none is given: ``"heapstream"`` for a HeapStream
    ladder (its master URL is a HeapStream master ``/mmpl/<project>/<video>/``, on
    HeapStream or the sandbox, or one of its variants is a HeapStream preset playlist
    ``/mpl/<project>/<preset>/``), ``"apple"`` for any other origin."""
    signed = parse_signed_url(check_ladder(ladder).master_url or "")
    if signed is not None and signed.kind == "master":
        return "heapstream"
    if any(v.preset_id is not None for v in ladder.facts().variants):
        return "heapstream"
    return "apple"


def _selected(
    ladder: Ladder,
    profile: str | None,
    rules: str | Iterable[str] | None,
    ignore: str | Iterable[str] | None,
    depth: str,
) -> tuple[str, tuple[str, ...]]:
    """(the profile, the ids of the rules to run at ``depth``: :meth:`RuleTable.select`)."""
    choice("depth", depth, DEPTHS)
    if profile is None:
        profile = default_profile(ladder)
    elif not isinstance(profile, str):
        raise InvalidArgument(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    return profile, RULES.select(profile, rules, ignore, depth)


def _media_plan(
    ladder: Ladder, depth: str, probe: object, progress: object, selected: tuple[str, ...]
) -> str | None:
    """``None`` when the segments should be probed, else why the media rules skip (``""``
    when no media rule is selected).  A missing PyAV raises (the error names the extra)."""
    choice("probe", probe, PROBE_DEPTHS)
    progress_arg("progress", progress)
    if not any(RULES[r].media for r in selected):
        return ""
    if depth not in ("media", "quality"):  # quality implies media
        return _NOT_PROBED
    if not ladder.fetchable:
        return _OFFLINE_MEDIA
    if not ladder.media_texts:
        return "the ladder has no media playlists, so there are no segments to probe"
    require_av()
    return None


def _probe_failed(exc: HeapStreamError) -> str:
    return f"probing the segments failed ({type(exc).__name__}: {exc})"


def _quality_plan(ladder: Ladder, depth: str, selected: tuple[str, ...]) -> str | None:
    """``None`` when the renditions should be scored, else why the quality rules skip
    (``""`` when no quality rule is selected)."""
    if not any(RULES[r].quality for r in selected):
        return ""
    if depth != "quality":
        return _NOT_SCORED.format(depth=depth)
    if not ladder.fetchable:
        return _OFFLINE_QUALITY
    return None


def _evaluate(
    ladder: Ladder,
    sizes: pd.DataFrame | None,
    skip_reason: str | None,
    profile: str,
    selected: tuple[str, ...],
    media: ProbedLadder | None = None,
    media_reason: str | None = None,
    quality: ScoredLadder | None = None,
    quality_reason: str | None = None,
) -> QAReport:
    """Run the selected rules over the ladder; measured rules only when ``sizes`` is given
    (and then only over the variants it has sizes for: the others are reported as not
    checked); media rules only over ``media``; quality rules only over ``quality``."""
    view = build_view(ladder.facts(), sizes, media, quality)
    rows: list[tuple[int, int, int, str, str, str, str, str, str]] = []
    passed: list[str] = []
    skipped: dict[str, str] = {}
    unmeasured = _unmeasured(view) if sizes is not None else []
    keys = {var.key for var in view.variants if var.key is not None}
    if sizes is not None and unmeasured and not keys & set(view.measured):
        sizes, skip_reason = None, "sizes= holds no segments of any variant of this ladder"
    n = 0

    def note(position: int, rule_id: str, message: str) -> None:
        nonlocal n
        rows.append((RANK["info"], position, n, rule_id, "info", "master", message, "", ""))
        n += 1

    chosen = set(selected)
    for position, rule in enumerate(RULES.values()):
        if rule.id not in chosen:
            continue
        if rule.measured and sizes is None:
            reason = skip_reason or _MEASURE_SKIPPED
            skipped[rule.id] = reason
            note(position, rule.id, f"{rule.id} not checked: {reason}")
            continue
        if rule.media and media is None:
            reason = media_reason or _NOT_PROBED
            skipped[rule.id] = reason
            note(position, rule.id, f"{rule.id} not checked: {reason}")
            continue
        if rule.quality and quality is None:
            reason = quality_reason or _NOT_SCORED.format(depth="playlist")
            skipped[rule.id] = reason
            note(position, rule.id, f"{rule.id} not checked: {reason}")
            continue
        hits = list(rule.check(view))
        partial = rule.measured and bool(unmeasured)
        if partial:
            note(
                position,
                rule.id,
                f"{rule.id} not checked for {', '.join(unmeasured)}: sizes= has no segments "
                "of them",
            )
        if not hits and not partial:
            passed.append(rule.id)
        for hit in hits:
            rows.append(
                (
                    RANK[rule.severity],
                    position,
                    n,
                    rule.id,
                    rule.severity,
                    hit.subject,
                    hit.message,
                    hit.measured,
                    hit.expected,
                )
            )
            n += 1
    rows.sort(key=lambda r: r[:3])
    if rows:
        table = pd.DataFrame(
            {
                col: pd.array([str(r[3 + i]) for r in rows], dtype="string")
                for i, col in enumerate(COLUMNS)
            }
        )
    else:
        table = empty_table()
    return QAReport(table, passed, skipped, profile=profile, quality=quality)


def _plan(
    ladder: Ladder,
    measure: bool,
    sizes: pd.DataFrame | None,
    concurrency: object,
    selected: tuple[str, ...],
) -> str | None:
    """``None`` when the ladder should be measured, else why the measured rules skip
    (``""`` when ``sizes`` was given or no measured rule is selected)."""
    if not isinstance(measure, bool):
        raise InvalidArgument(f"measure must be True or False, got {measure!r}")
    positive_int("concurrency", concurrency)
    if sizes is not None or not any(RULES[r].measured for r in selected):
        return ""
    if not measure:
        return _MEASURE_SKIPPED
    if not ladder.fetchable:
        return _OFFLINE
    if not ladder.media_texts:
        return "the ladder has no media playlists, so there are no segments to measure"
    return None


def _measure_failed(exc: HeapStreamError) -> str:
    """Why the measured rules did not run, from the error measuring raised (its message
    names the refused or failed URL with the token redacted)."""
    return f"measuring the segment sizes failed ({type(exc).__name__}: {exc})"


def _score(
    ladder: Ladder, reference: Any, sample: Any, progress: Progress
) -> tuple[ScoredLadder | None, str | None]:
    """The ladder scored (:func:`hs_notebook.quality.ladder.quality`), else why the
    quality rules skip.  Bad arguments raise; a failure to score (the reference
    unreadable, ffmpeg failing) costs the quality rules only."""
    try:
        return score_ladder(ladder, reference, sample=sample, progress=progress), None
    except InvalidArgument:
        raise
    except HeapStreamError as exc:
        return None, f"scoring the renditions failed ({type(exc).__name__}: {exc})"


def qa(
    ladder: Ladder,
    *,
    depth: str = "playlist",
    profile: str | None = None,
    rules: str | Iterable[str] | None = None,
    ignore: str | Iterable[str] | None = None,
    measure: bool = True,
    sizes: pd.DataFrame | None = None,
    concurrency: int = 16,
    probe: str = "sample",
    reference: Any = "original",
    sample: Any = None,
    progress: Progress = True,
) -> QAReport:
    """Check a ladder against the rules of :data:`RULES` of one profile.

    Args:
        ladder: a :class:`~hs_notebook.ladder.Ladder` (``fetch_ladder``,
            ``fetch_ladder_url`` or ``ladder_from_text``).
        depth: one of :data:`~hs_notebook.qa.rules.DEPTHS`, each running the rules of the
            ones before it too.  ``"playlist"`` (the default) checks the playlists (and
            measured sizes); ``"media"`` also fetches segments and checks what they hold
            with the media rules (PyAV, the ``[media]`` extra; :meth:`Ladder.probe`, whose
            result is kept on the ladder and reused).  Segments that answer 403/404 or
            cannot be read are findings of their own (``media_segment_readable``, one per
            segment); encrypted ones an ``info`` finding.  ``"quality"`` also scores every
            rendition against ``reference`` (:func:`hs_notebook.quality.ladder.quality`)
            and runs the quality rules; a failure to score is reported by the quality
            rules as not checked, like a failed measurement.
        profile: which rules (:data:`~hs_notebook.qa.rules.PROFILES`): ``"heapstream"``
            (RFC 8216, Apple and HeapStream's limits), ``"apple"`` (RFC 8216 and Apple's
            HLS Authoring Specification) or ``"rfc8216"``.  ``None``:
            :func:`default_profile` (heapstream for HeapStream and sandbox ladders, apple
            for other origins).  The report shows it.
        rules: rule ids to run instead of the profile's (a list, or one str).  Media or
            quality rules named here at a depth too shallow for them are reported as not
            checked.
        ignore: rule ids not to run.  An unknown id in ``rules`` or ``ignore`` raises.
        measure: measure the real segment sizes (one HEAD per segment, ``concurrency`` at a
            time) for the bitrate rules; ``False`` for a fast pass with no requests (the
            measured rules are then skipped, and say so).
        sizes: segment sizes already measured (``ladder.measure_segment_sizes()``: columns
            ``preset_id``, ``duration``, ``size``); used instead of measuring.  Variants it
            has no segments of are reported as not checked by the measured rules.
        concurrency: most segment requests in flight while measuring (and probing).
        probe: which segments ``depth="media"`` (and ``"quality"``) probes: ``"sample"``
            (first, middle and last of each rendition) or ``"full"`` (all).
        reference, sample: for ``depth="quality"``, as in
            :func:`hs_notebook.quality.ladder.quality`.
        progress: show progress bars while probing and scoring, or a function
            ``fn(done, total, what)`` called at every step (:data:`hs_notebook.validate.
            Progress`: ``what`` names the stage), for a display of one's own.

    Returns:
        :class:`QAReport`.  When measuring fails (a segment refused with
        :class:`~hs_notebook.errors.TokenRejected`, a :class:`~hs_notebook.errors.FetchError`
        after the retries, ...), every other rule still runs: the measured rules are listed
        in :attr:`QAReport.skipped` with the reason and reported as ``info`` findings
        (``"peak_bitrate not checked: measuring the segment sizes failed (...)"``).  A
        failed probe or scoring degrades the same way for the media or quality rules.

    Raises:
        InvalidArgument: ``ladder`` is not a Ladder, ``sizes`` is not a sizes table,
            ``measure``/``concurrency`` have the wrong type, ``depth``/``probe`` are none of
            their choices, or ``profile``, ``rules`` or ``ignore`` name no profile or rule.
    """
    profile, selected = _selected(check_ladder(ladder), profile, rules, ignore, depth)
    reason = _plan(ladder, measure, sizes, concurrency, selected)
    why_not = _media_plan(ladder, depth, probe, progress, selected)
    unscored = _quality_plan(ladder, depth, selected)
    if reason is None:
        try:
            sizes = ladder.measure_segment_sizes(concurrency=concurrency)
        except InvalidArgument:
            raise
        except HeapStreamError as exc:
            reason = _measure_failed(exc)
    media = None
    if why_not is None:
        try:
            media = ladder.probe(probe, concurrency=concurrency, progress=progress)
        except InvalidArgument:
            raise
        except HeapStreamError as exc:
            why_not = _probe_failed(exc)
    scored = None
    if unscored is None:
        scored, unscored = _score(ladder, reference, sample, progress)
    return _evaluate(
        ladder,
        sizes,
        reason or None,
        profile,
        selected,
        media,
        why_not or None,
        scored,
        unscored or None,
    )


async def qa_async(
    ladder: Ladder,
    *,
    depth: str = "playlist",
    profile: str | None = None,
    rules: str | Iterable[str] | None = None,
    ignore: str | Iterable[str] | None = None,
    measure: bool = True,
    sizes: pd.DataFrame | None = None,
    concurrency: int = 16,
    probe: str = "sample",
    reference: Any = "original",
    sample: Any = None,
    progress: Progress = True,
    client: AsyncClient | None = None,
) -> QAReport:
    """Async :func:`qa` (measures with ``ladder.measure_segment_sizes_async`` and probes
    with ``ladder.probe_async``, on ``client`` when given, so an audit shares one
    connection pool across videos; scores in a worker thread).  A failed measurement,
    probe or scoring degrades exactly as in :func:`qa`."""
    profile, selected = _selected(check_ladder(ladder), profile, rules, ignore, depth)
    reason = _plan(ladder, measure, sizes, concurrency, selected)
    why_not = _media_plan(ladder, depth, probe, progress, selected)
    unscored = _quality_plan(ladder, depth, selected)
    if reason is None:
        try:
            sizes = await ladder.measure_segment_sizes_async(concurrency=concurrency, client=client)
        except InvalidArgument:
            raise
        except HeapStreamError as exc:
            reason = _measure_failed(exc)
    media = None
    if why_not is None:
        try:
            media = await ladder.probe_async(
                probe, concurrency=concurrency, progress=progress, client=client
            )
        except InvalidArgument:
            raise
        except HeapStreamError as exc:
            why_not = _probe_failed(exc)
    scored = None
    if unscored is None:
        scored, unscored = await asyncio.to_thread(_score, ladder, reference, sample, progress)
    return _evaluate(
        ladder,
        sizes,
        reason or None,
        profile,
        selected,
        media,
        why_not or None,
        scored,
        unscored or None,
    )
