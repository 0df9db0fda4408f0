"""Ladder QA: check a :class:`~hs_notebook.ladder.Ladder` against RFC 8216, Apple's HLS
Authoring Specification and HeapStream's own limits.

>>> report = qa(fetch_ladder("video-id", key, project_id=12))     # doctest: +SKIP
>>> report                     # renders in a notebook: "1 error, 2 warnings, 21 rules passed"
>>> report.table               # one row per finding (columns in COLUMNS)

Rule profiles (:data:`PROFILES`): ``qa(ladder, profile="heapstream" | "apple" | "rfc8216")``,
by default heapstream for HeapStream and sandbox ladders and apple for other origins
(:func:`default_profile`); ``rules=`` / ``ignore=`` pick rules by id.  The report says
which profile it checked.  Ladder rules that compare neighbours compare like with like:
one ladder per content-steering pathway, video range and audio group, never a variant with
its own twin, never an audio-only variant as a video rung.

Every rule lives in ONE table, :data:`RULES` (id, severity, source, what it checks); each
is a small function over the ladder's typed facts (:meth:`~hs_notebook.ladder.Ladder.facts`:
:mod:`hs_notebook.hls` parses, the ladder fetches; QA never parses playlist text itself, nor
makes HTTP requests of its own).

Modules: :mod:`~hs_notebook.qa.rules` (the table), :mod:`~hs_notebook.qa.checks` (the rule
implementations), :mod:`~hs_notebook.qa.view` (what they look at),
:mod:`~hs_notebook.qa.engine` (running them), :mod:`~hs_notebook.qa.report` (the
:class:`QAReport`), :mod:`~hs_notebook.qa.bitrates` (measured bitrates and
:func:`bitrate_table`).

Measured rules (``peak_bitrate``, ``average_bitrate``, ``peak_to_average``) need the real
segment sizes: :func:`qa` asks the ladder to measure them
(:meth:`~hs_notebook.ladder.Ladder.measure_segment_sizes`: one HEAD per segment, a few at a
time), or takes them ready-made from ``sizes=``.  With ``measure=False``, or on a ladder
built from text (:func:`~hs_notebook.ladder.ladder_from_text`, which has no origin), they
are skipped: each skipped rule is listed in :attr:`QAReport.skipped` with the reason and
reported as an ``info`` finding, never silently passed.  The same happens when measuring
fails (a segment refused, an origin down after the retries): one failed request costs the
measured rules, never the findings of the others.

Media rules (``media_*``, from :data:`hs_notebook.media_rules.MEDIA_RULES`) look inside the
segments: ``qa(ladder, depth="media")`` probes them (:meth:`~hs_notebook.ladder.Ladder.probe`,
PyAV: codecs from the bitstream, IDR starts, keyframe intervals, resolution, frame rate,
EXTINF against the media, aligned boundaries, WebVTT ``X-TIMESTAMP-MAP``) and runs them after
the playlist rules.  At the default ``depth="playlist"`` they are not run (nor counted);
named in ``rules=`` they are reported as skipped.

Plots of QA results live in :mod:`hs_notebook.plots`; they read :class:`QAReport` tables
and :func:`bitrate_table`.

Conventions: bitrates are int bits/s, durations float seconds, sizes int bytes.  The
``measured`` and ``expected`` columns are text (values may be numbers, versions or codec
strings), so tables of findings from many videos stay one dtype and save to Parquet/CSV.
"""

from __future__ import annotations

from hs_notebook.qa.bitrates import BITRATE_COLUMNS, bitrate_table
from hs_notebook.qa.checks import (
    BITRATE_TOLERANCE,
    HEAPSTREAM_MAX_FRAME_RATE,
    HEAPSTREAM_MAX_HEIGHT,
    HEAPSTREAM_MIN_HEIGHT,
)
from hs_notebook.qa.engine import default_profile, qa, qa_async
from hs_notebook.qa.report import COLOURS, COLUMNS, QAReport
from hs_notebook.qa.rules import DEPTHS, PROFILES, RULES, SEVERITIES, Rule, RuleTable

__all__ = [
    "BITRATE_COLUMNS",
    "BITRATE_TOLERANCE",
    "COLOURS",
    "COLUMNS",
    "DEPTHS",
    "HEAPSTREAM_MAX_FRAME_RATE",
    "HEAPSTREAM_MAX_HEIGHT",
    "HEAPSTREAM_MIN_HEIGHT",
    "PROFILES",
    "RULES",
    "SEVERITIES",
    "QAReport",
    "Rule",
    "RuleTable",
    "bitrate_table",
    "default_profile",
    "qa",
    "qa_async",
]
