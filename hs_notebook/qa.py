"""Ladder QA: check a :class:`~hs_notebook.ladder.Ladder` against RFC 8216, Apple's HLS
Authoring Specification and HeapStream's own limits.

>>> findings = qa(inspect("video-id", key, project_id=12))         # doctest: +SKIP
>>> findings                   # renders in a notebook: "1 error, 2 warnings, 21 rules passed"
>>> findings.table             # one row per finding (columns in COLUMNS)

Every rule lives in ONE table, :data:`RULES` (id, severity, source, what it checks); each
is a small function over the ladder's tables (:mod:`hs_notebook.hls` parses, the ladder
fetches: this module never parses playlist text itself, nor makes HTTP requests of its own).

Measured rules (``peak_bitrate``, ``average_bitrate``, ``peak_to_average``) need the real
segment sizes: :func:`qa` asks the ladder to measure them
(:meth:`~hs_notebook.ladder.Ladder.measure_segment_sizes`: one HEAD per segment, a few at a
time), or takes them ready-made from ``sizes=``.  With ``measure=False``, or on a ladder
built from text (:func:`~hs_notebook.ladder.ladder_from_text`, which has no origin), they
are skipped: each skipped rule is listed in :attr:`Findings.skipped` with the reason and
reported as an ``info`` finding, never silently passed.  The same happens when measuring
fails (a segment refused, an origin down after the retries): one failed request costs the
measured rules, never the findings of the others.

Plots of a QA report (findings per rule, declared vs measured bitrate from
:func:`bitrate_table`) live in :mod:`hs_notebook.plots`.

Conventions: bitrates are int bits/s, durations float seconds, sizes int bytes.  The
``measured`` and ``expected`` columns are text (values may be numbers, versions or codec
strings), so tables of findings from many videos stay one dtype and save to Parquet/CSV.
"""

from __future__ import annotations

import html
import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from hs_notebook.client import AsyncClient, redact
from hs_notebook.errors import HeapStreamError, InvalidArgument
from hs_notebook.hls import (
    MasterPlaylistInfo,
    MediaPlaylistInfo,
    master_playlist_info,
    media_playlist_info,
    parse_media,
)

__all__ = [
    "BITRATE_COLUMNS",
    "COLUMNS",
    "HEAPSTREAM_MAX_FRAME_RATE",
    "HEAPSTREAM_MAX_HEIGHT",
    "HEAPSTREAM_MIN_HEIGHT",
    "RULES",
    "SEVERITIES",
    "Findings",
    "Rule",
    "RuleTable",
    "bitrate_table",
    "qa",
    "qa_async",
]

#: Severities, most severe first.
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}

#: Columns of :attr:`Findings.table`.
COLUMNS: dict[str, str] = {
    "rule": "the rule id (a key of RULES)",
    "severity": "error, warning or info",
    "subject": 'what the finding is about: "master", a preset id (or variant URI when the '
    'variant has no preset id), a text track id, or "<preset>:<segment index>"',
    "message": "what is wrong, in a sentence a person can act on",
    "measured": "the value found, as text (empty when not applicable)",
    "expected": "the value or range the rule wants, as text (empty when not applicable)",
}

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

_MEASURE_SKIPPED = (
    "measure=False: segment sizes were not measured; run qa(ladder) (measure=True) or pass "
    "sizes=ladder.measure_segment_sizes() to check it"
)
_OFFLINE = (
    "the ladder was built from text (ladder_from_text) and has no origin to measure segment "
    "sizes from; pass sizes= (a table with preset_id, duration and size) to check it"
)


# ---------------------------------------------------------------------------- the view


@dataclass(frozen=True)
class _Hit:
    """One problem a rule found (the rule and severity are added by :func:`_evaluate`)."""

    subject: str
    message: str
    measured: str = ""
    expected: str = ""


@dataclass
class _Playlist:
    """One variant's media playlist: its key in the ladder, facts and segments."""

    key: str
    subject: str
    text: str
    info: MediaPlaylistInfo
    durations: np.ndarray  # EXTINF durations, float seconds
    byteranges: bool  # some segment has EXT-X-BYTERANGE
    discontinuities: int  # number of EXT-X-DISCONTINUITY tags


@dataclass
class _Variant:
    """One ``#EXT-X-STREAM-INF`` row, with plain Python values (``None`` for missing)."""

    order: int
    key: str | None
    subject: str
    bandwidth: int | None
    average_bandwidth: int | None
    width: int | None
    height: int | None
    frame_rate: float | None
    codecs: str | None
    video_codec: str | None

    @property
    def is_video(self) -> bool:
        """A video variant: CODECS names a video codec, or CODECS is absent (assume video)."""
        return self.video_codec is not None or self.codecs is None

    @property
    def family(self) -> str:
        """The video codec family (``avc1``, ``hvc1``, ...) used to group ladders."""
        if not self.video_codec:
            return ""
        return self.video_codec.split(",")[0].strip().split(".")[0].lower()

    @property
    def pixels(self) -> int | None:
        return self.width * self.height if self.width and self.height else None


@dataclass
class _Subtitle:
    """One ``#EXT-X-MEDIA TYPE=SUBTITLES`` rendition."""

    subject: str
    language: str | None
    name: str | None
    autoselect: bool


@dataclass
class _View:
    """What the rules look at, built once per :func:`qa` call."""

    master: MasterPlaylistInfo
    variants: list[_Variant]
    playlists: dict[str, _Playlist]
    subtitles: list[_Subtitle]
    iframe_count: int
    instream_ids: list[str]
    measured: dict[str, tuple[float, float]]  # key -> (peak, average) bits/s


def _value(x: Any) -> Any:
    """``None`` for pandas/NumPy missing values, plain Python scalars otherwise."""
    if x is None or x is pd.NA:
        return None
    if isinstance(x, float) and math.isnan(x):
        return None
    if hasattr(x, "item"):
        return x.item()
    return x


def _subject_of(key: str | None, order: int) -> str:
    if key is None:
        return f"variant {order}"
    return redact(key) if "://" in key else key


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    """A column as plain Python values (``None`` when missing), or all ``None``."""
    if name not in frame.columns:
        return [None] * len(frame)
    return [_value(x) for x in frame[name].tolist()]


def _variants(renditions: pd.DataFrame) -> list[_Variant]:
    cols = {
        name: _column(renditions, name)
        for name in (
            "order",
            "preset_id",
            "uri",
            "bandwidth",
            "average_bandwidth",
            "width",
            "height",
            "frame_rate",
            "codecs",
            "video_codec",
        )
    }
    return _variants_from(cols, len(renditions))


def _subtitle_rows(tracks: pd.DataFrame) -> list[_Subtitle]:
    if tracks.empty:
        return []
    out = []
    for order, kind, ident, language, name, autoselect in zip(
        _column(tracks, "order"),
        _column(tracks, "type"),
        _column(tracks, "text_track_id"),
        _column(tracks, "language"),
        _column(tracks, "name"),
        _column(tracks, "autoselect"),
        strict=True,
    ):
        if str(kind or "").upper() != "SUBTITLES":
            continue
        subject = str(ident or name or f"subtitles {order}")
        out.append(_Subtitle(subject, language, name, bool(autoselect)))
    return out


def _playlist_info(attrs: Mapping[str, Any], text: str) -> MediaPlaylistInfo:
    """The facts the ladder already parsed (``segments.attrs``), else parse them."""
    try:
        return MediaPlaylistInfo(**{f: attrs[f] for f in _INFO_FIELDS})
    except (KeyError, TypeError):
        return media_playlist_info(text)


_INFO_FIELDS = tuple(f.name for f in fields(MediaPlaylistInfo))


def _check_ladder(ladder: Any) -> None:
    needed = ("master_text", "media_texts", "renditions", "text_tracks", "iframes", "segments")
    # looked up on the class first: a Ladder builds its tables on first access
    kind = type(ladder)
    missing = [name for name in needed if not (hasattr(kind, name) or hasattr(ladder, name))]
    if missing:
        raise InvalidArgument(
            f"qa() needs a Ladder (from inspect(), inspect_url() or ladder_from_text()), got "
            f"{type(ladder).__name__} without {', '.join(missing)}"
        )


def _variants_from(cols: Mapping[str, list[Any]], n: int) -> list[_Variant]:
    """:func:`_variants` from plain columns (``None`` for missing values)."""
    out: list[_Variant] = []
    for i in range(n):
        order = cols["order"][i]
        order = int(order) if order is not None else i
        preset, uri = cols["preset_id"][i], cols["uri"][i]
        key = str(preset) if preset is not None else (str(uri) if uri is not None else None)
        fr = cols["frame_rate"][i]
        out.append(
            _Variant(
                order=order,
                key=key,
                subject=_subject_of(key, order),
                bandwidth=cols["bandwidth"][i],
                average_bandwidth=cols["average_bandwidth"][i],
                width=cols["width"][i],
                height=cols["height"][i],
                frame_rate=float(fr) if fr is not None else None,
                codecs=cols["codecs"][i],
                video_codec=cols["video_codec"][i],
            )
        )
    return out


def _subtitles_from(cols: Mapping[str, list[Any]]) -> list[_Subtitle]:
    """:func:`_subtitle_rows` from plain columns."""
    out = []
    for order, kind, ident, language, name, autoselect in zip(
        cols["order"],
        cols["type"],
        cols["text_track_id"],
        cols["language"],
        cols["name"],
        cols["autoselect"],
        strict=True,
    ):
        if str(kind or "").upper() != "SUBTITLES":
            continue
        subject = str(ident or name or f"subtitles {order}")
        out.append(_Subtitle(subject, language, name, bool(autoselect)))
    return out


def _plain_view(ladder: Any, facts: Any, sizes: pd.DataFrame | None) -> _View:
    """The view from a ladder's plain facts (``Ladder._qa_facts()``): the same values its
    tables are made from, without building or reading DataFrames."""
    cols = facts.renditions
    variants = _variants_from(
        {k: [_value(x) for x in v] for k, v in cols.items()}, len(cols["order"])
    )
    subjects = {v.key: v.subject for v in variants if v.key is not None}
    playlists: dict[str, _Playlist] = {}
    for key, text in ladder.media_texts.items():
        media = facts.playlists[key]
        playlists[key] = _Playlist(
            key=key,
            subject=subjects.get(key, _subject_of(key, 0)),
            text=text,
            info=media.info,
            durations=media.durations,
            byteranges=media.byteranges,
            discontinuities=media.discontinuities,
        )
    tracks = facts.text_tracks
    return _View(
        master=facts.master,
        variants=variants,
        playlists=playlists,
        subtitles=_subtitles_from(tracks),
        iframe_count=facts.iframe_count,
        instream_ids=[str(x) for x in tracks["instream_id"] if x is not None],
        measured=_measured_bitrates(sizes) if sizes is not None else {},
    )


def _build_view(ladder: Any, sizes: pd.DataFrame | None) -> _View:
    plain = getattr(ladder, "_qa_facts", None)
    facts = plain() if callable(plain) else None
    if facts is not None:
        return _plain_view(ladder, facts, sizes)
    variants = _variants(ladder.renditions)
    subjects = {v.key: v.subject for v in variants if v.key is not None}
    playlists: dict[str, _Playlist] = {}
    for key, text in ladder.media_texts.items():
        segments = ladder.segments(key)
        attrs, segments.attrs = segments.attrs, {}  # column access would deep-copy attrs
        playlists[key] = _Playlist(
            key=key,
            subject=subjects.get(key, _subject_of(key, 0)),
            text=text,
            info=_playlist_info(attrs, text),
            durations=segments["duration"].to_numpy(dtype=np.float64),
            byteranges=bool(segments["byterange_length"].notna().to_numpy().any()),
            discontinuities=int(segments["discontinuity"].to_numpy().sum()),
        )
    tracks = ladder.text_tracks
    return _View(
        master=master_playlist_info(ladder.master_text),
        variants=variants,
        playlists=playlists,
        subtitles=_subtitle_rows(tracks),
        iframe_count=len(ladder.iframes),
        instream_ids=[str(x) for x in _column(tracks, "instream_id") if x is not None],
        measured=_measured_bitrates(sizes) if sizes is not None else {},
    )


def _measured_bitrates(sizes: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """``{preset: (peak, average)}`` bits/s from a segment-sizes table.

    peak = max over segments of size*8/duration; average = sum(size)*8 / sum(duration)
    (segments of zero duration are left out of both).
    """
    if not isinstance(sizes, pd.DataFrame):
        raise InvalidArgument(
            f"sizes must be a DataFrame (ladder.measure_segment_sizes()), got "
            f"{type(sizes).__name__}"
        )
    missing = {"preset_id", "duration", "size"} - set(sizes.columns)
    if missing:
        raise InvalidArgument(
            f"sizes lacks the column(s) {sorted(missing)}; expected the table of "
            "ladder.measure_segment_sizes() (preset_id, duration, size)"
        )
    out: dict[str, tuple[float, float]] = {}
    frame = sizes[["preset_id", "duration", "size"]].dropna()
    frame = frame[frame["duration"].astype(float) > 0]
    for key, part in frame.groupby("preset_id", sort=False):
        size = part["size"].astype("float64").to_numpy()
        duration = part["duration"].astype("float64").to_numpy()
        peak = float((size * 8 / duration).max())
        average = float(size.sum() * 8 / duration.sum())
        out[str(key)] = (peak, average)
    return out


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


def _target_duration_present(v: _View) -> Iterator[_Hit]:
    for p in v.playlists.values():
        if p.info.target_duration is None:
            yield _Hit(
                p.subject,
                "the media playlist has no EXT-X-TARGETDURATION (a REQUIRED tag)",
                "absent",
                "present",
            )


def _extinf_within_target(v: _View) -> Iterator[_Hit]:
    for p in v.playlists.values():
        target = p.info.target_duration
        if target is None:
            continue
        rounded = np.floor(p.durations + 0.5)  # nearest integer, halves up
        for index in np.flatnonzero(rounded > target).tolist():
            duration = float(p.durations[index])
            yield _Hit(
                f"{p.subject}:{index}",
                f"segment {index} lasts {_sec(duration)} s, which rounds to "
                f"{int(rounded[index])} s: above EXT-X-TARGETDURATION {target}; raise the "
                "target duration or cut shorter segments",
                _sec(duration),
                f"<= {target}",
            )


def _vod_endlist(v: _View) -> Iterator[_Hit]:
    for p in v.playlists.values():
        if p.info.playlist_type == "VOD" and not p.info.endlist:
            yield _Hit(
                p.subject,
                "EXT-X-PLAYLIST-TYPE is VOD but the playlist has no EXT-X-ENDLIST: players "
                "will treat it as live and keep reloading it",
                "no EXT-X-ENDLIST",
                "EXT-X-ENDLIST",
            )


def _bandwidth_present(v: _View) -> Iterator[_Hit]:
    for var in v.variants:
        if var.bandwidth is None or var.bandwidth <= 0:
            yield _Hit(
                var.subject,
                f"BANDWIDTH is {var.bandwidth if var.bandwidth is not None else 'absent'}; "
                "every variant needs its peak segment bit rate in bits/s",
                str(var.bandwidth) if var.bandwidth is not None else "absent",
                "> 0",
            )


def _required_version(p: _Playlist) -> tuple[int, str]:
    """(lowest EXT-X-VERSION the playlist's features need, the feature that needs it)."""
    need, why = 1, ""

    def bump(version: int, feature: str) -> None:
        nonlocal need, why
        if version > need:
            need, why = version, feature

    if (p.durations != np.floor(p.durations)).any():
        bump(3, "floating-point EXTINF durations")
    if p.byteranges:
        bump(4, "EXT-X-BYTERANGE")
    if p.info.i_frames_only:
        bump(4, "EXT-X-I-FRAMES-ONLY")
    if "EXT-X-KEY" in p.info.tags:
        for key in parse_media(p.text).keys:
            if key is None:
                continue
            if key.iv:
                bump(2, "the IV attribute of EXT-X-KEY")
            if key.keyformat or key.keyformatversions:
                bump(5, "the KEYFORMAT/KEYFORMATVERSIONS attributes of EXT-X-KEY")
    if "EXT-X-MAP" in p.info.tags:
        if p.info.i_frames_only:
            bump(5, "EXT-X-MAP in an I-frames-only playlist")
        else:
            bump(6, "EXT-X-MAP")
    return need, why


def _version_compat(v: _View) -> Iterator[_Hit]:
    for p in v.playlists.values():
        need, why = _required_version(p)
        declared = p.info.version or 1
        if declared < need:
            yield _Hit(
                p.subject,
                f"EXT-X-VERSION is {declared}{'' if p.info.version else ' (absent)'} but the "
                f"playlist uses {why}, which needs version {need} or higher",
                str(declared),
                f">= {need}",
            )
    services = [s for s in v.instream_ids if s.upper().startswith("SERVICE")]
    if services:
        declared = v.master.version or 1
        if declared < 7:
            yield _Hit(
                "master",
                f"EXT-X-VERSION is {declared} but INSTREAM-ID uses SERVICE values "
                f"({', '.join(services)}), which need version 7 or higher",
                str(declared),
                ">= 7",
            )


def _sequence_numbers(v: _View) -> Iterator[_Hit]:
    for p in v.playlists.values():
        for name, value in (
            ("EXT-X-MEDIA-SEQUENCE", p.info.media_sequence),
            ("EXT-X-DISCONTINUITY-SEQUENCE", p.info.discontinuity_sequence),
        ):
            if value < 0:
                yield _Hit(
                    p.subject,
                    f"{name} is {value}; it must be a non-negative decimal integer",
                    str(value),
                    ">= 0",
                )


def _discontinuities_aligned(v: _View) -> Iterator[_Hit]:
    facts = {
        p.subject: (p.info.discontinuity_sequence, p.discontinuities) for p in v.playlists.values()
    }
    if len(set(facts.values())) <= 1:
        return
    usual, _ = Counter(facts.values()).most_common(1)[0]
    for subject, (seq, count) in facts.items():
        if (seq, count) != usual:
            yield _Hit(
                subject,
                f"EXT-X-DISCONTINUITY-SEQUENCE {seq} with {count} EXT-X-DISCONTINUITY tag(s), "
                f"while the other variants have {usual[0]} with {usual[1]}: matching content "
                "in variant streams must have matching discontinuity sequence numbers",
                f"{seq}/{count}",
                f"{usual[0]}/{usual[1]}",
            )


def _media_available(v: _View) -> Iterator[_Hit]:
    for var in v.variants:
        if var.key is None or var.key not in v.playlists:
            yield _Hit(
                var.subject,
                "its media playlist was not available, so the playlist rules did not check it "
                "(give ladder_from_text its text in media=)",
                "absent",
                "media playlist",
            )


# ---------------------------------------------------------------------------- Apple


def _attribute_present(
    attribute: str, getter: Callable[[_Variant], Any], video_only: bool
) -> Callable[[_View], Iterator[_Hit]]:
    def check(v: _View) -> Iterator[_Hit]:
        for var in v.variants:
            if video_only and not var.is_video:
                continue
            if getter(var) is None:
                yield _Hit(
                    var.subject,
                    f"#EXT-X-STREAM-INF has no {attribute} attribute",
                    "absent",
                    "present",
                )

    check.__name__ = f"_{attribute.lower().replace('-', '_')}_present"
    return check


def _independent_segments(v: _View) -> Iterator[_Hit]:
    if v.master.independent_segments:
        return
    if v.playlists and all(p.info.independent_segments for p in v.playlists.values()):
        return
    yield _Hit(
        "master",
        "EXT-X-INDEPENDENT-SEGMENTS is in neither the master playlist nor every media "
        "playlist; add it to the master when every segment starts with a key frame",
        "absent",
        "present",
    )


def _ladders(v: _View) -> dict[str, list[_Variant]]:
    """Video variants with a positive BANDWIDTH, sorted by it, grouped by codec family when
    the ladder mixes codecs (variants without CODECS join a single-codec ladder)."""
    video = [var for var in v.variants if var.is_video and var.bandwidth and var.bandwidth > 0]
    mixed = len({var.family for var in video if var.family}) > 1
    groups: dict[str, list[_Variant]] = {}
    for var in video:
        groups.setdefault(var.family if mixed else "", []).append(var)
    return {k: sorted(g, key=lambda x: (x.bandwidth, x.order)) for k, g in groups.items()}


def _bitrate_step(v: _View) -> Iterator[_Hit]:
    for group in _ladders(v).values():
        for low, high in itertools.pairwise(group):
            ratio = high.bandwidth / low.bandwidth  # type: ignore[operator]
            if ratio < MIN_STEP or ratio > MAX_STEP:
                how = "too close to" if ratio < MIN_STEP else "too far above"
                yield _Hit(
                    high.subject,
                    f"BANDWIDTH {_kbps(high.bandwidth)} is {ratio:.2f}x that of "  # type: ignore[arg-type]
                    f"{low.subject} ({_kbps(low.bandwidth)}): {how} its neighbour; adjacent "  # type: ignore[arg-type]
                    f"variants should step by {MIN_STEP}x to {MAX_STEP}x",
                    f"{ratio:.2f}",
                    f"{MIN_STEP}-{MAX_STEP}",
                )


def _resolution_rises(v: _View) -> Iterator[_Hit]:
    for group in _ladders(v).values():
        best: _Variant | None = None
        for var in group:
            if var.pixels is None:
                continue
            if best is not None and var.pixels < best.pixels:  # type: ignore[operator]
                yield _Hit(
                    var.subject,
                    f"{var.width}x{var.height} at {_kbps(var.bandwidth)} is smaller than "  # type: ignore[arg-type]
                    f"{best.subject} ({best.width}x{best.height}) at a lower bitrate "
                    f"({_kbps(best.bandwidth)}); resolution should rise with bitrate",  # type: ignore[arg-type]
                    f"{var.width}x{var.height}",
                    f">= {best.width}x{best.height}",
                )
            elif best is None or var.pixels > best.pixels:  # type: ignore[operator]
                best = var


def _aspect_ratio(v: _View) -> Iterator[_Hit]:
    sized = [var for var in v.variants if var.is_video and var.pixels]
    if len(sized) < 2:
        return
    top = max(sized, key=lambda x: (x.pixels, -x.order))
    ref = top.width / top.height  # type: ignore[operator]
    for var in sized:
        aspect = var.width / var.height  # type: ignore[operator]
        if abs(aspect / ref - 1) > ASPECT_TOLERANCE:
            yield _Hit(
                var.subject,
                f"{var.width}x{var.height} has aspect ratio {aspect:.3f}, but the top "
                f"rendition {top.subject} ({top.width}x{top.height}) has {ref:.3f}: one "
                f"aspect ratio across the ladder (within {ASPECT_TOLERANCE:.0%})",
                f"{aspect:.3f}",
                f"{ref:.3f}",
            )


def _segment_duration(v: _View) -> Iterator[_Hit]:
    for p in v.playlists.values():
        if len(p.durations) < 2:
            continue  # one segment: nothing to judge (it is the whole video)
        mean = float(p.durations[:-1].mean())  # the last segment may be short
        if abs(mean - SEGMENT_TARGET) > SEGMENT_TOLERANCE:
            yield _Hit(
                p.subject,
                f"segments last {mean:.3g} s on average (target duration "
                f"{p.info.target_duration}); Apple recommends {SEGMENT_TARGET:g} s segments",
                f"{mean:.3g}",
                f"{SEGMENT_TARGET:g} ± {SEGMENT_TOLERANCE:g}",
            )


def _iframe_playlists(v: _View) -> Iterator[_Hit]:
    if not v.iframe_count and any(var.is_video for var in v.variants):
        yield _Hit(
            "master",
            "the master playlist has no EXT-X-I-FRAME-STREAM-INF: no I-frame playlists for "
            "trick play (fast forward, rewind, scrubbing thumbnails)",
            "0",
            ">= 1",
        )


def _subtitle_language_name(v: _View) -> Iterator[_Hit]:
    for sub in v.subtitles:
        missing = [
            attr
            for attr, value in (("LANGUAGE", sub.language), ("NAME", sub.name))
            if not (value or "").strip()
        ]
        if missing:
            yield _Hit(
                sub.subject,
                f"the subtitles rendition has no {' or '.join(missing)}: players cannot "
                "label it or match it to the viewer's language",
                "absent",
                ", ".join(missing),
            )


def _subtitle_autoselect(v: _View) -> Iterator[_Hit]:
    for sub in v.subtitles:
        if not sub.autoselect:
            yield _Hit(
                sub.subject,
                "the subtitles rendition is not AUTOSELECT=YES: players will not pick it "
                "for the viewer's language preferences",
                "NO",
                "YES",
            )


def _measured_pairs(v: _View) -> Iterator[tuple[_Variant, float, float]]:
    for var in v.variants:
        if var.key is not None and var.key in v.measured:
            peak, average = v.measured[var.key]
            yield var, peak, average


def _peak_bitrate(v: _View) -> Iterator[_Hit]:
    for var, peak, _ in _measured_pairs(v):
        if not var.bandwidth or var.bandwidth <= 0:
            continue
        off = peak / var.bandwidth - 1
        if abs(off) > BITRATE_TOLERANCE:
            yield _Hit(
                var.subject,
                f"measured peak segment bitrate {_kbps(peak)} is {off:+.0%} off BANDWIDTH "
                f"{_kbps(var.bandwidth)}; it must be within {BITRATE_TOLERANCE:.0%}",
                _bps(peak),
                f"{var.bandwidth} ± {BITRATE_TOLERANCE:.0%}",
            )


def _average_bitrate(v: _View) -> Iterator[_Hit]:
    for var, _, average in _measured_pairs(v):
        declared = var.average_bandwidth
        if not declared or declared <= 0:
            continue
        off = average / declared - 1
        if abs(off) > BITRATE_TOLERANCE:
            yield _Hit(
                var.subject,
                f"measured average bitrate {_kbps(average)} is {off:+.0%} off "
                f"AVERAGE-BANDWIDTH {_kbps(declared)}; it must be within "
                f"{BITRATE_TOLERANCE:.0%}",
                _bps(average),
                f"{declared} ± {BITRATE_TOLERANCE:.0%}",
            )


def _peak_to_average(v: _View) -> Iterator[_Hit]:
    for var, peak, average in _measured_pairs(v):
        if average > 0 and peak / average > MAX_PEAK_TO_AVERAGE:
            yield _Hit(
                var.subject,
                f"the peak segment bitrate {_kbps(peak)} is {peak / average:.2f}x the "
                f"average {_kbps(average)}; keep peaks within {MAX_PEAK_TO_AVERAGE:g}x the "
                "average (constrained VBR)",
                f"{peak / average:.2f}",
                f"<= {MAX_PEAK_TO_AVERAGE:g}",
            )


# ---------------------------------------------------------------------------- HeapStream


def _heapstream_h264(v: _View) -> Iterator[_Hit]:
    for var in v.variants:
        if not var.video_codec:
            continue
        bad = [
            c.strip()
            for c in var.video_codec.split(",")
            if c.strip().split(".")[0].lower() not in _H264
        ]
        if bad:
            yield _Hit(
                var.subject,
                f"video codec {', '.join(bad)} is not H.264 (avc1/avc3); HeapStream serves "
                "H.264 video",
                ", ".join(bad),
                "avc1 / avc3",
            )


def _heapstream_resolution(v: _View) -> Iterator[_Hit]:
    for var in v.variants:
        if not var.is_video or not var.width or not var.height:
            continue
        short = min(var.width, var.height)
        if not HEAPSTREAM_MIN_HEIGHT <= short <= HEAPSTREAM_MAX_HEIGHT:
            yield _Hit(
                var.subject,
                f"{var.width}x{var.height} is {short}p, outside HeapStream's "
                f"{HEAPSTREAM_MIN_HEIGHT}p-{HEAPSTREAM_MAX_HEIGHT}p ladder",
                f"{short}p",
                f"{HEAPSTREAM_MIN_HEIGHT}p-{HEAPSTREAM_MAX_HEIGHT}p",
            )


def _heapstream_frame_rate(v: _View) -> Iterator[_Hit]:
    for var in v.variants:
        if var.frame_rate is not None and var.frame_rate > HEAPSTREAM_MAX_FRAME_RATE + 1e-6:
            yield _Hit(
                var.subject,
                f"FRAME-RATE {var.frame_rate:g} is above HeapStream's limit of "
                f"{HEAPSTREAM_MAX_FRAME_RATE:g} fps",
                f"{var.frame_rate:g}",
                f"<= {HEAPSTREAM_MAX_FRAME_RATE:g}",
            )


# ---------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Rule:
    """One QA rule: a row of :data:`RULES`."""

    id: str
    severity: str
    source: str
    checks: str
    check: Callable[[_View], Iterator[_Hit]]
    measured: bool = False  #: needs measured segment sizes

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
        """Columns ``id``, ``severity``, ``source``, ``checks``, ``measured``."""
        rows = [(r.id, r.severity, r.source, r.checks, r.measured) for r in self._rules.values()]
        return pd.DataFrame(rows, columns=["id", "severity", "source", "checks", "measured"])

    def __repr__(self) -> str:
        return f"<RuleTable of {len(self)} rules: {', '.join(self._rules)}>"

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


_RFC = "RFC 8216"
_APPLE = "Apple HLS Authoring Spec"
_HS = "HeapStream FAQ"

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
            _target_duration_present,
        ),
        Rule(
            "extinf_within_target",
            "error",
            f"{_RFC} 4.3.3.1",
            "every EXTINF duration, rounded to the nearest integer, is <= EXT-X-TARGETDURATION",
            _extinf_within_target,
        ),
        Rule(
            "vod_endlist",
            "error",
            f"{_RFC} 4.3.3.4, 4.3.3.5",
            "a playlist of EXT-X-PLAYLIST-TYPE VOD has EXT-X-ENDLIST",
            _vod_endlist,
        ),
        Rule(
            "bandwidth_present",
            "error",
            f"{_RFC} 4.3.4.2",
            "every EXT-X-STREAM-INF has a positive BANDWIDTH (the parser already refuses a "
            "variant without one)",
            _bandwidth_present,
        ),
        Rule(
            "version_compat",
            "error",
            f"{_RFC} 7",
            "EXT-X-VERSION is high enough for what is used: IV >= 2, non-integer EXTINF >= 3, "
            "EXT-X-BYTERANGE / EXT-X-I-FRAMES-ONLY >= 4, KEYFORMAT(VERSIONS) >= 5, EXT-X-MAP "
            ">= 6 (>= 5 in I-frames-only playlists), INSTREAM-ID SERVICEn >= 7 (master)",
            _version_compat,
        ),
        Rule(
            "sequence_numbers",
            "error",
            f"{_RFC} 4.3.3.2, 4.3.3.3",
            "EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE are non-negative",
            _sequence_numbers,
        ),
        Rule(
            "discontinuities_aligned",
            "error",
            f"{_RFC} 6.2.4",
            "every variant has the same EXT-X-DISCONTINUITY-SEQUENCE and the same number of "
            "EXT-X-DISCONTINUITY tags",
            _discontinuities_aligned,
        ),
        Rule(
            "media_available",
            "info",
            "hs_notebook",
            "every variant's media playlist was available, so the playlist rules checked it",
            _media_available,
        ),
        # --- Apple HLS Authoring Specification -------------------------------------------
        Rule(
            "codecs_present",
            "error",
            f"{_APPLE}: multivariant playlists",
            "every EXT-X-STREAM-INF has CODECS",
            _attribute_present("CODECS", lambda x: x.codecs, video_only=False),
        ),
        Rule(
            "resolution_present",
            "error",
            f"{_APPLE}: multivariant playlists",
            "every video EXT-X-STREAM-INF has RESOLUTION",
            _attribute_present("RESOLUTION", lambda x: x.width, video_only=True),
        ),
        Rule(
            "frame_rate_present",
            "error",
            f"{_APPLE}: multivariant playlists",
            "every video EXT-X-STREAM-INF has FRAME-RATE",
            _attribute_present("FRAME-RATE", lambda x: x.frame_rate, video_only=True),
        ),
        Rule(
            "average_bandwidth_present",
            "error",
            f"{_APPLE}: multivariant playlists",
            "every EXT-X-STREAM-INF has AVERAGE-BANDWIDTH",
            _attribute_present("AVERAGE-BANDWIDTH", lambda x: x.average_bandwidth, False),
        ),
        Rule(
            "independent_segments",
            "warning",
            f"{_APPLE}: playlists",
            "EXT-X-INDEPENDENT-SEGMENTS is in the master (or in every media) playlist",
            _independent_segments,
        ),
        Rule(
            "peak_bitrate",
            "error",
            f"{_APPLE}: bit rates (VOD)",
            "the measured peak segment bitrate (max of size*8/EXTINF) is within 10% of BANDWIDTH",
            _peak_bitrate,
            measured=True,
        ),
        Rule(
            "average_bitrate",
            "error",
            f"{_APPLE}: bit rates (VOD)",
            "the measured average bitrate (total size*8 / total duration) is within 10% of "
            "AVERAGE-BANDWIDTH",
            _average_bitrate,
            measured=True,
        ),
        Rule(
            "peak_to_average",
            "warning",
            f"{_APPLE}: bit rates (VOD)",
            "the measured peak bitrate is no more than 200% of the measured average",
            _peak_to_average,
            measured=True,
        ),
        Rule(
            "bitrate_step",
            "warning",
            f"{_APPLE}: video ladder",
            "adjacent variants (same codec, by BANDWIDTH) step by 1.3x to 2.5x",
            _bitrate_step,
        ),
        Rule(
            "resolution_rises",
            "warning",
            f"{_APPLE}: video ladder",
            "resolution never falls as BANDWIDTH rises (same codec)",
            _resolution_rises,
        ),
        Rule(
            "aspect_ratio",
            "warning",
            f"{_APPLE}: video ladder",
            "every video variant has the aspect ratio of the top one (within 2%)",
            _aspect_ratio,
        ),
        Rule(
            "segment_duration",
            "warning",
            f"{_APPLE}: media segmentation",
            "segments (all but the last) last 6 s on average (± 0.5 s)",
            _segment_duration,
        ),
        Rule(
            "iframe_playlists",
            "warning",
            f"{_APPLE}: trick play",
            "the master playlist offers I-frame playlists (EXT-X-I-FRAME-STREAM-INF)",
            _iframe_playlists,
        ),
        Rule(
            "subtitle_language_name",
            "error",
            f"{_APPLE}: subtitles",
            "every SUBTITLES rendition has LANGUAGE and NAME",
            _subtitle_language_name,
        ),
        Rule(
            "subtitle_autoselect",
            "warning",
            f"{_APPLE}: subtitles",
            "every SUBTITLES rendition is AUTOSELECT=YES",
            _subtitle_autoselect,
        ),
        # --- HeapStream ---------------------------------------------------------------
        Rule(
            "heapstream_h264",
            "error",
            f"{_HS}: formats",
            "video codecs are H.264 (avc1 / avc3)",
            _heapstream_h264,
        ),
        Rule(
            "heapstream_resolution",
            "error",
            f"{_HS}: renditions",
            "every video rendition is between 360p and 2160p (short side of the frame)",
            _heapstream_resolution,
        ),
        Rule(
            "heapstream_frame_rate",
            "error",
            f"{_HS}: formats",
            "FRAME-RATE is at most 30",
            _heapstream_frame_rate,
        ),
    )
)


# ---------------------------------------------------------------------------- findings


class Findings:
    """The result of :func:`qa`: a table of findings plus the rules that passed or were
    skipped.

    Attributes:
        table: one row per finding, columns :data:`COLUMNS`, ordered by severity, then by
            rule (as in :data:`RULES`), then as found.
        passed: ids of the rules that ran and found nothing.
        skipped: ``{rule id: why it did not run}`` (also reported as ``info`` findings).
    """

    def __init__(self, table: pd.DataFrame, passed: list[str], skipped: Mapping[str, str]) -> None:
        if list(table.columns) != list(COLUMNS):
            raise InvalidArgument(f"a findings table has the columns {list(COLUMNS)}")
        self.table = table
        self.passed = list(passed)
        self.skipped = dict(skipped)

    # counts ---------------------------------------------------------------------------
    @property
    def counts(self) -> dict[str, int]:
        """``{"error": n, "warning": n, "info": n}``."""
        found = Counter(self.table["severity"].tolist())
        return {s: int(found.get(s, 0)) for s in SEVERITIES}

    @property
    def errors(self) -> int:
        return self.counts["error"]

    @property
    def warnings(self) -> int:
        return self.counts["warning"]

    @property
    def infos(self) -> int:
        return self.counts["info"]

    @property
    def worst(self) -> str | None:
        """The most severe severity found, or ``None`` when there are no findings."""
        return next((s for s in SEVERITIES if self.counts[s]), None)

    @property
    def worst_rule(self) -> str | None:
        """The rule of the first most severe finding, or ``None``."""
        return None if self.table.empty else str(self.table["rule"].iloc[0])

    @property
    def ok(self) -> bool:
        """No errors (warnings and infos allowed)."""
        return self.errors == 0

    def at_least(self, severity: str = "error") -> pd.DataFrame:
        """The findings at ``severity`` or more severe (``"warning"`` gives errors too)."""
        rank = _threshold(severity)
        keep = self.table["severity"].map(_RANK).astype(int) <= rank
        return self.table[keep.to_numpy()]

    def fails(self, threshold: str = "error") -> bool:
        """True when a finding at ``threshold`` or more severe exists (for exit codes)."""
        return not self.at_least(threshold).empty

    def by_rule(self, rule_id: str) -> pd.DataFrame:
        """The findings of one rule."""
        if rule_id not in RULES:
            raise InvalidArgument(f"unknown rule {rule_id!r}; see RULES")
        return self.table[(self.table["rule"] == rule_id).to_numpy()]

    @property
    def summary(self) -> str:
        """``"2 errors, 1 warning, 14 rules passed"`` (plus ``", 3 skipped"``)."""
        c = self.counts
        parts = [_plural(c["error"], "error"), _plural(c["warning"], "warning")]
        if c["info"]:
            parts.append(_plural(c["info"], "info"))
        parts.append(f"{_plural(len(self.passed), 'rule')} passed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts)

    # conversions ----------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: counts, summary, findings, passed and skipped rules."""
        return {
            "summary": self.summary,
            "counts": self.counts,
            "findings": [
                {k: (None if v is pd.NA else v) for k, v in row.items()}
                for row in self.table.to_dict("records")
            ],
            "passed": self.passed,
            "skipped": self.skipped,
        }

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text (``kwargs`` go to ``json.dumps``)."""
        return json.dumps(self.to_dict(), **kwargs)

    # container face -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, column: str) -> pd.Series:
        return self.table[column]

    # display --------------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [f"<Findings: {self.summary}>"]
        for row in self.table.itertuples(index=False):
            lines.append(f"  {row.severity:<7} {row.rule:<26} {row.subject}: {row.message}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = _COLOURS[self.worst] if self.worst in ("error", "warning") else "#1a7f37"
        head = (
            f"<div style='font-weight:bold;color:{colour};margin-bottom:4px'>"
            f"{html.escape(self.summary)}</div>"
        )
        rows = []
        limit = 500
        for row in self.table.head(limit).itertuples(index=False):
            bg = _BACKGROUNDS.get(row.severity, "transparent")
            cells = "".join(
                f"<td style='text-align:left;vertical-align:top'>{html.escape(str(value))}</td>"
                for value in (
                    row.severity,
                    row.rule,
                    row.subject,
                    row.message,
                    row.measured,
                    row.expected,
                )
            )
            rows.append(f"<tr style='background:{bg};color:#1f2328'>{cells}</tr>")
        more = ""
        if len(self.table) > limit:
            more = f"<div><i>… {len(self.table) - limit} more (see .table)</i></div>"
        table = ""
        if rows:
            header = "".join(
                f"<th style='text-align:left'>{h}</th>"
                for h in ("severity", "rule", "subject", "message", "measured", "expected")
            )
            table = f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        passed = ""
        if self.passed:
            passed = (
                f"<details><summary>{_plural(len(self.passed), 'rule')} passed</summary>"
                f"<div>{html.escape(', '.join(self.passed))}</div></details>"
            )
        skipped = ""
        if self.skipped:
            items = "".join(
                f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                for k, v in self.skipped.items()
            )
            skipped = (
                f"<details><summary>{len(self.skipped)} skipped</summary><ul>{items}</ul></details>"
            )
        return f"<div class='hs-findings'>{head}{table}{more}{passed}{skipped}</div>"


_COLOURS = {"error": "#cf222e", "warning": "#9a6700", "info": "#0969da"}
_BACKGROUNDS = {"error": "#ffebe9", "warning": "#fff8c5", "info": "#ddf4ff"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _threshold(severity: str) -> int:
    if severity not in _RANK:
        raise InvalidArgument(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    return _RANK[severity]


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.array([], dtype="string") for c in COLUMNS})


# ---------------------------------------------------------------------------- plots

#: Columns of :func:`bitrate_table`: declared vs measured bitrates, one row per variant.
BITRATE_COLUMNS: dict[str, str] = {
    "rendition": "the variant's preset id (its redacted URI when it has none)",
    "height": "frame height in pixels (<NA> when RESOLUTION is absent)",
    "bandwidth": "declared BANDWIDTH, int bits/s",
    "average_bandwidth": "declared AVERAGE-BANDWIDTH, int bits/s (<NA> when absent)",
    "measured_peak": "measured peak: max over segments of size*8/EXTINF, int bits/s "
    "(<NA> when not measured)",
    "measured_average": "measured average: sum(size)*8 / sum(EXTINF), int bits/s "
    "(<NA> when not measured)",
    "peak_off": "measured_peak / bandwidth - 1, float (peak_bitrate wants it within ±0.10)",
    "average_off": "measured_average / average_bandwidth - 1, float (average_bitrate wants "
    "it within ±0.10)",
}


def bitrate_table(ladder: Any, sizes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Declared (``BANDWIDTH``, ``AVERAGE-BANDWIDTH``) vs measured (peak, average) bitrate
    per variant, ordered by ``BANDWIDTH``; columns :data:`BITRATE_COLUMNS`.

    ``sizes`` is the table of ``ladder.measure_segment_sizes()`` (or any table with
    ``preset_id``, ``duration`` and ``size``); without it the measured columns are
    ``<NA>``.  Pure: makes no requests.
    """
    _check_ladder(ladder)
    measured = _measured_bitrates(sizes) if sizes is not None else {}
    rows = sorted(
        (var for var in _variants(ladder.renditions) if var.bandwidth),
        key=lambda var: (var.bandwidth, var.order),
    )

    def off(value: float | None, declared: int | None) -> float | None:
        return value / declared - 1 if value is not None and declared else None

    peaks = [measured.get(var.key or "", (None, None))[0] for var in rows]
    averages = [measured.get(var.key or "", (None, None))[1] for var in rows]
    return pd.DataFrame(
        {
            "rendition": pd.array([var.subject for var in rows], dtype="string"),
            "height": pd.array([var.height for var in rows], dtype="Int64"),
            "bandwidth": pd.array([var.bandwidth for var in rows], dtype="Int64"),
            "average_bandwidth": pd.array([var.average_bandwidth for var in rows], dtype="Int64"),
            "measured_peak": pd.array(
                [round(p) if p is not None else None for p in peaks], dtype="Int64"
            ),
            "measured_average": pd.array(
                [round(a) if a is not None else None for a in averages], dtype="Int64"
            ),
            "peak_off": pd.array(
                [off(p, var.bandwidth) for p, var in zip(peaks, rows, strict=True)],
                dtype="Float64",
            ),
            "average_off": pd.array(
                [off(a, var.average_bandwidth) for a, var in zip(averages, rows, strict=True)],
                dtype="Float64",
            ),
        }
    )


def _unmeasured(view: _View) -> list[str]:
    """Subjects of the variants that have a media playlist but no measured sizes."""
    return [
        var.subject
        for var in view.variants
        if var.key is not None and var.key in view.playlists and var.key not in view.measured
    ]


def _evaluate(ladder: Any, sizes: pd.DataFrame | None, skip_reason: str | None) -> Findings:
    """Run every rule over the ladder; measured rules only when ``sizes`` is given (and then
    only over the variants it has sizes for: the others are reported as not checked)."""
    view = _build_view(ladder, sizes)
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
        rows.append((_RANK["info"], position, n, rule_id, "info", "master", message, "", ""))
        n += 1

    for position, rule in enumerate(RULES.values()):
        if rule.measured and sizes is None:
            reason = skip_reason or _MEASURE_SKIPPED
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
                    _RANK[rule.severity],
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
                col: pd.array([r[3 + i] for r in rows], dtype="string")
                for i, col in enumerate(COLUMNS)
            }
        )
    else:
        table = _empty_table()
    return Findings(table, passed, skipped)


def _fetchable(ladder: Any) -> bool:
    """Whether the ladder can fetch (False for ladder_from_text)."""
    return bool(getattr(ladder, "fetchable", True))


def _plan(ladder: Any, measure: bool, sizes: pd.DataFrame | None, concurrency: Any) -> str | None:
    """``None`` when the ladder should be measured, else why the measured rules skip
    (``""`` when ``sizes`` was given)."""
    _check_ladder(ladder)
    if not isinstance(measure, bool):
        raise InvalidArgument(f"measure must be True or False, got {measure!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidArgument(f"concurrency must be an int >= 1, got {concurrency!r}")
    if sizes is not None:
        return ""
    if not measure:
        return _MEASURE_SKIPPED
    if not _fetchable(ladder):
        return _OFFLINE
    if not ladder.media_texts:
        return "the ladder has no media playlists, so there are no segments to measure"
    return None


def _measure_failed(exc: HeapStreamError) -> str:
    """Why the measured rules did not run, from the error measuring raised (its message
    names the refused or failed URL with the token redacted)."""
    return f"measuring the segment sizes failed ({type(exc).__name__}: {exc})"


def qa(
    ladder: Any,
    *,
    measure: bool = True,
    sizes: pd.DataFrame | None = None,
    concurrency: int = 16,
) -> Findings:
    """Check a ladder against every rule of :data:`RULES`.

    Args:
        ladder: a :class:`~hs_notebook.ladder.Ladder` (``inspect``, ``inspect_url`` or
            ``ladder_from_text``).
        measure: measure the real segment sizes (one HEAD per segment, ``concurrency`` at a
            time) for the bitrate rules; ``False`` for a fast pass with no requests (the
            measured rules are then skipped, and say so).
        sizes: segment sizes already measured (``ladder.measure_segment_sizes()``: columns
            ``preset_id``, ``duration``, ``size``); used instead of measuring.  Variants it
            has no segments of are reported as not checked by the measured rules.
        concurrency: most segment requests in flight while measuring.

    Returns:
        :class:`Findings`.  When measuring fails (a segment refused with
        :class:`~hs_notebook.errors.TokenRejected`, a :class:`~hs_notebook.errors.FetchError`
        after the retries, ...), every other rule still runs: the measured rules are listed
        in :attr:`Findings.skipped` with the reason and reported as ``info`` findings
        (``"peak_bitrate not checked: measuring the segment sizes failed (...)"``).

    Raises:
        InvalidArgument: ``ladder`` is not a Ladder, ``sizes`` is not a sizes table, or
            ``measure``/``concurrency`` have the wrong type.
    """
    reason = _plan(ladder, measure, sizes, concurrency)
    if reason is None:
        try:
            sizes = ladder.measure_segment_sizes(concurrency=concurrency)
        except InvalidArgument:
            raise
        except HeapStreamError as exc:
            reason = _measure_failed(exc)
    return _evaluate(ladder, sizes, reason or None)


async def qa_async(
    ladder: Any,
    *,
    measure: bool = True,
    sizes: pd.DataFrame | None = None,
    concurrency: int = 16,
    client: AsyncClient | None = None,
) -> Findings:
    """Async :func:`qa` (measures with ``ladder.measure_segment_sizes_async``, on ``client``
    when given, so an audit shares one connection pool across videos).  A failed
    measurement degrades exactly as in :func:`qa`."""
    reason = _plan(ladder, measure, sizes, concurrency)
    if reason is None:
        try:
            sizes = await ladder.measure_segment_sizes_async(concurrency=concurrency, client=client)
        except InvalidArgument:
            raise
        except HeapStreamError as exc:
            reason = _measure_failed(exc)
    return _evaluate(ladder, sizes, reason or None)
