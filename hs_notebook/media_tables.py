"""The media of a ladder as tables: what each rendition declares next to what its segments
hold.  Pure: declared facts and :class:`~hs_notebook.probe.SegmentProbe` records in,
DataFrames out (the fetching is :mod:`hs_notebook.probe_fetch`'s).

- :class:`DeclaredRendition`: what the master and media playlists say about one rendition
  (the ladder fills it in; nothing here reads playlist text).
- :class:`ProbedSegment`: one segment's outcome (probed, failed to fetch or read, skipped).
- :class:`PlaylistFailure`: a rendition whose media playlist the probe had to fetch itself
  (an ``EXT-X-MEDIA TYPE=AUDIO`` rendition's) and could not fetch or read.
- :class:`ProbedLadder`: all of it for one ladder, plus WebVTT samples of its text tracks;
  the input of :func:`segment_table`, :func:`variant_overview` and the media rules
  (:mod:`hs_notebook.media_rules`).
- :func:`peak_bitrate`: the peak segment bit rate as RFC 8216bis 4.1 defines it.

Columns are documented once, in :data:`COLUMNS`.  Conventions: bitrates int bits/s,
durations float seconds, sizes int bytes, percentages float; missing values are ``<NA>``.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hs_notebook._columns import documents
from hs_notebook.errors import InvalidArgument
from hs_notebook.hls import peak_bitrate as hls_peak_bitrate
from hs_notebook.hls import peak_window
from hs_notebook.probe import SegmentProbe

__all__ = [
    "COLUMNS",
    "SEGMENT_STATUSES",
    "DeclaredRendition",
    "PlaylistFailure",
    "ProbedLadder",
    "ProbedSegment",
    "TextTrackSample",
    "peak_bitrate",
    "percent_diff",
    "segment_table",
    "variant_overview",
]

#: What can become of a segment: read, refused or unreadable, or skipped on purpose.
SEGMENT_STATUSES: dict[str, str] = {
    "probed": "fetched and read",
    "failed": "the fetch was refused or failed (403, 404, timeout) or the bytes could not "
    "be read (see error)",
    "encrypted": "skipped: the segment is encrypted (EXT-X-KEY METHOD other than NONE)",
}

COLUMNS: dict[str, dict[str, str]] = {
    "segments": {
        "rendition": "the rendition: its preset id, or its variant URI when it has none",
        "index": "0-based position of the segment in its media playlist",
        "status": "probed, failed or encrypted (SEGMENT_STATUSES)",
        "error": "why a segment failed or was skipped (tokens redacted), else <NA>",
        "http_status": "the HTTP status of a refused fetch (403, 404, ...), else <NA>",
        "declared_duration": "EXTINF, float seconds (<NA> when the playlist has no such index)",
        "duration": "measured media duration, float seconds",
        "duration_diff": "duration - declared_duration, float seconds",
        "start_pts": "presentation time of the first video frame (audio when no video), "
        "seconds on the media timeline",
        "audio_start_pts": "presentation time of the first audio frame, seconds",
        "keyframe_count": "number of video keyframes (Int64)",
        "max_keyframe_interval": "longest gap between keyframes, counting the segment end "
        "as the next one, seconds",
        "starts_with_idr": "the first video frame is an IDR picture (boolean)",
        "size": "bytes of the segment (Int64)",
        "video_bytes": "bytes of video payload (Int64)",
        "audio_bytes": "bytes of audio payload (Int64)",
        "bitrate": "size * 8 / declared_duration (measured duration when EXTINF is "
        "missing), int bits/s",
        "codecs": "RFC 6381 codec string read from the bitstream (video,audio)",
        "width": "coded width in pixels (Int64)",
        "height": "coded height in pixels (Int64)",
        "frame_rate": "frames per second from the timestamps, float",
        "container": "mpegts, mp4, ...",
    },
    "variants": {
        "rendition": "the rendition: its preset id, or its variant URI when it has none",
        "bandwidth": "declared BANDWIDTH, int bits/s",
        "peak_bitrate": "measured peak segment bit rate (RFC 8216bis 4.1, see peak_bitrate) "
        "over the probed segments, int bits/s",
        "peak_diff": "(peak_bitrate - bandwidth) / bandwidth * 100, percent",
        "average_bandwidth": "declared AVERAGE-BANDWIDTH, int bits/s",
        "average_bitrate": "sum of probed sizes * 8 / sum of their durations, int bits/s",
        "average_diff": "(average_bitrate - average_bandwidth) / average_bandwidth * 100, percent",
        "width": "measured width (the most common among the probed segments), pixels",
        "height": "measured height, pixels",
        "declared_resolution": "RESOLUTION as declared (WxH), or <NA>",
        "idr_interval": "longest keyframe interval over the probed segments, seconds",
        "frame_rate": "measured frame rate (median over the probed segments), float",
        "declared_frame_rate": "FRAME-RATE as declared, float",
        "codecs": "codec string read from the bitstream (the most common)",
        "declared_codecs": "CODECS as declared",
        "video_profile": "video profile read from the SPS (High, Main, ...)",
        "video_level": "video level read from the SPS (3.1, ...)",
        "segments": "number of segments in the media playlist (Int64; <NA> when the "
        "playlist could not be fetched)",
        "probed": "number of segments probed (Int64)",
        "failed": "number of segments that could not be fetched or read (Int64)",
        "processed": "percent of the playlist's duration that was probed (as hlsreport's "
        "'% processed')",
    },
}


def _documents(table: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return documents(COLUMNS, table)


# ------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class DeclaredRendition:
    """What the playlists declare about one rendition (the ladder builds these).

    ``extinf`` holds the EXTINF durations of the media playlist by segment index;
    ``audio_channels`` the channel count of the master's ``EXT-X-MEDIA TYPE=AUDIO``
    rendition this variant plays with, when one declares ``CHANNELS``;
    ``audio_playlists`` that the variant's ``AUDIO`` group has renditions with playlists
    of their own (``URI``): its ``CODECS`` then also names their audio formats (RFC 8216
    4.3.4.2), which the variant's own segments need not carry.
    """

    rendition: str
    bandwidth: int | None = None
    average_bandwidth: int | None = None
    codecs: str | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    target_duration: float | None = None
    extinf: tuple[float, ...] = ()
    audio_channels: int | None = None
    audio_playlists: bool = False

    @classmethod
    def from_row(
        cls,
        rendition: str,
        row: Mapping[str, Any],
        extinf: Iterable[float] = (),
        audio_channels: int | None = None,
        audio_playlists: bool = False,
    ) -> DeclaredRendition:
        """From a row of ``ladder.renditions`` (its ``bandwidth``, ``average_bandwidth``,
        ``codecs``, ``width``, ``height``, ``frame_rate`` and ``target_duration``; missing
        columns and ``<NA>`` become ``None``) and the playlist's EXTINF durations."""

        def get(name: str, kind: Callable[[Any], Any]) -> Any:
            value = row.get(name)
            if value is None or value is pd.NA or value != value:
                return None
            return kind(value)

        return cls(
            rendition=rendition,
            bandwidth=get("bandwidth", int),
            average_bandwidth=get("average_bandwidth", int),
            codecs=get("codecs", str),
            width=get("width", int),
            height=get("height", int),
            frame_rate=get("frame_rate", float),
            target_duration=get("target_duration", float),
            extinf=tuple(float(d) for d in extinf),
            audio_channels=audio_channels,
            audio_playlists=audio_playlists,
        )

    @property
    def video_codecs(self) -> list[str]:
        """The declared video codec strings (avc1, avc3, hvc1, hev1, dvh1, av01, vp09)."""
        return [c for c in _split(self.codecs) if c.split(".")[0].lower() in _VIDEO_FAMILIES]

    @property
    def audio_codecs(self) -> list[str]:
        """The declared audio codec strings (mp4a, ac-3, ec-3, Opus, fLaC)."""
        return [c for c in _split(self.codecs) if c.split(".")[0].lower() in _AUDIO_FAMILIES]


_VIDEO_FAMILIES = frozenset({"avc1", "avc3", "hvc1", "hev1", "dvh1", "dvhe", "av01", "vp09"})
_AUDIO_FAMILIES = frozenset({"mp4a", "ac-3", "ec-3", "opus", "flac", "ac-4"})


def _split(codecs: str | None) -> list[str]:
    return [c.strip() for c in (codecs or "").split(",") if c.strip()]


@dataclass(frozen=True)
class ProbedSegment:
    """One segment's outcome: ``status`` is a key of :data:`SEGMENT_STATUSES`; ``probe``
    is set when it is ``"probed"``; ``error`` says why otherwise (no tokens in it)."""

    rendition: str
    index: int
    status: str
    probe: SegmentProbe | None = None
    error: str = ""
    http_status: int | None = None

    def __post_init__(self) -> None:
        if self.status not in SEGMENT_STATUSES:
            raise InvalidArgument(
                f"status must be one of {sorted(SEGMENT_STATUSES)}, got {self.status!r}"
            )
        if (self.status == "probed") != (self.probe is not None):
            raise InvalidArgument("a probe record is given exactly when status is 'probed'")


@dataclass(frozen=True)
class PlaylistFailure:
    """A rendition's media playlist that could not be fetched or read (``error`` says why,
    no tokens in it; ``http_status`` of a refused fetch): its segments were not probed."""

    rendition: str
    error: str
    http_status: int | None = None


@dataclass(frozen=True)
class TextTrackSample:
    """The text of one WebVTT segment of a text track (normally its first), for the
    X-TIMESTAMP-MAP rule.  ``track`` is the text track id or its playlist URI."""

    track: str
    vtt: str
    index: int = 0


@dataclass(frozen=True)
class ProbedLadder:
    """A ladder's declared facts and its probed segments (and WebVTT samples, and the
    media playlists of AUDIO renditions that could not be fetched)."""

    renditions: tuple[DeclaredRendition, ...]
    segments: tuple[ProbedSegment, ...]
    text_tracks: tuple[TextTrackSample, ...] = field(default=())
    playlist_failures: tuple[PlaylistFailure, ...] = field(default=())

    def rendition(self, key: str) -> DeclaredRendition | None:
        return next((r for r in self.renditions if r.rendition == key), None)

    def probed(self, key: str | None = None) -> list[tuple[ProbedSegment, SegmentProbe]]:
        """``(segment, probe)`` of the probed segments (of one rendition), by index."""
        out = [
            (s, s.probe)
            for s in self.segments
            if s.probe is not None and (key is None or s.rendition == key)
        ]
        return sorted(out, key=lambda pair: (pair[0].rendition, pair[0].index))

    def segment_table(self) -> pd.DataFrame:
        return segment_table(self)

    def variant_overview(self) -> pd.DataFrame:
        return variant_overview(self)

    def __repr__(self) -> str:
        counts = Counter(s.status for s in self.segments)
        done = ", ".join(f"{n} {status}" for status, n in counts.items()) or "no segments"
        return f"<ProbedLadder {len(self.renditions)} renditions: {done}>"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + variant_overview(self).to_html(index=False)


# ------------------------------------------------------------------ bit rates


def peak_bitrate(
    sizes: Sequence[int], durations: Sequence[float], target_duration: float
) -> int | None:
    """The peak segment bit rate of one run of consecutive segments, int bits/s.

    :func:`hs_notebook.hls.peak_bitrate` (RFC 8216bis 4.1: the largest bit rate of any
    contiguous set of segments lasting between 0.5 x and 1.5 x ``target_duration`` + 0.5 s),
    except that a run too short to fill one window counts for nothing (``None``) instead
    of for its average: a probe samples a few segments, and a short last segment on its
    own must not raise a false peak.  ``None`` too without a target duration.  Pass each
    run of consecutive probed segments separately and take the largest.
    """
    if len(sizes) != len(durations):
        raise InvalidArgument(
            f"sizes and durations differ in length ({len(sizes)} vs {len(durations)})"
        )
    if not target_duration or target_duration <= 0:
        return None
    low, _ = peak_window(target_duration)
    if sum(durations) < low:
        return None
    peak = hls_peak_bitrate(durations, sizes, target_duration)
    return None if peak is None else round(peak)


def _runs(indices: Sequence[int]) -> list[list[int]]:
    """Positions of ``indices`` split into runs of consecutive values."""
    runs: list[list[int]] = []
    for pos, value in enumerate(indices):
        if runs and indices[runs[-1][-1]] == value - 1:
            runs[-1].append(pos)
        else:
            runs.append([pos])
    return runs


def percent_diff(measured: float | None, declared: float | None) -> float | None:
    """``(measured - declared) / declared * 100``, ``None`` when either is missing/0."""
    if measured is None or not declared:
        return None
    return (measured - declared) / declared * 100.0


# ------------------------------------------------------------------ tables


def _declared_duration(r: DeclaredRendition | None, index: int) -> float | None:
    if r is None or not 0 <= index < len(r.extinf):
        return None
    return float(r.extinf[index])


def _floats(values: Iterable[Any]) -> pd.arrays.FloatingArray:
    return pd.array(list(values), dtype="Float64")


def _ints(values: Iterable[Any]) -> pd.arrays.IntegerArray:
    return pd.array(list(values), dtype="Int64")


def _texts(values: Iterable[Any]) -> Any:
    return pd.array([v if v not in ("", None) else None for v in values], dtype="string")


@_documents("segments")
def segment_table(media: ProbedLadder) -> pd.DataFrame:
    """One row per segment (probed, failed or skipped), ordered by rendition and index."""
    order = {r.rendition: i for i, r in enumerate(media.renditions)}
    rows = sorted(media.segments, key=lambda s: (order.get(s.rendition, len(order)), s.index))
    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS["segments"]}
    for seg in rows:
        p = seg.probe
        declared = _declared_duration(media.rendition(seg.rendition), seg.index)
        duration = p.duration if p else None
        span = declared or duration
        cols["rendition"].append(seg.rendition)
        cols["index"].append(seg.index)
        cols["status"].append(seg.status)
        cols["error"].append(seg.error)
        cols["http_status"].append(seg.http_status)
        cols["declared_duration"].append(declared)
        cols["duration"].append(duration)
        cols["duration_diff"].append(
            duration - declared if duration is not None and declared is not None else None
        )
        cols["start_pts"].append(p.first_pts if p else None)
        cols["audio_start_pts"].append(p.audio_first_pts if p else None)
        cols["keyframe_count"].append(p.keyframe_count if p and p.video_codec else None)
        cols["max_keyframe_interval"].append(p.max_keyframe_interval if p else None)
        cols["starts_with_idr"].append(p.starts_with_idr if p else None)
        cols["size"].append(p.size if p else None)
        cols["video_bytes"].append(p.video_bytes if p else None)
        cols["audio_bytes"].append(p.audio_bytes if p else None)
        cols["bitrate"].append(round(p.size * 8 / span) if p and span else None)
        cols["codecs"].append(p.codecs if p else None)
        cols["width"].append(p.width if p else None)
        cols["height"].append(p.height if p else None)
        cols["frame_rate"].append(p.frame_rate if p else None)
        cols["container"].append(p.container if p else None)
    kinds = {
        "rendition": _texts,
        "index": _ints,
        "status": _texts,
        "error": _texts,
        "http_status": _ints,
        "keyframe_count": _ints,
        "starts_with_idr": lambda v: pd.array(list(v), dtype="boolean"),
        "size": _ints,
        "video_bytes": _ints,
        "audio_bytes": _ints,
        "bitrate": _ints,
        "codecs": _texts,
        "width": _ints,
        "height": _ints,
        "container": _texts,
    }
    return pd.DataFrame({name: kinds.get(name, _floats)(values) for name, values in cols.items()})


def _most_common(values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    return Counter(present).most_common(1)[0][0] if present else None


def _rendition_peak(r: DeclaredRendition, pairs: list[tuple[ProbedSegment, SegmentProbe]]) -> Any:
    indices = [s.index for s, _ in pairs]
    sizes = [p.size for _, p in pairs]
    durations = [_declared_duration(r, s.index) or p.duration or 0.0 for s, p in pairs]
    target = r.target_duration or (max(r.extinf) if r.extinf else None)
    peaks = [
        peak_bitrate([sizes[i] for i in run], [durations[i] for i in run], target or 0)
        for run in _runs(indices)
    ]
    found = [p for p in peaks if p is not None]
    return max(found) if found else None


@_documents("variants")
def variant_overview(media: ProbedLadder) -> pd.DataFrame:
    """One row per rendition, like hlsreport's "variant overview": measured against
    declared bit rates, resolution, IDR interval, frame rate, codec, profile and level.
    An AUDIO rendition (``audio:<GROUP-ID>:<NAME>``) declares no BANDWIDTH, RESOLUTION or
    FRAME-RATE: those columns and the bit-rate diffs are ``<NA>`` on its row."""
    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS["variants"]}
    unread = {f.rendition for f in media.playlist_failures}
    for r in media.renditions:
        pairs = media.probed(r.rendition)
        probes = [p for _, p in pairs]
        size = sum(p.size for p in probes)
        seconds = sum(_declared_duration(r, s.index) or p.duration or 0.0 for s, p in pairs)
        average = round(size * 8 / seconds) if seconds else None
        peak = _rendition_peak(r, pairs)
        intervals = [p.max_keyframe_interval for p in probes if p.max_keyframe_interval]
        rates = [p.frame_rate for p in probes if p.frame_rate]
        total = sum(r.extinf)
        failed = sum(
            1 for s in media.segments if s.rendition == r.rendition and s.status != "probed"
        )
        cols["rendition"].append(r.rendition)
        cols["bandwidth"].append(r.bandwidth)
        cols["peak_bitrate"].append(peak)
        cols["peak_diff"].append(percent_diff(peak, r.bandwidth))
        cols["average_bandwidth"].append(r.average_bandwidth)
        cols["average_bitrate"].append(average)
        cols["average_diff"].append(percent_diff(average, r.average_bandwidth))
        cols["width"].append(_most_common(p.width for p in probes))
        cols["height"].append(_most_common(p.height for p in probes))
        cols["declared_resolution"].append(
            f"{r.width}x{r.height}" if r.width and r.height else None
        )
        cols["idr_interval"].append(max(intervals) if intervals else None)
        cols["frame_rate"].append(statistics.median(rates) if rates else None)
        cols["declared_frame_rate"].append(r.frame_rate)
        cols["codecs"].append(_most_common(p.codecs for p in probes))
        cols["declared_codecs"].append(r.codecs)
        cols["video_profile"].append(_most_common(p.video_profile for p in probes))
        cols["video_level"].append(_most_common(p.video_level for p in probes))
        cols["segments"].append(None if r.rendition in unread else len(r.extinf))
        cols["probed"].append(len(probes))
        cols["failed"].append(failed)
        cols["processed"].append(seconds / total * 100.0 if total else None)
    ints = {"bandwidth", "peak_bitrate", "average_bandwidth", "average_bitrate", "width"}
    ints |= {"height", "segments", "probed", "failed"}
    texts = {"rendition", "declared_resolution", "codecs", "declared_codecs"}
    texts |= {"video_profile", "video_level"}
    return pd.DataFrame(
        {
            name: (_ints if name in ints else _texts if name in texts else _floats)(values)
            for name, values in cols.items()
        }
    )
