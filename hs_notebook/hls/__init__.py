"""HLS playlists (RFC 8216) as pandas DataFrames: pure text in, tables out, no I/O.

The parsing itself is done by the ``m3u8`` library; this module validates the text first
(a few line checks so that malformed input fails loudly with a line number instead of
being silently dropped), then lays the m3u8 model out as tables:

- :func:`renditions_table`: one row per ``#EXT-X-STREAM-INF`` variant of a master playlist.
- :func:`text_tracks_table`: ``#EXT-X-MEDIA`` subtitles and closed captions.
- :func:`audio_table`: ``#EXT-X-MEDIA`` audio renditions.
- :func:`iframe_table`: ``#EXT-X-I-FRAME-STREAM-INF`` streams.
- :func:`segments_table`: one row per media segment of a media playlist.

What a parse yields comes as typed, frozen dataclasses, which survive pandas operations
(``df.attrs`` does not): :func:`read_master` gives a :class:`MasterPlaylist` (its
playlist-level :class:`MasterPlaylistInfo` and one typed row per variant, text track, audio
rendition and I-frame stream: :class:`Variant`, :class:`TextTrack`,
:class:`AudioRendition`, :class:`IFrameStream`), :func:`read_media` a
:class:`MediaPlaylist` (its :class:`MediaPlaylistInfo` and segment-level facts, without a
per-segment table).  A table is its rows laid out by column name (:func:`table_of`); a
row class's fields are the table's columns.

Every column of every table is documented once, in :data:`COLUMNS`
(:mod:`hs_notebook.hls.columns`). Conventions:
bitrates are int bits/s, durations float seconds, byte sizes int bytes; integer columns
that can be missing use the nullable ``Int64`` dtype, text columns the ``string`` dtype,
so a missing value is ``<NA>``. URIs are made absolute (``urllib.parse.urljoin`` rules)
when a ``base_uri`` is given, and left as written otherwise.

Malformed input raises :class:`hs_notebook.errors.PlaylistError` naming the problem
(and the line, counted from 1, where it can be told).
"""

from __future__ import annotations

from hs_notebook.hls.bitrate import average_bitrate, peak_bitrate, peak_window
from hs_notebook.hls.columns import AUDIO_CODECS, COLUMNS, VIDEO_CODECS
from hs_notebook.hls.master import (
    AudioRendition,
    IFrameStream,
    MasterPlaylist,
    MasterPlaylistInfo,
    TextTrack,
    Variant,
    audio_table,
    iframe_table,
    master_playlist_info,
    parse_master,
    read_master,
    renditions_table,
    text_tracks_table,
)
from hs_notebook.hls.media import (
    MediaPlaylist,
    MediaPlaylistInfo,
    media_playlist_info,
    parse_media,
    read_media,
    segments_table,
)
from hs_notebook.hls.rows import rows_of, table_of

__all__ = [
    "AUDIO_CODECS",
    "COLUMNS",
    "VIDEO_CODECS",
    "AudioRendition",
    "IFrameStream",
    "MasterPlaylist",
    "MasterPlaylistInfo",
    "MediaPlaylist",
    "MediaPlaylistInfo",
    "TextTrack",
    "Variant",
    "audio_table",
    "average_bitrate",
    "iframe_table",
    "master_playlist_info",
    "media_playlist_info",
    "parse_master",
    "parse_media",
    "peak_bitrate",
    "peak_window",
    "read_master",
    "read_media",
    "renditions_table",
    "rows_of",
    "segments_table",
    "table_of",
    "text_tracks_table",
]
