"""Media-level QA rules: what the segments hold against what the playlists declare, as
Apple's mediastreamvalidator checks it.  Pure functions over a
:class:`~hs_notebook.media_tables.ProbedLadder`, each returning :class:`MediaFinding` rows.

Every rule is one row of :data:`MEDIA_RULES` (id, severity, source, what it checks, the
function), ready to be registered in the one QA rules table.  Findings carry the
rule's severity; their ``subject`` is ``"<rendition>:<segment index>"`` for segment facts
(the first offending segment when several are; the message lists the others),
``"<rendition>"`` for rendition facts and the text track id for WebVTT facts.  ``measured``
and ``expected`` are text, as in the QA report.

Segment-level rules report once per rendition (naming the segments), so a full probe of a
long video gives one line per problem and rendition, not one per segment.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import astuple, dataclass

import pandas as pd

from hs_notebook.bitstream import codecs_differ
from hs_notebook.media_tables import DeclaredRendition, ProbedLadder, ProbedSegment
from hs_notebook.probe import SegmentProbe

__all__ = [
    "ALIGN_TOLERANCE",
    "EXTINF_TOLERANCE",
    "FINDING_COLUMNS",
    "FRAME_RATE_TOLERANCE",
    "KEYFRAME_INTERVAL",
    "MEDIA_RULES",
    "VTT_SYNC_TOLERANCE",
    "MediaFinding",
    "MediaRule",
    "findings_table",
    "run_media_rules",
    "timestamp_map",
]

#: EXTINF may differ from the measured media duration by this much (seconds) before
#: ``media_extinf_match`` warns: a few frames at 30 fps; less is rounding and A/V padding.
EXTINF_TOLERANCE = 0.1
#: Apple HLS Authoring Spec 1.9: keyframes (IDRs) SHOULD be present every two seconds.
KEYFRAME_INTERVAL = 2.0
#: FRAME-RATE is written rounded to three decimals; a larger gap (fps) is a mismatch.
FRAME_RATE_TOLERANCE = 0.05
#: Start times of the same segment index in two renditions may differ by this much
#: (seconds, about half a frame at 30 fps) and still count as aligned.
ALIGN_TOLERANCE = 0.017
#: A WebVTT X-TIMESTAMP-MAP may be this far (seconds) from the media's first PTS.
VTT_SYNC_TOLERANCE = 0.05
_MPEGTS_CLOCK = 90000
_PTS_WRAP = 1 << 33
_LIST = 8  # segment indices named in one message

#: Columns of :func:`findings_table` (the same as the QA report's).
FINDING_COLUMNS: tuple[str, ...] = (
    "rule",
    "severity",
    "subject",
    "message",
    "measured",
    "expected",
)


#: A per-segment check: ``(measured, expected)`` text when the segment breaks the rule.
_Hit = tuple[str, str] | None
SegmentTest = Callable[[DeclaredRendition, ProbedSegment, SegmentProbe], _Hit]


@dataclass(frozen=True)
class MediaFinding:
    """One problem a media rule found."""

    rule: str
    severity: str
    subject: str
    message: str
    measured: str = ""
    expected: str = ""


@dataclass(frozen=True)
class MediaRule:
    """One media rule: a row of :data:`MEDIA_RULES`."""

    id: str
    severity: str
    source: str
    checks: str
    check: Callable[[ProbedLadder], list[MediaFinding]]

    def __call__(self, media: ProbedLadder) -> list[MediaFinding]:
        return self.check(media)

    @classmethod
    def per_segment(
        cls, id: str, severity: str, source: str, checks: str, test: SegmentTest, message: str
    ) -> MediaRule:
        """A rule that runs ``test`` on every probed segment and reports once per
        rendition (subject: its first bad segment).  ``message`` is a :meth:`str.format`
        template over ``rendition``, ``segments`` (the bad indices, as text), ``first``,
        ``count``, ``probed``, ``measured`` and ``expected`` (those of the first)."""
        return cls(
            id,
            severity,
            source,
            checks,
            functools.partial(
                _per_rendition, rule=id, severity=severity, test=test, message=message
            ),
        )

    def __repr__(self) -> str:
        return f"MediaRule({self.id!r}, {self.severity}, {self.source!r})"


# ------------------------------------------------------------------ helpers


def _sec(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _indices(bad: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in bad[:_LIST])
    more = f" and {len(bad) - _LIST} more" if len(bad) > _LIST else ""
    return f"{shown}{more}"


def _per_rendition(
    media: ProbedLadder,
    rule: str,
    severity: str,
    test: SegmentTest,
    message: str,
) -> list[MediaFinding]:
    """Run ``test`` on every probed segment; one finding per rendition that has bad
    segments (its subject the first of them, ``measured``/``expected`` from it)."""
    out: list[MediaFinding] = []
    for r in media.renditions:
        bad: list[tuple[int, str, str]] = []
        probed = media.probed(r.rendition)
        for seg, probe in probed:
            hit = test(r, seg, probe)
            if hit is not None:
                bad.append((seg.index, *hit))
        if bad:
            idx = [b[0] for b in bad]
            measured, expected = bad[0][1], bad[0][2]
            out.append(
                MediaFinding(
                    rule,
                    severity,
                    f"{r.rendition}:{idx[0]}",
                    message.format(
                        rendition=r.rendition,
                        segments=_indices(idx),
                        first=idx[0],
                        count=len(idx),
                        probed=len(probed),
                        measured=measured,
                        expected=expected,
                    ),
                    measured,
                    expected,
                )
            )
    return out


# ------------------------------------------------------------------ segment rules


def _idr_start_test(r: DeclaredRendition, s: ProbedSegment, p: SegmentProbe) -> _Hit:
    if p.starts_with_idr is False:
        types = ",".join(map(str, p.first_frame_nal_types)) or "none"
        return f"first frame NAL types {types}", "an IDR picture first"
    return None


def _keyframe_interval_test(r: DeclaredRendition, s: ProbedSegment, p: SegmentProbe) -> _Hit:
    gap = p.max_keyframe_interval
    half_frame = 0.5 / p.frame_rate if p.frame_rate else 0.0
    if gap is not None and gap > KEYFRAME_INTERVAL + half_frame:
        return f"{gap:.3f} s", f"<= {KEYFRAME_INTERVAL:g} s"
    return None


def _extinf_match_test(r: DeclaredRendition, s: ProbedSegment, p: SegmentProbe) -> _Hit:
    if not 0 <= s.index < len(r.extinf) or p.duration is None:
        return None
    declared = float(r.extinf[s.index])
    if abs(p.duration - declared) > EXTINF_TOLERANCE:
        return f"{p.duration:.3f} s", f"{declared:.3f} s"
    return None


def _av_start_test(r: DeclaredRendition, s: ProbedSegment, p: SegmentProbe) -> _Hit:
    # Only where playback starts: in later segments the audio continues the previous
    # segment's, and where it is cut is the muxer's choice (FFmpeg cuts it at the video
    # keyframe's DTS, a B-frame delay before its PTS), not an offset anyone hears.
    if s.index != 0 or p.audio_first_pts is None or p.video_codec is None:
        return None
    if p.first_pts is None:
        return None
    # Audio starts and is cut only on whole audio frames, and AAC encoders put one frame
    # of priming before the first sample (1024 samples: 21.3 ms at 48 kHz; Apple TN2258,
    # "AAC Audio - Encoder Delay and Synchronization"), which players trim: a gap up to
    # one audio frame is the codec's, not a sync error, even where a video frame is
    # shorter (50 and 59.94 fps).
    frame = 1.0 / p.frame_rate if p.frame_rate else 1.0 / 30
    slack = max(frame, p.audio_frame_duration or 0.0)
    what = "one frame" if slack == frame else "one audio frame"
    gap = p.audio_first_pts - p.first_pts
    if abs(gap) > slack + 1e-6:
        return f"{gap:+.3f} s (audio - video)", f"within {slack:.3f} s ({what})"
    return None


def _ts_pat_pmt_test(r: DeclaredRendition, s: ProbedSegment, p: SegmentProbe) -> _Hit:
    if p.pat_pmt_first is False:
        pids = ", ".join(str(x) for x in p.first_pids)
        return f"first packet PIDs {pids}", "PID 0 (PAT), then the PMT's PID"
    return None


def _readable(media: ProbedLadder) -> list[MediaFinding]:
    """One finding per segment that could not be fetched or read (its HTTP status or
    why), so a refused segment never hides the others; the rendition's other segments
    are still checked.  An AUDIO rendition whose own media playlist could not be fetched
    or read is one finding too (subject: the rendition)."""
    out: list[MediaFinding] = []
    for failure in media.playlist_failures:
        status = f"HTTP {failure.http_status}" if failure.http_status else "unreadable"
        out.append(
            MediaFinding(
                "media_segment_readable",
                "error",
                failure.rendition,
                f"{failure.rendition}: none of its segments could be probed: {failure.error}",
                status,
                "a readable media playlist",
            )
        )
    for r in media.renditions:
        bad = [s for s in media.segments if s.rendition == r.rendition and s.status == "failed"]
        for seg in sorted(bad, key=lambda s: s.index):
            status = f"HTTP {seg.http_status}" if seg.http_status else "unreadable"
            out.append(
                MediaFinding(
                    "media_segment_readable",
                    "error",
                    f"{r.rendition}:{seg.index}",
                    f"{r.rendition}: segment {seg.index} could not be fetched or read: {seg.error}",
                    status,
                    "a readable media segment",
                )
            )
    return out


def _encrypted(media: ProbedLadder) -> list[MediaFinding]:
    out: list[MediaFinding] = []
    for r in media.renditions:
        skipped = sorted(
            (s for s in media.segments if s.rendition == r.rendition and s.status == "encrypted"),
            key=lambda s: s.index,
        )
        if skipped:
            first = skipped[0]
            out.append(
                MediaFinding(
                    "media_encrypted_skipped",
                    "info",
                    f"{r.rendition}:{first.index}",
                    f"{r.rendition}: segment(s) {_indices([s.index for s in skipped])} are "
                    "encrypted (EXT-X-KEY) and were not probed; the media rules did not check "
                    "them",
                    first.error or "encrypted",
                    "EXT-X-KEY METHOD=NONE (to be probed)",
                )
            )
    return out


# ------------------------------------------------------------------ rendition rules


def _codec_findings(media: ProbedLadder, want: set[str]) -> list[MediaFinding]:
    """Declared video/audio CODECS against the bitstream; ``want`` picks the difference
    kinds to report (``different``/``level_lower`` as errors, ``level_higher`` as a
    warning)."""
    out: list[MediaFinding] = []
    for r in media.renditions:
        if r.codecs is None:
            continue
        for seg, p in media.probed(r.rendition):
            hits = _codec_hits(r, p)
            hits = [(kind, d, m, why) for kind, d, m, why in hits if kind in want]
            if not hits:
                continue
            kind, declared, measured, why = hits[0]
            rule = "media_codecs_level_higher" if kind == "level_higher" else "media_codecs_match"
            severity = "warning" if kind == "level_higher" else "error"
            out.append(
                MediaFinding(
                    rule,
                    severity,
                    f"{r.rendition}:{seg.index}",
                    f"{r.rendition}: {why} (segment {seg.index})",
                    measured,
                    declared,
                )
            )
            break  # one per rendition: the codecs do not change from segment to segment
    return out


def _codec_hits(r: DeclaredRendition, p: SegmentProbe) -> list[tuple[str, str, str, str]]:
    hits: list[tuple[str, str, str, str]] = []
    declared_video = r.video_codecs
    if p.video_codecs and not declared_video:
        hits.append(
            (
                "different",
                r.codecs or "",
                p.video_codecs,
                f"CODECS {r.codecs!r} lists no video codec but the segments carry "
                f"{p.video_codecs} video",
            )
        )
    elif p.video_codecs and declared_video:
        diff = codecs_differ(declared_video[0], p.video_codecs)
        why = {
            "different": f"CODECS declares {diff.declared} but the bitstream is "
            f"{diff.measured} (profile {p.video_profile}, level {p.video_level})",
            "level_lower": f"CODECS declares {diff.declared}, a lower level than the stream's "
            f"{diff.measured} (level {p.video_level}); devices that cannot decode it will "
            "still pick it",
            "level_higher": f"CODECS declares {diff.declared}, a higher level than the stream's "
            f"{diff.measured} (level {p.video_level}); devices that could play it may skip it",
            "sample_entry": f"CODECS declares {diff.declared} but the segments are packaged "
            f"as {diff.measured}",
        }
        if diff.kind != "same":
            kind = "different" if diff.kind == "sample_entry" else diff.kind
            hits.append((kind, diff.declared, diff.measured, why[diff.kind]))
    declared_audio = r.audio_codecs
    if p.audio_codecs and declared_audio:
        # CODECS names every format of the variant's renditions (RFC 8216 4.3.4.2): with
        # an AUDIO group it may list several audio codecs; the muxed one is any of them.
        diffs = [codecs_differ(d, p.audio_codecs) for d in declared_audio]
        diff = next((d for d in diffs if d.kind == "same"), diffs[0])
        if diff.kind != "same":
            hits.append(
                (
                    "different",
                    diff.declared,
                    diff.measured,
                    f"CODECS declares audio {diff.declared} but the segments carry {diff.measured}",
                )
            )
    elif p.audio_codecs and r.codecs and not declared_audio:
        hits.append(
            (
                "different",
                r.codecs,
                p.codecs or "",
                f"CODECS {r.codecs!r} lists no audio codec but the segments carry "
                f"{p.audio_codecs} audio (RFC 8216: CODECS lists every format present)",
            )
        )
    elif declared_audio and p.audio_codec is None and not r.audio_playlists:
        # RFC 8216 4.3.4.2: CODECS lists the formats "in any of the Renditions specified
        # by the Variant Stream": audio in the AUDIO group's own playlists counts, though
        # the variant's segments are video only.
        hits.append(
            (
                "different",
                r.codecs or "",
                p.codecs or "",
                f"CODECS declares audio {declared_audio[0]} but the segments carry no audio",
            )
        )
    return hits


def _codecs_match(media: ProbedLadder) -> list[MediaFinding]:
    return _codec_findings(media, {"different", "level_lower"})


def _codecs_level_higher(media: ProbedLadder) -> list[MediaFinding]:
    return _codec_findings(media, {"level_higher"})


def _resolution_match_test(r: DeclaredRendition, s: ProbedSegment, p: SegmentProbe) -> _Hit:
    declared, found = (r.width, r.height), (p.width, p.height)
    if all(declared) and all(found) and declared != found:
        return f"{p.width}x{p.height}", f"{r.width}x{r.height}"
    return None


def _frame_rate_match_test(r: DeclaredRendition, s: ProbedSegment, p: SegmentProbe) -> _Hit:
    gap = abs(p.frame_rate - r.frame_rate) if r.frame_rate and p.frame_rate else 0.0
    if gap > FRAME_RATE_TOLERANCE:
        return f"{p.frame_rate:.3f}", f"{r.frame_rate:g}"
    return None


def _audio_channels_test(r: DeclaredRendition, s: ProbedSegment, p: SegmentProbe) -> _Hit:
    if r.audio_channels and p.audio_channels and p.audio_channels != r.audio_channels:
        return str(p.audio_channels), str(r.audio_channels)
    return None


# ------------------------------------------------------------------ ladder rules


_Starts = dict[tuple[str, int], list[tuple[str, float, float]]]


def _aligned(starts: _Starts) -> dict[str, list[tuple[int, float, float, str]]]:
    """``{rendition: [(index, start, reference start, reference rendition)]}`` of the
    segments that start further from the first rendition's segment of the same grid and
    index than the larger of the two slacks."""
    bad: dict[str, list[tuple[int, float, float, str]]] = {}
    for (_, index), rows in sorted(starts.items()):
        ref_key, ref, ref_slack = rows[0]
        for key, start, slack in rows[1:]:
            if abs(start - ref) > max(slack, ref_slack):
                bad.setdefault(key, []).append((index, start, ref, ref_key))
    return bad


def _boundaries_aligned(media: ProbedLadder) -> list[MediaFinding]:
    """Same start PTS per segment index across the video renditions, and, apart from
    them, across the audio-only renditions of one codec and frame length (within one
    audio frame: audio is cut only on whole frames, so it is never compared with video,
    nor with audio of another frame grid, AAC's 1024 samples against AC-3's 1536)."""
    video: _Starts = {}
    audio: _Starts = {}
    for r in media.renditions:
        for seg, p in media.probed(r.rendition):
            if p.first_pts is None:
                continue
            if p.video_codec is not None:
                row = (r.rendition, p.first_pts, ALIGN_TOLERANCE)
                video.setdefault(("video", seg.index), []).append(row)
            elif p.audio_codec is not None:
                frame = p.audio_frame_duration or ALIGN_TOLERANCE
                grid = f"{p.audio_codecs or p.audio_codec} {frame:.6f}"
                row = (r.rendition, p.first_pts, frame + 1e-6)  # + rounding
                audio.setdefault((grid, seg.index), []).append(row)
    out: list[MediaFinding] = []
    groups = (
        (video, "", "cut every rendition at the same keyframes"),
        (audio, ", within one audio frame", "cut every audio rendition at the same times"),
    )
    for starts, slack, advice in groups:
        for key, misses in _aligned(starts).items():
            index, start, ref, ref_key = misses[0]
            out.append(
                MediaFinding(
                    "media_boundaries_aligned",
                    "error",
                    f"{key}:{index}",
                    f"{key}: segment(s) {_indices([m[0] for m in misses])} start at other "
                    f"times than in {ref_key} (segment {index}: {start:.3f} s vs {ref:.3f} s"
                    f"{slack}); players cannot switch between them seamlessly: {advice}",
                    _sec(start),
                    _sec(ref),
                )
            )
    return out


_TS_MAP = re.compile(r"X-TIMESTAMP-MAP=(?P<body>[^\r\n]*)")
_LOCAL = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2})\.(\d{3})")


def timestamp_map(vtt: str) -> tuple[int, float] | None:
    """``(MPEGTS, LOCAL seconds)`` of a WebVTT header's ``X-TIMESTAMP-MAP``, ``None`` when
    the header has none or it is malformed (RFC 8216 3.5)."""
    header = vtt.split("\n\n", 1)[0].replace("\r\n", "\n")
    m = _TS_MAP.search(header)
    if not m:
        return None
    parts = dict(p.split(":", 1) for p in m["body"].split(",") if ":" in p)
    mpegts, local = parts.get("MPEGTS", "").strip(), parts.get("LOCAL", "").strip()
    lm = _LOCAL.fullmatch(local)
    if not mpegts.isdigit() or not lm:
        return None
    hours, minutes, seconds, millis = (int(g) if g else 0 for g in lm.groups())
    return int(mpegts), hours * 3600 + minutes * 60 + seconds + millis / 1000


def _media_origin(media: ProbedLadder) -> tuple[float, str, int] | None:
    """(PTS of the playlist's time 0, rendition, segment index) from the earliest probed
    MPEG-TS segment: its first PTS (audio or video, whichever is first) minus the EXTINF of
    the segments before it."""
    best: tuple[float, str, int] | None = None
    for r in media.renditions:
        for seg, p in media.probed(r.rendition):
            if p.container != "mpegts" or p.first_pts is None:
                continue
            first = min(t for t in (p.first_pts, p.audio_first_pts) if t is not None)
            before = sum(r.extinf[: seg.index])
            if best is None or seg.index < best[2]:
                best = (first - before, r.rendition, seg.index)
            break
    return best


def _vtt_timestamp_map(media: ProbedLadder) -> list[MediaFinding]:
    origin = _media_origin(media)
    if origin is None or not media.text_tracks:
        return []
    start, key, index = origin
    expected_ts = round(start * _MPEGTS_CLOCK) % _PTS_WRAP
    expected = f"MPEGTS:{expected_ts},LOCAL:00:00:00.000"
    out: list[MediaFinding] = []
    for track in media.text_tracks:
        mapping = timestamp_map(track.vtt)
        subject = f"{track.track}:{track.index}"
        if mapping is None:
            out.append(
                MediaFinding(
                    "media_vtt_timestamp_map",
                    "error",
                    subject,
                    f"text track {track.track}: the WebVTT has no X-TIMESTAMP-MAP while the "
                    f"video is MPEG-TS starting at PTS {start:.3f} s ({key} segment {index}); "
                    f"players show every cue {start:.3f} s early. Add "
                    f"X-TIMESTAMP-MAP={expected} to each WebVTT header",
                    "no X-TIMESTAMP-MAP",
                    expected,
                )
            )
            continue
        mpegts, local = mapping
        offset = mpegts / _MPEGTS_CLOCK - local
        wrapped = (offset - start) % (_PTS_WRAP / _MPEGTS_CLOCK)
        gap = min(wrapped, _PTS_WRAP / _MPEGTS_CLOCK - wrapped)
        if gap > VTT_SYNC_TOLERANCE:
            out.append(
                MediaFinding(
                    "media_vtt_timestamp_map",
                    "error",
                    subject,
                    f"text track {track.track}: X-TIMESTAMP-MAP puts cue time 0 at PTS "
                    f"{offset:.3f} s but the video starts at {start:.3f} s ({key} segment "
                    f"{index}); cues show {gap:.3f} s off",
                    f"MPEGTS:{mpegts},LOCAL:{local:.3f}",
                    expected,
                )
            )
    return out


# ------------------------------------------------------------------ the table

_RFC = "RFC 8216"
_APPLE = "Apple HLS Authoring Spec"

#: Every media rule: id, severity, source, what it checks, the function.
MEDIA_RULES: tuple[MediaRule, ...] = (
    MediaRule(
        "media_segment_readable",
        "error",
        f"{_RFC} 4.3.2 (segments are resources a client can fetch)",
        "every probed segment could be fetched and demuxed (one finding per segment that "
        "answered an HTTP error or held unreadable bytes; the rendition's other segments "
        "are still checked), and so could the media playlist of every AUDIO rendition",
        _readable,
    ),
    MediaRule(
        "media_encrypted_skipped",
        "info",
        f"{_RFC} 4.3.2.4 (EXT-X-KEY)",
        "encrypted segments (EXT-X-KEY METHOD other than NONE) are skipped, not probed",
        _encrypted,
    ),
    MediaRule.per_segment(
        "media_idr_start",
        "error",
        f"{_APPLE} (each video segment starts with an IDR frame); {_RFC} 6.2.4",
        "every video segment starts with an IDR picture (NAL type 5 for H.264, 19/20 for "
        "HEVC), not just a frame flagged as a keyframe",
        _idr_start_test,
        "{rendition}: segment(s) {segments} do not start with an IDR frame "
        "({count} of {probed} probed); a player switching to or seeking into "
        "them cannot decode until the next keyframe: cut segments on keyframes",
    ),
    MediaRule.per_segment(
        "media_keyframe_interval",
        "warning",
        f"{_APPLE} 1.9",
        f"keyframes at most every {KEYFRAME_INTERVAL:g} s (half a frame of slack)",
        _keyframe_interval_test,
        f"{{rendition}}: keyframes up to {{measured}} apart in segment(s) {{segments}}; "
        f"Apple recommends one every {KEYFRAME_INTERVAL:g} s (encode with a GOP of at most "
        f"{KEYFRAME_INTERVAL:g} s)",
    ),
    MediaRule(
        "media_codecs_match",
        "error",
        f"{_RFC} 4.3.4.2 (CODECS); RFC 6381",
        "the video and audio CODECS entries match the bitstream (avc1.PPCCLL from the SPS, "
        "hvc1 from the VPS/SPS/hvcC, mp4a.40.x from the AudioSpecificConfig/ADTS); a "
        "declared level lower than the stream's is an error too",
        _codecs_match,
    ),
    MediaRule(
        "media_codecs_level_higher",
        "warning",
        f"{_RFC} 4.3.4.2 (CODECS); {_APPLE} 1.7",
        "the declared video level is not higher than the stream's",
        _codecs_level_higher,
    ),
    MediaRule.per_segment(
        "media_resolution_match",
        "error",
        f"{_RFC} 4.3.4.2 (RESOLUTION)",
        "RESOLUTION equals the coded width x height of the video",
        _resolution_match_test,
        "{rendition}: RESOLUTION={expected} but the video is {measured} "
        "(segment(s) {segments}); players choose variants by RESOLUTION",
    ),
    MediaRule.per_segment(
        "media_frame_rate_match",
        "warning",
        f"{_RFC} 4.3.4.2 (FRAME-RATE)",
        f"FRAME-RATE is within {FRAME_RATE_TOLERANCE:g} fps of the rate the timestamps give",
        _frame_rate_match_test,
        "{rendition}: FRAME-RATE={expected} but the timestamps give {measured} fps "
        "(segment(s) {segments})",
    ),
    MediaRule.per_segment(
        "media_extinf_match",
        "warning",
        f"{_RFC} 4.3.2.1 (EXTINF)",
        f"each segment's EXTINF is within {EXTINF_TOLERANCE:g} s of its media duration",
        _extinf_match_test,
        "{rendition}: the media of segment(s) {segments} lasts {measured} where EXTINF says "
        f"{{expected}} (beyond {EXTINF_TOLERANCE:g} s); players schedule and seek by EXTINF, "
        "so write the real durations",
    ),
    MediaRule(
        "media_boundaries_aligned",
        "error",
        f"{_RFC} 6.2.4 (matching content has matching timestamps); {_APPLE}",
        f"segment N of every video rendition starts at the same PTS (within "
        f"{ALIGN_TOLERANCE:g} s), and of every audio-only rendition of one codec within one "
        "audio frame, so players can switch renditions seamlessly",
        _boundaries_aligned,
    ),
    MediaRule.per_segment(
        "media_audio_channels",
        "error",
        f"{_RFC} 4.3.4.1 (CHANNELS)",
        "the audio channel count equals the CHANNELS its master EXT-X-MEDIA declares "
        "(the audio codec is checked by media_codecs_match)",
        _audio_channels_test,
        '{rendition}: the master declares CHANNELS="{expected}" but the audio has '
        "{measured} channel(s) (segment(s) {segments})",
    ),
    MediaRule.per_segment(
        "media_av_start",
        "warning",
        f"{_APPLE} (audio/video sync)",
        "audio and video of the first segment start within one video frame (or one audio "
        "frame, if longer: AAC priming) of each other (later segments continue the audio "
        "of the one before, so only the start counts)",
        _av_start_test,
        "{rendition}: audio and video start {measured} apart in segment {first}, not "
        "{expected}; players start with a gap or drop media to line them up",
    ),
    MediaRule(
        "media_vtt_timestamp_map",
        "error",
        f"{_RFC} 3.5",
        "WebVTT text tracks over MPEG-TS video carry X-TIMESTAMP-MAP mapping cue time 0 to "
        f"the video's first PTS (within {VTT_SYNC_TOLERANCE:g} s)",
        _vtt_timestamp_map,
    ),
    MediaRule.per_segment(
        "media_ts_pat_pmt",
        "info",
        f"{_RFC} 3.2",
        "the first two packets of an MPEG-TS segment are a PAT and then a PMT",
        _ts_pat_pmt_test,
        "{rendition}: segment(s) {segments} do not open with a PAT and a PMT ({measured}; "
        "17 is an SDT, which FFmpeg writes first): harmless for most players",
    ),
)


def run_media_rules(
    media: ProbedLadder, rules: Iterable[MediaRule] = MEDIA_RULES
) -> list[MediaFinding]:
    """Every finding of ``rules`` over ``media``, in the rules' order."""
    return [finding for rule in rules for finding in rule.check(media)]


def findings_table(findings: Iterable[MediaFinding]) -> pd.DataFrame:
    """The findings as a DataFrame with :data:`FINDING_COLUMNS` (string dtype)."""
    rows = [astuple(f) for f in findings]
    return pd.DataFrame(
        {
            col: pd.array([row[i] for row in rows], dtype="string")
            for i, col in enumerate(FINDING_COLUMNS)
        }
    )
