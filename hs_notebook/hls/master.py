"""Master (multivariant) playlists: :func:`read_master` parses and validates one into a
:class:`MasterPlaylist` of typed rows; the table functions lay those rows out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import m3u8
import pandas as pd

from hs_notebook.hls._arrays import (
    MPL_RE,
    MPLT_RE,
    channel_count,
    path_ids,
    resolver,
    split_codecs,
    unquote,
    yes,
)
from hs_notebook.hls._text import Scan, parse_text
from hs_notebook.hls.columns import documented
from hs_notebook.hls.rows import table_of

__all__ = [
    "AudioRendition",
    "IFrameStream",
    "MasterPlaylist",
    "MasterPlaylistInfo",
    "TextTrack",
    "Variant",
    "audio_table",
    "iframe_table",
    "master_playlist_info",
    "parse_master",
    "read_master",
    "renditions_table",
    "text_tracks_table",
]


@dataclass(frozen=True, slots=True)
class MasterPlaylistInfo:
    """Playlist-level facts of a master (multivariant) playlist.

    Attributes:
        version: EXT-X-VERSION, None when absent (which means version 1).
        independent_segments: the playlist has EXT-X-INDEPENDENT-SEGMENTS.
        variant_count: number of EXT-X-STREAM-INF variants.
        iframe_count: number of EXT-X-I-FRAME-STREAM-INF streams.
        audio_count: number of EXT-X-MEDIA TYPE=AUDIO renditions.
        subtitles_count: number of EXT-X-MEDIA TYPE=SUBTITLES renditions.
        closed_captions_count: number of EXT-X-MEDIA TYPE=CLOSED-CAPTIONS renditions.
        tags: the name (without ``#``) of every ``#EXT...`` tag present.
    """

    version: int | None
    independent_segments: bool
    variant_count: int
    iframe_count: int
    audio_count: int
    subtitles_count: int
    closed_captions_count: int
    tags: frozenset[str]


# ------------------------------------------------------------------------------- rows
# One frozen dataclass per table: its fields are the table's columns (``COLUMNS``), by
# name and in order; :func:`hs_notebook.hls.rows.table_of` types them by annotation.


@dataclass(frozen=True, slots=True)
class Variant:
    """One ``#EXT-X-STREAM-INF`` variant: a row of :func:`renditions_table`
    (``COLUMNS["renditions"]``; ``None`` where the table has ``<NA>``)."""

    TABLE: ClassVar[str] = "renditions"

    order: int
    preset_id: str | None
    bandwidth: int | None
    average_bandwidth: int | None
    width: int | None
    height: int | None
    frame_rate: float | None
    codecs: str | None
    video_codec: str | None
    audio_codec: str | None
    video_range: str | None
    hdcp_level: str | None
    audio_group: str | None
    subtitles_group: str | None
    closed_captions: str | None
    pathway_id: str | None
    uri: str | None

    @classmethod
    def from_m3u8(
        cls, order: int, playlist: Any, resolve: Callable[[str | None], str | None]
    ) -> Variant:
        """The row of one ``m3u8`` variant playlist (``M3U8.playlists[order]``)."""
        info = playlist.stream_info
        video_codec, audio_codec = split_codecs(info.codecs)
        return cls(
            order=order,
            **_stream_fields(info, resolve(playlist.uri)),
            frame_rate=info.frame_rate,
            video_codec=video_codec,
            audio_codec=audio_codec,
            audio_group=info.audio,
            subtitles_group=info.subtitles,
            closed_captions=unquote(info.closed_captions),
            pathway_id=info.pathway_id,
        )


@dataclass(frozen=True, slots=True)
class TextTrack:
    """One ``#EXT-X-MEDIA`` subtitles or closed-captions rendition: a row of
    :func:`text_tracks_table` (``COLUMNS["text_tracks"]``)."""

    TABLE: ClassVar[str] = "text_tracks"

    order: int
    type: str | None
    text_track_id: str | None
    group_id: str | None
    language: str | None
    assoc_language: str | None
    name: str | None
    default: bool
    autoselect: bool
    forced: bool
    instream_id: str | None
    characteristics: str | None
    uri: str | None

    @classmethod
    def from_m3u8(
        cls, order: int, media: Any, resolve: Callable[[str | None], str | None]
    ) -> TextTrack:
        """The row of one ``m3u8`` media rendition of TYPE SUBTITLES / CLOSED-CAPTIONS."""
        uri = resolve(media.uri)
        return cls(
            order=order,
            type=media.type.strip().upper(),
            text_track_id=path_ids(uri, MPLT_RE),
            **_media_fields(media),
            forced=yes(media.forced),
            instream_id=media.instream_id,
            uri=uri,
        )


@dataclass(frozen=True, slots=True)
class AudioRendition:
    """One ``#EXT-X-MEDIA TYPE=AUDIO`` rendition: a row of :func:`audio_table`
    (``COLUMNS["audio"]``)."""

    TABLE: ClassVar[str] = "audio"

    order: int
    group_id: str | None
    language: str | None
    assoc_language: str | None
    name: str | None
    default: bool
    autoselect: bool
    channels: str | None
    channel_count: int | None
    characteristics: str | None
    uri: str | None

    @classmethod
    def from_m3u8(
        cls, order: int, media: Any, resolve: Callable[[str | None], str | None]
    ) -> AudioRendition:
        """The row of one ``m3u8`` media rendition of TYPE AUDIO."""
        return cls(
            order=order,
            **_media_fields(media),
            channels=media.channels,
            channel_count=channel_count(media.channels),
            uri=resolve(media.uri),
        )


@dataclass(frozen=True, slots=True)
class IFrameStream:
    """One ``#EXT-X-I-FRAME-STREAM-INF``: a row of :func:`iframe_table`
    (``COLUMNS["iframes"]``)."""

    TABLE: ClassVar[str] = "iframes"

    order: int
    preset_id: str | None
    bandwidth: int | None
    average_bandwidth: int | None
    width: int | None
    height: int | None
    codecs: str | None
    video_codec: str | None
    video_range: str | None
    hdcp_level: str | None
    uri: str | None

    @classmethod
    def from_m3u8(
        cls, order: int, stream: Any, resolve: Callable[[str | None], str | None]
    ) -> IFrameStream:
        """The row of one ``m3u8`` I-frame playlist (``M3U8.iframe_playlists[order]``)."""
        info = stream.iframe_stream_info
        return cls(
            order=order,
            **_stream_fields(info, resolve(stream.uri)),
            video_codec=split_codecs(info.codecs)[0],
        )


def _stream_fields(info: Any, uri: str | None) -> dict[str, Any]:
    """The fields a variant and an I-frame stream both read from their ``m3u8`` stream
    info (``StreamInfo`` / ``IFrameStreamInfo``), and from their resolved ``uri``."""
    res = info.resolution
    return {
        "preset_id": path_ids(uri, MPL_RE),
        "bandwidth": info.bandwidth,
        "average_bandwidth": info.average_bandwidth,
        "width": res[0] if res else None,
        "height": res[1] if res else None,
        "codecs": info.codecs,
        "video_range": info.video_range,
        "hdcp_level": info.hdcp_level,
        "uri": uri,
    }


def _media_fields(media: Any) -> dict[str, Any]:
    """The fields an audio rendition and a text track both read from their ``m3u8``
    ``#EXT-X-MEDIA`` (``m3u8.Media``)."""
    return {
        "group_id": media.group_id,
        "language": media.language,
        "assoc_language": media.assoc_language,
        "name": media.name,
        "default": yes(media.default),
        "autoselect": yes(media.autoselect),
        "characteristics": media.characteristics,
    }


# --------------------------------------------------------------------------- the parse


@dataclass(frozen=True, slots=True)
class MasterPlaylist:
    """A master playlist, parsed and validated (:func:`read_master`).

    Attributes:
        base_uri: the URL it was read from (URIs are resolved against it), or None.
        info: the playlist-level facts.
        variants: one :class:`Variant` per ``#EXT-X-STREAM-INF``, in playlist order.
        text_tracks: the subtitles and closed-captions renditions (:class:`TextTrack`).
        audio: the audio renditions (:class:`AudioRendition`).
        iframes: the I-frame streams (:class:`IFrameStream`).

    It keeps no reference to the ``m3u8`` model: use :func:`parse_master` for that.
    """

    base_uri: str | None
    info: MasterPlaylistInfo
    variants: tuple[Variant, ...]
    text_tracks: tuple[TextTrack, ...]
    audio: tuple[AudioRendition, ...]
    iframes: tuple[IFrameStream, ...]


def _media_of(model: m3u8.M3U8, types: tuple[str, ...]) -> list[Any]:
    return [m for m in model.media if (m.type or "").strip().upper() in types]


def _info(model: m3u8.M3U8, scan: Scan) -> MasterPlaylistInfo:
    types = [(m.type or "").strip().upper() for m in model.media]
    return MasterPlaylistInfo(
        version=model.version,
        independent_segments=bool(model.is_independent_segments),
        variant_count=len(model.playlists),
        iframe_count=len(model.iframe_playlists),
        audio_count=types.count("AUDIO"),
        subtitles_count=types.count("SUBTITLES"),
        closed_captions_count=types.count("CLOSED-CAPTIONS"),
        tags=scan.tags,
    )


def read_master(text: str, base_uri: str | None = None) -> MasterPlaylist:
    """Parse and validate a master playlist into a :class:`MasterPlaylist`.

    Args:
        text: the playlist text (a UTF-8 BOM and CRLF line ends are fine; bytes are
            decoded as UTF-8).
        base_uri: the URL it was fetched from; relative URIs resolve against it.

    Raises:
        PlaylistError: see :func:`parse_master`.
    """
    model, scan = parse_text(text, base_uri, "master")
    resolve = resolver(base_uri)
    texts = _media_of(model, ("SUBTITLES", "CLOSED-CAPTIONS"))
    return MasterPlaylist(
        base_uri=base_uri,
        info=_info(model, scan),
        variants=tuple(Variant.from_m3u8(i, p, resolve) for i, p in enumerate(model.playlists)),
        text_tracks=tuple(TextTrack.from_m3u8(i, m, resolve) for i, m in enumerate(texts)),
        audio=tuple(
            AudioRendition.from_m3u8(i, m, resolve)
            for i, m in enumerate(_media_of(model, ("AUDIO",)))
        ),
        iframes=tuple(
            IFrameStream.from_m3u8(i, s, resolve) for i, s in enumerate(model.iframe_playlists)
        ),
    )


def parse_master(text: str, base_uri: str | None = None) -> m3u8.M3U8:
    """Validate a master (multivariant) playlist and return its ``m3u8.M3U8`` model.

    Args:
        text: the playlist text (a UTF-8 BOM and CRLF line ends are fine; bytes are
            decoded as UTF-8).
        base_uri: the URL the playlist was fetched from; relative URIs resolve against it.

    Raises:
        PlaylistError: empty text, no ``#EXTM3U`` first line, a media playlist, an
            ``#EXT-X-STREAM-INF`` without a URI line, an unparseable attribute list, ...
    """
    return parse_text(text, base_uri, "master")[0]


def master_playlist_info(master_text: str) -> MasterPlaylistInfo:
    """Playlist-level facts of a master playlist (version, counts, tag names).

    Raises:
        PlaylistError: see :func:`parse_master`.
    """
    return _info(*parse_text(master_text, None, "master"))


# ----------------------------------------------------------------------------- tables


@documented("renditions")
def renditions_table(master_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """One row per ``#EXT-X-STREAM-INF`` variant of a master playlist, in playlist order.

    Args:
        master_text: the master playlist text.
        base_uri: the URL it was fetched from; variant URIs are resolved against it.

    Raises:
        PlaylistError: see :func:`parse_master`.
    """
    return table_of(Variant, read_master(master_text, base_uri).variants)


@documented("text_tracks")
def text_tracks_table(master_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """The ``#EXT-X-MEDIA`` subtitle and closed-caption renditions of a master playlist
    (``master_text`` and ``base_uri`` as for :func:`renditions_table`)."""
    return table_of(TextTrack, read_master(master_text, base_uri).text_tracks)


@documented("audio")
def audio_table(master_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """The ``#EXT-X-MEDIA TYPE=AUDIO`` renditions of a master playlist, in playlist order
    (``master_text`` and ``base_uri`` as for :func:`renditions_table`)."""
    return table_of(AudioRendition, read_master(master_text, base_uri).audio)


@documented("iframes")
def iframe_table(master_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """One row per ``#EXT-X-I-FRAME-STREAM-INF`` of a master playlist, in playlist order
    (``master_text`` and ``base_uri`` as for :func:`renditions_table`)."""
    return table_of(IFrameStream, read_master(master_text, base_uri).iframes)
