"""The QA rules, in ONE table: :data:`RULES` (id, severity, source, what it checks, and
the check in :mod:`hs_notebook.qa.checks` that implements it)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

import pandas as pd

from hs_notebook.errors import InvalidArgument
from hs_notebook.media_rules import MEDIA_RULES
from hs_notebook.qa import checks as c
from hs_notebook.qa.view import Hit, View
from hs_notebook.quality_rules import QUALITY_RULES
from hs_notebook.validate import choice, string_list

__all__ = ["DEPTHS", "PROFILES", "RULES", "SEVERITIES", "Rule", "RuleTable"]

#: Severities, most severe first.
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")

#: Rule profiles: ``{name: what it checks}``.  A rule's profiles follow from its source
#: (:attr:`Rule.profiles`).
PROFILES: dict[str, str] = {
    "heapstream": "RFC 8216, Apple's HLS Authoring Specification and HeapStream's limits "
    "(the default for HeapStream and sandbox ladders)",
    "apple": "RFC 8216 and Apple's HLS Authoring Specification (the default for other origins)",
    "rfc8216": "RFC 8216 only",
}

#: How deep :func:`~hs_notebook.qa.qa` looks, shallowest first: ``{depth: what it
#: reads}``.  Each depth runs the rules of the ones above it too.
DEPTHS: dict[str, str] = {
    "playlist": "the playlists (and, when measured, the segment sizes)",
    "media": "the playlists and the media inside the segments (PyAV): the playlist rules "
    "plus the media rules",
    "quality": "the playlists, the media inside the segments, then every rendition scored "
    "against a reference (VMAF, PSNR, SSIM, loudness; hs_notebook.quality): the playlist "
    "and media rules plus the quality rules",
}

_RFC = "RFC 8216"
_APPLE = "Apple HLS Authoring Spec"
_HS = "HeapStream FAQ"


@dataclass(frozen=True)
class Rule:
    """One QA rule: a row of :data:`RULES`."""

    id: str
    severity: str
    source: str
    checks: str
    check: Callable[[View], Iterator[Hit]]
    measured: bool = False  #: needs measured segment sizes
    media: bool = False  #: reads the media inside the segments (depths "media", "quality")
    quality: bool = False  #: needs the renditions scored (runs at depth "quality" only)

    @property
    def depth(self) -> str:
        """The shallowest of :data:`DEPTHS` this rule runs at (it runs at the deeper ones
        too)."""
        return "quality" if self.quality else "media" if self.media else "playlist"

    @property
    def profiles(self) -> frozenset[str]:
        """The :data:`PROFILES` this rule belongs to: HeapStream's limits to
        ``heapstream``; Apple's rules to ``apple`` and ``heapstream``; RFC 8216 rules (and
        hs_notebook's own coverage notes) to all three."""
        if self.source.startswith(_HS):
            return frozenset({"heapstream"})
        if self.source.startswith(_APPLE):
            return frozenset({"apple", "heapstream"})
        return frozenset(PROFILES)

    def __repr__(self) -> str:
        return f"Rule({self.id!r}, {self.severity}, {self.source!r})"


class RuleTable(Mapping[str, Rule]):
    """The rules, by id, in report order; ``RULES.to_frame()`` shows them as a table."""

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self._rules = {r.id: r for r in rules}
        if len(self._rules) != len(rules):
            raise ValueError("duplicate rule ids")
        for r in rules:
            if r.severity not in SEVERITIES:
                raise ValueError(f"rule {r.id}: unknown severity {r.severity!r}")

    def __getitem__(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def to_frame(self) -> pd.DataFrame:
        """Columns ``id``, ``severity``, ``source``, ``checks``, ``measured`` (needs the
        segment sizes), ``media`` (reads the segments: runs at depths ``"media"`` and
        ``"quality"``), ``quality`` (needs the renditions scored: runs at ``"quality"``
        only)."""
        columns = ["id", "severity", "source", "checks", "measured", "media", "quality"]
        rows = [
            (r.id, r.severity, r.source, r.checks, r.measured, r.media, r.quality)
            for r in self._rules.values()
        ]
        return pd.DataFrame(rows, columns=columns)

    def in_profile(self, profile: str, depth: str | None = None) -> tuple[str, ...]:
        """The ids of the rules of one of :data:`PROFILES`, in report order; with a
        ``depth`` (:data:`DEPTHS`), only those that run at it (:attr:`Rule.depth` at or
        above it: ``"playlist"`` leaves the media and quality rules out, ``"media"`` the
        quality rules)."""
        if profile not in PROFILES:
            raise InvalidArgument(
                f"unknown QA profile {profile!r}; choose one of {', '.join(PROFILES)}"
            )
        deepest = len(DEPTHS)
        if depth is not None:
            deepest = list(DEPTHS).index(choice("depth", depth, DEPTHS)) + 1
        runs = set(list(DEPTHS)[:deepest])
        return tuple(
            r.id for r in self._rules.values() if profile in r.profiles and r.depth in runs
        )

    def select(
        self,
        profile: str,
        rules: str | Iterable[str] | None = None,
        ignore: str | Iterable[str] | None = None,
        depth: str | None = None,
    ) -> tuple[str, ...]:
        """The ids of the rules to run, in report order: ``rules`` (ids) when given, else
        those of ``profile`` (at ``depth``, see :meth:`in_profile`); less ``ignore`` (ids).
        An id that is not in the table raises :class:`InvalidArgument` naming it."""
        chosen = self.in_profile(profile, depth)
        if rules is not None:
            chosen = tuple(r for r in self._rules if r in set(self._ids(rules, "rules")))
        dropped = set(self._ids(ignore, "ignore")) if ignore is not None else set()
        return tuple(r for r in chosen if r not in dropped)

    def _ids(self, ids: str | Iterable[str], what: str) -> list[str]:
        if isinstance(ids, str):  # one id, or several separated by commas
            ids = [i for i in ids.replace(",", " ").split() if i]
        out = string_list(f"{what}=", ids)
        unknown = [i for i in out if i not in self._rules]
        if unknown:
            raise InvalidArgument(
                f"{what}=: unknown rule id(s) {', '.join(map(repr, unknown))}; the ids are "
                f"those of RULES: {', '.join(self._rules)}"
            )
        return out

    def __repr__(self) -> str:
        return f"<RuleTable of {len(self)} rules: {', '.join(self._rules)}>"

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


#: Every QA rule: id, severity, source, what it checks.  Severities: ``error`` (a MUST or a
#: hard HeapStream limit), ``warning`` (a SHOULD or a recommendation), ``info``.
RULES = RuleTable(
    (
        # --- RFC 8216 -----------------------------------------------------------------
        Rule(
            "target_duration_present",
            "error",
            f"{_RFC} 4.3.3.1",
            "every media playlist has EXT-X-TARGETDURATION",
            c.target_duration_present,
        ),
        Rule(
            "extinf_within_target",
            "error",
            f"{_RFC} 4.3.3.1",
            "every EXTINF duration, rounded to the nearest integer, is <= EXT-X-TARGETDURATION",
            c.extinf_within_target,
        ),
        Rule(
            "vod_endlist",
            "error",
            f"{_RFC} 4.3.3.4, 4.3.3.5",
            "a playlist of EXT-X-PLAYLIST-TYPE VOD has EXT-X-ENDLIST",
            c.vod_endlist,
        ),
        Rule(
            "bandwidth_present",
            "error",
            f"{_RFC} 4.3.4.2",
            "every EXT-X-STREAM-INF has a positive BANDWIDTH (the parser already refuses a "
            "variant without one)",
            c.bandwidth_present,
        ),
        Rule(
            "version_compat",
            "error",
            f"{_RFC} 7",
            "EXT-X-VERSION is high enough for what is used: IV >= 2, non-integer EXTINF >= 3, "
            "EXT-X-BYTERANGE / EXT-X-I-FRAMES-ONLY >= 4, KEYFORMAT(VERSIONS) >= 5, EXT-X-MAP "
            ">= 6 (>= 5 in I-frames-only playlists), INSTREAM-ID SERVICEn >= 7 (master)",
            c.version_compat,
        ),
        Rule(
            "sequence_numbers",
            "error",
            f"{_RFC} 4.3.3.2, 4.3.3.3",
            "EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE are non-negative",
            c.sequence_numbers,
        ),
        Rule(
            "discontinuities_aligned",
            "error",
            f"{_RFC} 6.2.4",
            "every variant has the same EXT-X-DISCONTINUITY-SEQUENCE and the same number of "
            "EXT-X-DISCONTINUITY tags",
            c.discontinuities_aligned,
        ),
        Rule(
            "media_available",
            "info",
            "hs_notebook",
            "every variant's media playlist was available, so the playlist rules checked it",
            c.media_available,
        ),
        # --- Apple HLS Authoring Specification -------------------------------------------
        Rule(
            "codecs_present",
            "error",
            f"{_APPLE}: multivariant playlists",
            "every EXT-X-STREAM-INF has CODECS",
            c.attribute_present("CODECS", lambda x: x.codecs, video_only=False),
        ),
        Rule(
            "resolution_present",
            "error",
            f"{_APPLE}: multivariant playlists",
            "every video EXT-X-STREAM-INF has RESOLUTION",
            c.attribute_present("RESOLUTION", lambda x: x.width, video_only=True),
        ),
        Rule(
            "frame_rate_present",
            "error",
            f"{_APPLE}: multivariant playlists",
            "every video EXT-X-STREAM-INF has FRAME-RATE",
            c.attribute_present("FRAME-RATE", lambda x: x.frame_rate, video_only=True),
        ),
        Rule(
            "average_bandwidth_present",
            "error",
            f"{_APPLE}: multivariant playlists",
            "every EXT-X-STREAM-INF has AVERAGE-BANDWIDTH",
            c.attribute_present("AVERAGE-BANDWIDTH", lambda x: x.average_bandwidth, False),
        ),
        Rule(
            "independent_segments",
            "warning",
            f"{_APPLE}: playlists",
            "EXT-X-INDEPENDENT-SEGMENTS is in the master (or in every media) playlist",
            c.independent_segments,
        ),
        Rule(
            "peak_bitrate",
            "error",
            f"{_APPLE}: bit rates (VOD)",
            "the measured peak segment bitrate (RFC 8216bis 4.1: the largest bit rate of any run "
            "of segments lasting 0.5-1.5 x the target duration) is within 10% of BANDWIDTH",
            c.peak_bitrate,
            measured=True,
        ),
        Rule(
            "average_bitrate",
            "error",
            f"{_APPLE}: bit rates (VOD)",
            "the measured average bitrate (total size*8 / total duration) is within 10% of "
            "AVERAGE-BANDWIDTH",
            c.average_bitrate,
            measured=True,
        ),
        Rule(
            "peak_to_average",
            "warning",
            f"{_APPLE}: bit rates (VOD)",
            "the measured peak bitrate is no more than 200% of the measured average",
            c.peak_to_average,
            measured=True,
        ),
        Rule(
            "bitrate_step",
            "warning",
            f"{_APPLE}: video ladder",
            "adjacent variants (same codec, by BANDWIDTH) step by 1.3x to 2.5x",
            c.bitrate_step,
        ),
        Rule(
            "resolution_rises",
            "warning",
            f"{_APPLE}: video ladder",
            "resolution never falls as BANDWIDTH rises (same codec)",
            c.resolution_rises,
        ),
        Rule(
            "aspect_ratio",
            "warning",
            f"{_APPLE}: video ladder",
            "every video variant has the aspect ratio of the top one (within 2%)",
            c.aspect_ratio,
        ),
        Rule(
            "segment_duration",
            "warning",
            f"{_APPLE}: media segmentation",
            "segments (all but the last) last 6 s on average (± 0.5 s)",
            c.segment_duration,
        ),
        Rule(
            "iframe_playlists",
            "warning",
            f"{_APPLE}: trick play",
            "the master playlist offers I-frame playlists (EXT-X-I-FRAME-STREAM-INF)",
            c.iframe_playlists,
        ),
        Rule(
            "subtitle_language_name",
            "error",
            f"{_APPLE}: subtitles",
            "every SUBTITLES rendition has LANGUAGE and NAME",
            c.subtitle_language_name,
        ),
        Rule(
            "subtitle_autoselect",
            "warning",
            f"{_APPLE}: subtitles",
            "every SUBTITLES rendition is AUTOSELECT=YES",
            c.subtitle_autoselect,
        ),
        # --- HeapStream ---------------------------------------------------------------
        Rule(
            "heapstream_h264",
            "error",
            f"{_HS}: formats",
            "video codecs are H.264 (avc1 / avc3)",
            c.heapstream_h264,
        ),
        Rule(
            "heapstream_resolution",
            "error",
            f"{_HS}: renditions",
            "every video rendition is between 360p and 2160p (short side of the frame)",
            c.heapstream_resolution,
        ),
        Rule(
            "heapstream_frame_rate",
            "error",
            f"{_HS}: formats",
            "FRAME-RATE is at most 30",
            c.heapstream_frame_rate,
        ),
        # --- media (depth="media": what the segments hold; hs_notebook.media_rules) -----
        *(
            Rule(m.id, m.severity, m.source, m.checks, c.media_check(m), media=True)
            for m in MEDIA_RULES
        ),
        # --- quality (depth="quality": renditions scored; hs_notebook.quality_rules) ------
        *(
            Rule(q.id, q.severity, q.source, q.checks, c.quality_check(q), quality=True)
            for q in QUALITY_RULES
        ),
    )
)
