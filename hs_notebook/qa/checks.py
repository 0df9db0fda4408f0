"""The QA rule implementations: each takes the :class:`~hs_notebook.qa.view.View` of a
ladder and yields a :class:`~hs_notebook.qa.view.Hit` per problem.  The table that names
them (id, severity, source) is :data:`hs_notebook.qa.rules.RULES`."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from hs_notebook.media_rules import MediaRule
from hs_notebook.qa.view import Hit, PlaylistFacts, VariantFacts, View
from hs_notebook.quality_rules import QualityRule

__all__ = [
    "ASPECT_TOLERANCE",
    "BITRATE_TOLERANCE",
    "HEAPSTREAM_MAX_FRAME_RATE",
    "HEAPSTREAM_MAX_HEIGHT",
    "HEAPSTREAM_MIN_HEIGHT",
    "MAX_PEAK_TO_AVERAGE",
    "MAX_STEP",
    "MIN_STEP",
    "SEGMENT_TARGET",
    "SEGMENT_TOLERANCE",
    "aspect_ratio",
    "attribute_present",
    "average_bitrate",
    "bandwidth_present",
    "bitrate_step",
    "discontinuities_aligned",
    "extinf_within_target",
    "heapstream_frame_rate",
    "heapstream_h264",
    "heapstream_resolution",
    "iframe_playlists",
    "independent_segments",
    "ladders",
    "measured_pairs",
    "media_available",
    "media_check",
    "peak_bitrate",
    "peak_to_average",
    "quality_check",
    "resolution_rises",
    "segment_duration",
    "sequence_numbers",
    "subtitle_autoselect",
    "subtitle_language_name",
    "target_duration_present",
    "version_compat",
    "vod_endlist",
]

#: Apple HLS Authoring Spec: measured bitrates within this fraction of the declared ones.
BITRATE_TOLERANCE = 0.10
#: Apple: the peak bitrate SHOULD be no more than this multiple of the average.
MAX_PEAK_TO_AVERAGE = 2.0
#: Sane ratio between adjacent variants' BANDWIDTH (Apple suggests 1.5x to 2x apart).
MIN_STEP, MAX_STEP = 1.3, 2.5
#: One aspect ratio across the ladder, to this relative tolerance (854x480 vs 16:9 passes).
ASPECT_TOLERANCE = 0.02
#: Apple's recommended segment duration, and how far the mean may stray from it.
SEGMENT_TARGET, SEGMENT_TOLERANCE = 6.0, 0.5
#: HeapStream (FAQ): renditions from 360p to 2160p (the short side of the frame).
HEAPSTREAM_MIN_HEIGHT, HEAPSTREAM_MAX_HEIGHT = 360, 2160
#: HeapStream (FAQ): at most 30 frames per second.
HEAPSTREAM_MAX_FRAME_RATE = 30.0
_H264 = ("avc1", "avc3")

# ---------------------------------------------------------------------------- formatting


def _bps(value: float | None) -> str:
    if value is None:
        return ""
    return f"{round(value)}"


def _kbps(value: float) -> str:
    return f"{value / 1000:,.0f} kbit/s"


def _sec(value: float) -> str:
    return f"{value:.6g}"


# ---------------------------------------------------------------------------- RFC 8216


def target_duration_present(v: View) -> Iterator[Hit]:
    for p in v.playlists.values():
        if p.media.info.target_duration is None:
            yield Hit(
                p.subject,
                "the media playlist has no EXT-X-TARGETDURATION (a REQUIRED tag)",
                "absent",
                "present",
            )


def extinf_within_target(v: View) -> Iterator[Hit]:
    for p in v.playlists.values():
        target = p.media.info.target_duration
        if target is None:
            continue
        rounded = np.floor(p.media.durations + 0.5)  # nearest integer, halves up
        for index in np.flatnonzero(rounded > target).tolist():
            duration = float(p.media.durations[index])
            yield Hit(
                f"{p.subject}:{index}",
                f"segment {index} lasts {_sec(duration)} s, which rounds to "
                f"{int(rounded[index])} s: above EXT-X-TARGETDURATION {target}; raise the "
                "target duration or cut shorter segments",
                _sec(duration),
                f"<= {target}",
            )


def vod_endlist(v: View) -> Iterator[Hit]:
    for p in v.playlists.values():
        if p.media.info.playlist_type == "VOD" and not p.media.info.endlist:
            yield Hit(
                p.subject,
                "EXT-X-PLAYLIST-TYPE is VOD but the playlist has no EXT-X-ENDLIST: players "
                "will treat it as live and keep reloading it",
                "no EXT-X-ENDLIST",
                "EXT-X-ENDLIST",
            )


def bandwidth_present(v: View) -> Iterator[Hit]:
    for var in v.variants:
        if var.bandwidth is None or var.bandwidth <= 0:
            yield Hit(
                var.subject,
                f"BANDWIDTH is {var.bandwidth if var.bandwidth is not None else 'absent'}; "
                "every variant needs its peak segment bit rate in bits/s",
                str(var.bandwidth) if var.bandwidth is not None else "absent",
                "> 0",
            )


def _required_version(p: PlaylistFacts) -> tuple[int, str]:
    """(lowest EXT-X-VERSION the playlist's features need, the feature that needs it)."""
    need, why = 1, ""

    def bump(version: int, feature: str) -> None:
        nonlocal need, why
        if version > need:
            need, why = version, feature

    if (p.media.durations != np.floor(p.media.durations)).any():
        bump(3, "floating-point EXTINF durations")
    if p.media.byteranges:
        bump(4, "EXT-X-BYTERANGE")
    if p.media.info.i_frames_only:
        bump(4, "EXT-X-I-FRAMES-ONLY")
    if p.media.key_iv:
        bump(2, "the IV attribute of EXT-X-KEY")
    if p.media.key_format:
        bump(5, "the KEYFORMAT/KEYFORMATVERSIONS attributes of EXT-X-KEY")
    if "EXT-X-MAP" in p.media.info.tags:
        if p.media.info.i_frames_only:
            bump(5, "EXT-X-MAP in an I-frames-only playlist")
        else:
            bump(6, "EXT-X-MAP")
    return need, why


def version_compat(v: View) -> Iterator[Hit]:
    for p in v.playlists.values():
        need, why = _required_version(p)
        declared = p.media.info.version or 1
        if declared < need:
            yield Hit(
                p.subject,
                f"EXT-X-VERSION is {declared}{'' if p.media.info.version else ' (absent)'} but the "
                f"playlist uses {why}, which needs version {need} or higher",
                str(declared),
                f">= {need}",
            )
    services = [s for s in v.instream_ids if s.upper().startswith("SERVICE")]
    if services:
        declared = v.master.version or 1
        if declared < 7:
            yield Hit(
                "master",
                f"EXT-X-VERSION is {declared} but INSTREAM-ID uses SERVICE values "
                f"({', '.join(services)}), which need version 7 or higher",
                str(declared),
                ">= 7",
            )


def sequence_numbers(v: View) -> Iterator[Hit]:
    for p in v.playlists.values():
        for name, value in (
            ("EXT-X-MEDIA-SEQUENCE", p.media.info.media_sequence),
            ("EXT-X-DISCONTINUITY-SEQUENCE", p.media.info.discontinuity_sequence),
        ):
            if value < 0:
                yield Hit(
                    p.subject,
                    f"{name} is {value}; it must be a non-negative decimal integer",
                    str(value),
                    ">= 0",
                )


def discontinuities_aligned(v: View) -> Iterator[Hit]:
    facts = {
        p.subject: (p.media.info.discontinuity_sequence, p.media.discontinuities)
        for p in v.playlists.values()
    }
    if len(set(facts.values())) <= 1:
        return
    usual, _ = Counter(facts.values()).most_common(1)[0]
    for subject, (seq, count) in facts.items():
        if (seq, count) != usual:
            yield Hit(
                subject,
                f"EXT-X-DISCONTINUITY-SEQUENCE {seq} with {count} EXT-X-DISCONTINUITY tag(s), "
                f"while the other variants have {usual[0]} with {usual[1]}: matching content "
                "in variant streams must have matching discontinuity sequence numbers",
                f"{seq}/{count}",
                f"{usual[0]}/{usual[1]}",
            )


def media_available(v: View) -> Iterator[Hit]:
    for var in v.variants:
        if var.key is None or var.key not in v.playlists:
            yield Hit(
                var.subject,
                "its media playlist was not available, so the playlist rules did not check it "
                "(give ladder_from_text its text in media=)",
                "absent",
                "media playlist",
            )


# ---------------------------------------------------------------------------- Apple


def attribute_present(
    attribute: str, getter: Callable[[VariantFacts], Any], video_only: bool
) -> Callable[[View], Iterator[Hit]]:
    def check(v: View) -> Iterator[Hit]:
        for var in v.variants:
            if video_only and not var.is_video:
                continue
            if getter(var) is None:
                yield Hit(
                    var.subject,
                    f"#EXT-X-STREAM-INF has no {attribute} attribute",
                    "absent",
                    "present",
                )

    check.__name__ = f"_{attribute.lower().replace('-', '_')}_present"
    return check


def independent_segments(v: View) -> Iterator[Hit]:
    if v.master.independent_segments:
        return
    if v.playlists and all(p.media.info.independent_segments for p in v.playlists.values()):
        return
    yield Hit(
        "master",
        "EXT-X-INDEPENDENT-SEGMENTS is in neither the master playlist nor every media "
        "playlist; add it to the master when every segment starts with a key frame",
        "absent",
        "present",
    )


def ladders(v: View) -> list[list[VariantFacts]]:
    """The video ladders whose neighbours the ladder rules compare, each sorted by
    BANDWIDTH (positive BANDWIDTH only): like with like.

    - one ladder per content-steering pathway and per VIDEO-RANGE
      (:attr:`VariantFacts.ladder`), and per codec family where they mix codecs;
    - within that, one per AUDIO group: a video rendition listed once per audio group
      (the same URI with AAC, AC-3 and E-AC-3) is compared with the other renditions of
      its own group, never with its twins;
    - a URI listed twice in one group counts once (its first, lowest-BANDWIDTH listing).
    """
    video = [var for var in v.variants if var.is_video and var.bandwidth and var.bandwidth > 0]
    by_ladder: dict[tuple[str, str], list[VariantFacts]] = {}
    for var in video:
        by_ladder.setdefault(var.ladder, []).append(var)
    out: list[list[VariantFacts]] = []
    for members in by_ladder.values():
        mixed = len({m.family for m in members if m.family}) > 1
        groups: dict[tuple[str, str], list[VariantFacts]] = {}
        for m in members:
            groups.setdefault((m.family if mixed else "", m.audio_group or ""), []).append(m)
        for group in groups.values():
            seen: set[str | None] = set()
            rungs = []
            for m in sorted(group, key=lambda x: (x.bandwidth, x.order)):
                if m.uri is None or m.uri not in seen:
                    seen.add(m.uri)
                    rungs.append(m)
            out.append(rungs)
    return out


def _pairs(v: View) -> Iterator[tuple[VariantFacts, VariantFacts]]:
    """Adjacent rungs (low, high) of every ladder; a pair of video URIs already seen in
    another audio group is not compared again."""
    seen: set[tuple[str | None, str | None]] = set()
    for rungs in ladders(v):
        for low, high in itertools.pairwise(rungs):
            uris = (low.uri, high.uri)
            if None not in uris and uris in seen:
                continue
            seen.add(uris)
            yield low, high


def beyond(value: float, limit: float, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals, or as many more as it takes to read on the same
    side of ``limit`` as it is: 1.2966 against a 1.3 minimum reads "1.297", not "1.30"."""
    for places in range(digits, digits + 8):
        text = f"{value:.{places}f}"
        if float(text) != limit and (float(text) < limit) == (value < limit):
            return text
    return repr(value)


def _percent_off(off: float, tolerance: float) -> str:
    """``off`` (a fraction) as a signed percentage that reads beyond ``tolerance``."""
    return f"{'+' if off >= 0 else '-'}{beyond(abs(off) * 100, tolerance * 100, 0)}%"


def bitrate_step(v: View) -> Iterator[Hit]:
    for low, high in _pairs(v):
        ratio = high.bandwidth / low.bandwidth  # type: ignore[operator]
        if ratio < MIN_STEP or ratio > MAX_STEP:
            limit = MIN_STEP if ratio < MIN_STEP else MAX_STEP
            shown = beyond(ratio, limit)
            how = "too close to" if ratio < MIN_STEP else "too far above"
            yield Hit(
                high.subject,
                f"BANDWIDTH {_kbps(high.bandwidth)} is {shown}x that of "  # type: ignore[arg-type]
                f"{low.subject} ({_kbps(low.bandwidth)}): {how} its neighbour; adjacent "  # type: ignore[arg-type]
                f"variants should step by {MIN_STEP}x to {MAX_STEP}x",
                shown,
                f"{MIN_STEP}-{MAX_STEP}",
            )


def resolution_rises(v: View) -> Iterator[Hit]:
    reported: set[tuple[str | None, str | None]] = set()
    for rungs in ladders(v):
        best: VariantFacts | None = None
        for var in rungs:
            if var.pixels is None:
                continue
            if best is not None and var.pixels < best.pixels:  # type: ignore[operator]
                if (best.uri, var.uri) in reported:
                    continue  # the same two renditions, in another audio group
                reported.add((best.uri, var.uri))
                yield Hit(
                    var.subject,
                    f"{var.width}x{var.height} at {_kbps(var.bandwidth)} is smaller than "  # type: ignore[arg-type]
                    f"{best.subject} ({best.width}x{best.height}) at a lower bitrate "
                    f"({_kbps(best.bandwidth)}); resolution should rise with bitrate",  # type: ignore[arg-type]
                    f"{var.width}x{var.height}",
                    f">= {best.width}x{best.height}",
                )
            elif best is None or var.pixels > best.pixels:  # type: ignore[operator]
                best = var


def aspect_ratio(v: View) -> Iterator[Hit]:
    sized = [var for var in v.variants if var.is_video and var.pixels]
    if len(sized) < 2:
        return
    top = max(sized, key=lambda x: (x.pixels, -x.order))
    ref = top.width / top.height  # type: ignore[operator]
    seen: set[str | None] = set()
    for var in sized:
        if var.uri is not None and var.uri in seen:
            continue  # one video rendition listed once per audio group: judged once
        seen.add(var.uri)
        aspect = var.width / var.height  # type: ignore[operator]
        if abs(aspect / ref - 1) > ASPECT_TOLERANCE:
            yield Hit(
                var.subject,
                f"{var.width}x{var.height} has aspect ratio {aspect:.3f}, but the top "
                f"rendition {top.subject} ({top.width}x{top.height}) has {ref:.3f}: one "
                f"aspect ratio across the ladder (within {ASPECT_TOLERANCE:.0%})",
                f"{aspect:.3f}",
                f"{ref:.3f}",
            )


def segment_duration(v: View) -> Iterator[Hit]:
    for p in v.playlists.values():
        if len(p.media.durations) < 2:
            continue  # one segment: nothing to judge (it is the whole video)
        mean = float(p.media.durations[:-1].mean())  # the last segment may be short
        if abs(mean - SEGMENT_TARGET) > SEGMENT_TOLERANCE:
            yield Hit(
                p.subject,
                f"segments last {mean:.3g} s on average (target duration "
                f"{p.media.info.target_duration}); Apple recommends {SEGMENT_TARGET:g} s segments",
                f"{mean:.3g}",
                f"{SEGMENT_TARGET:g} ± {SEGMENT_TOLERANCE:g}",
            )


def iframe_playlists(v: View) -> Iterator[Hit]:
    if not v.iframe_count and any(var.is_video for var in v.variants):
        yield Hit(
            "master",
            "the master playlist has no EXT-X-I-FRAME-STREAM-INF: no I-frame playlists for "
            "trick play (fast forward, rewind, scrubbing thumbnails)",
            "0",
            ">= 1",
        )


def subtitle_language_name(v: View) -> Iterator[Hit]:
    for sub in v.subtitles:
        missing = [
            attr
            for attr, value in (("LANGUAGE", sub.language), ("NAME", sub.name))
            if not (value or "").strip()
        ]
        if missing:
            yield Hit(
                sub.subject,
                f"the subtitles rendition has no {' or '.join(missing)}: players cannot "
                "label it or match it to the viewer's language",
                "absent",
                ", ".join(missing),
            )


def subtitle_autoselect(v: View) -> Iterator[Hit]:
    for sub in v.subtitles:
        if not sub.autoselect:
            yield Hit(
                sub.subject,
                "the subtitles rendition is not AUTOSELECT=YES: players will not pick it "
                "for the viewer's language preferences",
                "NO",
                "YES",
            )


def measured_pairs(v: View) -> Iterator[tuple[VariantFacts, float, float]]:
    for var in v.variants:
        if var.key is not None and var.key in v.measured:
            peak, average = v.measured[var.key]
            yield var, peak, average


def peak_bitrate(v: View) -> Iterator[Hit]:
    for var, peak, _ in measured_pairs(v):
        if not var.bandwidth or var.bandwidth <= 0:
            continue
        off = peak / var.bandwidth - 1
        if abs(off) > BITRATE_TOLERANCE:
            yield Hit(
                var.subject,
                f"measured peak segment bitrate {_kbps(peak)} is "
                f"{_percent_off(off, BITRATE_TOLERANCE)} off BANDWIDTH "
                f"{_kbps(var.bandwidth)}; it must be within {BITRATE_TOLERANCE:.0%}",
                _bps(peak),
                f"{var.bandwidth} ± {BITRATE_TOLERANCE:.0%}",
            )


def average_bitrate(v: View) -> Iterator[Hit]:
    for var, _, average in measured_pairs(v):
        declared = var.average_bandwidth
        if not declared or declared <= 0:
            continue
        off = average / declared - 1
        if abs(off) > BITRATE_TOLERANCE:
            yield Hit(
                var.subject,
                f"measured average bitrate {_kbps(average)} is "
                f"{_percent_off(off, BITRATE_TOLERANCE)} off "
                f"AVERAGE-BANDWIDTH {_kbps(declared)}; it must be within "
                f"{BITRATE_TOLERANCE:.0%}",
                _bps(average),
                f"{declared} ± {BITRATE_TOLERANCE:.0%}",
            )


def peak_to_average(v: View) -> Iterator[Hit]:
    for var, peak, average in measured_pairs(v):
        if average > 0 and peak / average > MAX_PEAK_TO_AVERAGE:
            shown = beyond(peak / average, MAX_PEAK_TO_AVERAGE)
            yield Hit(
                var.subject,
                f"the peak segment bitrate {_kbps(peak)} is {shown}x the "
                f"average {_kbps(average)}; keep peaks within {MAX_PEAK_TO_AVERAGE:g}x the "
                "average (constrained VBR)",
                shown,
                f"<= {MAX_PEAK_TO_AVERAGE:g}",
            )


# ---------------------------------------------------------------------------- HeapStream


def heapstream_h264(v: View) -> Iterator[Hit]:
    for var in v.variants:
        if not var.video_codec:
            continue
        bad = [
            c.strip()
            for c in var.video_codec.split(",")
            if c.strip().split(".")[0].lower() not in _H264
        ]
        if bad:
            yield Hit(
                var.subject,
                f"video codec {', '.join(bad)} is not H.264 (avc1/avc3); HeapStream serves "
                "H.264 video",
                ", ".join(bad),
                "avc1 / avc3",
            )


def heapstream_resolution(v: View) -> Iterator[Hit]:
    for var in v.variants:
        if not var.is_video or not var.width or not var.height:
            continue
        short = min(var.width, var.height)
        if not HEAPSTREAM_MIN_HEIGHT <= short <= HEAPSTREAM_MAX_HEIGHT:
            yield Hit(
                var.subject,
                f"{var.width}x{var.height} is {short}p, outside HeapStream's "
                f"{HEAPSTREAM_MIN_HEIGHT}p-{HEAPSTREAM_MAX_HEIGHT}p ladder",
                f"{short}p",
                f"{HEAPSTREAM_MIN_HEIGHT}p-{HEAPSTREAM_MAX_HEIGHT}p",
            )


def heapstream_frame_rate(v: View) -> Iterator[Hit]:
    for var in v.variants:
        if var.frame_rate is not None and var.frame_rate > HEAPSTREAM_MAX_FRAME_RATE + 1e-6:
            yield Hit(
                var.subject,
                f"FRAME-RATE {var.frame_rate:g} is above HeapStream's limit of "
                f"{HEAPSTREAM_MAX_FRAME_RATE:g} fps",
                f"{var.frame_rate:g}",
                f"<= {HEAPSTREAM_MAX_FRAME_RATE:g}",
            )


# ---------------------------------------------------------------------------- media


def media_check(rule: MediaRule) -> Callable[[View], Iterator[Hit]]:
    """A media rule (:data:`hs_notebook.media_rules.MEDIA_RULES`) as a check over the view's
    probed segments (``View.media``; nothing to check without them)."""

    def check(v: View) -> Iterator[Hit]:
        if v.media is None:
            return
        for found in rule.check(v.media):
            yield Hit(found.subject, found.message, found.measured, found.expected)

    return check


# -------------------------------------------------------------------------- quality


def quality_check(rule: QualityRule) -> Callable[[View], Iterator[Hit]]:
    """A quality rule (:mod:`hs_notebook.quality_rules`) as a check over the view's scored
    renditions (the engine runs it only when the ladder was scored)."""

    def check(view: View) -> Iterator[Hit]:
        if view.quality is not None:
            for subject, message, measured, expected in rule.check(view.quality):
                yield Hit(subject, message, measured, expected)

    return check
