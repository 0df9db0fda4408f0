"""Media playlists: :func:`read_media` parses and validates one into a
:class:`MediaPlaylist` of facts (no per-segment table); :func:`segments_table` lays its
segments out, one row each."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import m3u8
import numpy as np
import pandas as pd

from hs_notebook.errors import PlaylistError
from hs_notebook.hls._arrays import ints, resolve_all, resolver, strings, utc_times
from hs_notebook.hls._text import INT64_MAX, Scan, line_of, nth_extinf, parse_text
from hs_notebook.hls.columns import COLUMNS, documented
from hs_notebook.redaction import excerpt

__all__ = [
    "MediaPlaylist",
    "MediaPlaylistInfo",
    "media_playlist_info",
    "parse_media",
    "read_media",
    "segments_table",
]


@dataclass(frozen=True, slots=True)
class MediaPlaylistInfo:
    """Playlist-level facts of a media playlist (also put on ``segments_table(...).attrs``).

    Attributes:
        target_duration: EXT-X-TARGETDURATION in whole seconds, None when absent.
        playlist_type: EXT-X-PLAYLIST-TYPE upper-cased (``"VOD"``/``"EVENT"``), or None.
        endlist: the playlist has EXT-X-ENDLIST (no more segments will be added).
        version: EXT-X-VERSION, None when absent (which means version 1).
        media_sequence: EXT-X-MEDIA-SEQUENCE (0 when absent).
        discontinuity_sequence: EXT-X-DISCONTINUITY-SEQUENCE (0 when absent).
        independent_segments: the playlist has EXT-X-INDEPENDENT-SEGMENTS.
        i_frames_only: the playlist has EXT-X-I-FRAMES-ONLY.
        segment_count: number of media segments.
        total_duration: sum of the EXTINF durations, seconds.
        tags: the name (without ``#``) of every ``#EXT...`` tag present, e.g.
            ``"EXTINF"``, ``"EXT-X-MAP"``.
    """

    target_duration: int | None
    playlist_type: str | None
    endlist: bool
    version: int | None
    media_sequence: int
    discontinuity_sequence: int
    independent_segments: bool
    i_frames_only: bool
    segment_count: int
    total_duration: float
    tags: frozenset[str]


@dataclass(frozen=True, slots=True, eq=False)
class MediaPlaylist:
    """A media playlist, parsed and validated (:func:`read_media`; the same
    :class:`PlaylistError` as :func:`segments_table` for the same text), as facts without
    a per-segment table.

    Attributes:
        info: the playlist-level facts.
        durations: the EXTINF durations, float seconds, one per complete segment.
        byteranges: some segment has EXT-X-BYTERANGE.
        discontinuities: number of EXT-X-DISCONTINUITY tags before segments.
        key_iv: some EXT-X-KEY has an IV attribute.
        key_format: some EXT-X-KEY has KEYFORMAT or KEYFORMATVERSIONS.

    It keeps no reference to the ``m3u8`` model (which costs about a kilobyte per
    segment): use :func:`parse_media` for that.
    """

    info: MediaPlaylistInfo
    durations: np.ndarray
    byteranges: bool
    discontinuities: int
    key_iv: bool
    key_format: bool


def parse_media(text: str, base_uri: str | None = None) -> m3u8.M3U8:
    """Validate a media playlist and return its ``m3u8.M3U8`` model.

    Args:
        text: the playlist text (a UTF-8 BOM and CRLF line ends are fine).
        base_uri: the URL the playlist was fetched from; relative URIs resolve against it.

    Raises:
        PlaylistError: empty text, no ``#EXTM3U`` first line, a master playlist, an
            ``#EXTINF`` whose duration is not a number or that has no URI line, a
            non-integer ``#EXT-X-TARGETDURATION``, an unparseable attribute list, ...
    """
    return parse_text(text, base_uri, "media")[0]


def _complete_segments(playlist: m3u8.M3U8) -> list[Any]:
    """The media segments, without the in-progress one an LL-HLS playlist may end with
    (only #EXT-X-PART lines, no #EXTINF/URI yet): m3u8 lists it with ``uri=None``."""
    segments = playlist.segments
    if segments and segments[-1].uri is None:
        return [seg for seg in segments if seg.uri is not None]
    return segments


def _durations(segments: list[Any], scan: Scan) -> tuple[list[float], float]:
    """(EXTINF durations, their exact sum); a NaN, infinite or negative one is an error."""
    durations = [seg.duration for seg in segments]
    total = math.fsum(durations)
    if durations and not (math.isfinite(total) and min(durations) >= 0.0):
        bad = next(i for i, d in enumerate(durations) if not 0.0 <= d < math.inf)
        raise PlaylistError(
            f"{nth_extinf(scan.lines, bad)}the #EXTINF duration {durations[bad]!r} of segment "
            f"{bad} is not a finite, non-negative number of seconds"
        )
    return durations, total


def _media_info(
    playlist: m3u8.M3U8, scan: Scan, segment_count: int, total: float
) -> MediaPlaylistInfo:
    playlist_type = playlist.playlist_type
    return MediaPlaylistInfo(
        target_duration=playlist.target_duration,
        playlist_type=playlist_type.strip().upper() if playlist_type else None,
        endlist=bool(playlist.is_endlist),
        version=playlist.version,
        media_sequence=playlist.media_sequence or 0,
        discontinuity_sequence=playlist.discontinuity_sequence or 0,
        independent_segments=bool(playlist.is_independent_segments),
        i_frames_only=bool(playlist.is_i_frames_only),
        segment_count=segment_count,
        total_duration=total,
        tags=scan.tags,
    )


def media_playlist_info(media_text: str) -> MediaPlaylistInfo:
    """Playlist-level facts of a media playlist (target duration, type, tags, ...).

    Raises:
        PlaylistError: see :func:`parse_media`.
    """
    playlist, scan = parse_text(media_text, None, "media")
    segments = _complete_segments(playlist)
    return _media_info(playlist, scan, len(segments), _durations(segments, scan)[1])


def read_media(media_text: str, base_uri: str | None = None) -> MediaPlaylist:
    """Parse and validate a media playlist into a :class:`MediaPlaylist` (facts only: the
    cheap way to check many playlists; :func:`segments_table` for the segments).

    Raises:
        PlaylistError: see :func:`segments_table`.
    """
    playlist, scan = parse_text(media_text, base_uri, "media")
    segments = _complete_segments(playlist)
    durations, total = _durations(segments, scan)
    byteranges = False
    if "EXT-X-BYTERANGE" in scan.tags:
        lengths, _ = _byteranges(segments, scan)  # raises what segments_table raises
        byteranges = any(length is not None for length in lengths)
    keys = [key for key in playlist.keys if key is not None] if "EXT-X-KEY" in scan.tags else []
    return MediaPlaylist(
        info=_media_info(playlist, scan, len(segments), total),
        durations=np.asarray(durations, dtype=np.float64),
        byteranges=byteranges,
        discontinuities=sum(1 for seg in segments if seg.discontinuity),
        key_iv=any(key.iv for key in keys),
        key_format=any(key.keyformat or key.keyformatversions for key in keys),
    )


@documented("segments")
def segments_table(media_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """One row per media segment of a media playlist, in playlist order.

    The playlist-level facts of :class:`MediaPlaylistInfo` are also put on ``df.attrs``
    (``target_duration``, ``playlist_type``, ``endlist``, ``version``, ``media_sequence``,
    ``discontinuity_sequence``, ``independent_segments``, ``total_duration``, ...); pandas
    operations may drop ``attrs``, so prefer :func:`media_playlist_info` to keep them.

    Args:
        media_text: the media playlist text.
        base_uri: the URL it was fetched from; segment, key and map URIs resolve against it.

    Raises:
        PlaylistError: see :func:`parse_media`; also a malformed ``#EXT-X-BYTERANGE``, or
            one that omits its offset when the previous segment is not a sub-range of the
            same resource.
    """
    playlist, scan = parse_text(media_text, base_uri, "media")
    segments = _complete_segments(playlist)
    n = len(segments)
    none: list[Any] = [None] * n
    durations, total = _durations(segments, scan)
    duration_array = np.asarray(durations, dtype=np.float64)
    starts = np.zeros(n, dtype=np.float64)
    if n > 1:
        np.cumsum(duration_array[:-1], out=starts[1:])

    resolve = resolver(base_uri)
    uris = resolve_all([seg.uri for seg in segments], base_uri, resolve)

    lengths, offsets = none, none
    if "EXT-X-BYTERANGE" in scan.tags:
        lengths, offsets = _byteranges(segments, scan)

    key_methods, key_uris = none, none
    if any(key is not None for key in playlist.keys):
        key_methods, key_uris = [], []
        last_key: Any = None
        key_uri: str | None = None
        for seg in segments:
            key = seg.key
            if key is not last_key:  # m3u8 shares one Key object between its segments
                last_key, key_uri = key, (resolve(key.uri) if key is not None else None)
            key_methods.append(key.method if key is not None else None)
            key_uris.append(key_uri)

    init_uris = none
    if playlist.segment_map:
        init_uris = []
        last_init: str | None = None
        init_uri: str | None = None
        for seg in segments:
            init = seg.init_section
            raw_init = init.uri if init is not None else None
            if raw_init != last_init:
                last_init, init_uri = raw_init, resolve(raw_init)
            init_uris.append(init_uri)

    if playlist.program_date_time is not None:
        # Our own extrapolation: m3u8's current_program_date_time also advances over
        # the EXT-X-PART lines of LL-HLS, which would count those seconds twice.
        times: list[datetime | None] = []
        current: datetime | None = None
        for seg, duration in zip(segments, durations, strict=True):
            if seg.program_date_time is not None:
                current = seg.program_date_time
            times.append(current)
            if current is not None:
                current = current + timedelta(seconds=duration)
        dates = utc_times(times)
    else:
        dates = utc_times(none)

    sequence = playlist.media_sequence or 0
    out: dict[str, Any] = {
        "index": np.arange(n, dtype=np.int64),
        "media_sequence": np.arange(sequence, sequence + n, dtype=np.int64),
        "uri": strings(uris),
        "duration": duration_array,
        "start": starts,
        "byterange_length": ints(lengths),
        "byterange_offset": ints(offsets),
        "discontinuity": np.fromiter((seg.discontinuity for seg in segments), bool, n),
        "program_date_time": dates,
        "key_method": strings(key_methods),
        "key_uri": strings(key_uris),
        "init_uri": strings(init_uris),
        "title": strings([seg.title or None for seg in segments]),
    }
    assert list(out) == list(COLUMNS["segments"]), "columns out of sync with COLUMNS"
    frame = pd.DataFrame(out, copy=False)
    frame.attrs.update(asdict(_media_info(playlist, scan, n, total)))
    return frame


def _byteranges(segments: Any, scan: Scan) -> tuple[list[Any], list[Any]]:
    """(lengths, offsets) of the segments' EXT-X-BYTERANGEs, implicit offsets resolved
    (``scan`` gives the lines, split only for an error message)."""
    lengths: list[int | None] = []
    offsets: list[int | None] = []
    previous_uri: str | None = None
    previous_end: int | None = None  # byte after the previous segment's sub-range
    for i, seg in enumerate(segments):
        byterange = seg.byterange
        if byterange is None:
            lengths.append(None)
            offsets.append(None)
            previous_end = None
            continue
        length_text, at, offset_text = byterange.partition("@")
        try:
            length = int(length_text)
            offset = int(offset_text) if at else None
        except ValueError:
            length = offset = -1
        if max(length, offset or 0) + (length if offset is not None else 0) > INT64_MAX:
            raise PlaylistError(
                f"{line_of(scan.lines, '#EXT-X-BYTERANGE:', byterange)}#EXT-X-BYTERANGE "
                f"{excerpt(byterange)} of segment {i} is too large (this library reads byte "
                f"offsets up to {INT64_MAX})"
            )
        if length < 0 or (offset is not None and offset < 0):
            raise PlaylistError(
                f"{line_of(scan.lines, '#EXT-X-BYTERANGE:', byterange)}#EXT-X-BYTERANGE "
                f"{excerpt(byterange)} of segment {i} is not <length>[@<offset>] with non-negative "
                "integers"
            )
        if offset is None:
            if previous_end is None or previous_uri != seg.uri:
                raise PlaylistError(
                    f"{line_of(scan.lines, '#EXT-X-BYTERANGE:', byterange)}#EXT-X-BYTERANGE "
                    f"{excerpt(byterange)} of segment {i} ({excerpt(seg.uri)}) omits its offset, "
                    "but the previous segment is not a sub-range of the same resource "
                    "(RFC 8216 4.3.2.2): write <length>@<offset>"
                )
            offset = previous_end
        lengths.append(length)
        offsets.append(offset)
        previous_uri = seg.uri
        previous_end = offset + length
    return lengths, offsets
