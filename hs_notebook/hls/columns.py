"""The columns of every table of :mod:`hs_notebook.hls`, documented once (:data:`COLUMNS`),
and the codec families the renditions tables sort CODECS entries into."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hs_notebook._columns import documents

__all__ = ["AUDIO_CODECS", "COLUMNS", "VIDEO_CODECS", "documented"]

#: Sample-entry codes (the part of an RFC 6381 codec string before the first dot, compared
#: case-insensitively) that :func:`renditions_table` files under ``video_codec``.
VIDEO_CODECS: frozenset[str] = frozenset(
    {"avc1", "avc3", "hvc1", "hev1", "dvh1", "dvhe", "av01", "vp09"}
)
#: Sample-entry codes filed under ``audio_codec`` (``fLaC`` matches ``flac``).
AUDIO_CODECS: frozenset[str] = frozenset({"mp4a", "ac-3", "ec-3", "opus", "flac"})

_VARIANT_URI = {
    "uri": "the variant's media playlist URI, absolute when base_uri was given",
}

#: Every column of every table of this module, documented once: {table: {column: meaning}}.
COLUMNS: dict[str, dict[str, str]] = {
    "renditions": {
        "order": "0-based position of the #EXT-X-STREAM-INF tag in the master playlist",
        "preset_id": "HeapStream preset id from a URI path /mpl/<project>/<preset>/ "
        "(any path prefix allowed), else <NA>",
        "bandwidth": "BANDWIDTH: peak segment bit rate, int bits/s",
        "average_bandwidth": "AVERAGE-BANDWIDTH: average bit rate, int bits/s, or <NA>",
        "width": "RESOLUTION width in pixels, or <NA>",
        "height": "RESOLUTION height in pixels, or <NA>",
        "frame_rate": "FRAME-RATE: frames per second (float), or <NA>",
        "codecs": "CODECS as written (comma-separated RFC 6381 codec strings), or <NA>",
        "video_codec": "the video entries of CODECS (see VIDEO_CODECS), comma-joined, or <NA>",
        "audio_codec": "the audio entries of CODECS (see AUDIO_CODECS), comma-joined, or <NA>",
        "video_range": "VIDEO-RANGE: SDR, PQ or HLG, or <NA>",
        "hdcp_level": "HDCP-LEVEL: TYPE-0, TYPE-1 or NONE, or <NA>",
        "audio_group": "AUDIO: GROUP-ID of the audio renditions this variant plays with",
        "subtitles_group": "SUBTITLES: GROUP-ID of its subtitle renditions, or <NA>",
        "closed_captions": "CLOSED-CAPTIONS: its closed-caption GROUP-ID, the literal NONE "
        "(explicitly none), or <NA> (attribute absent)",
        "pathway_id": "PATHWAY-ID: the content-steering pathway this variant belongs to, or "
        '<NA> (RFC 8216bis: absent means the pathway ".")',
        **_VARIANT_URI,
    },
    "text_tracks": {
        "order": "0-based position among the playlist's subtitle and closed-caption tags",
        "type": "TYPE: SUBTITLES or CLOSED-CAPTIONS",
        "text_track_id": "HeapStream text track id from a URI path /mplt/<project>/<id>/, "
        "else <NA>",
        "group_id": "GROUP-ID that variants reference (SUBTITLES= / CLOSED-CAPTIONS=)",
        "language": "LANGUAGE (BCP 47 tag), or <NA>",
        "assoc_language": "ASSOC-LANGUAGE, or <NA>",
        "name": "NAME shown to viewers",
        "default": "DEFAULT=YES (bool)",
        "autoselect": "AUTOSELECT=YES (bool)",
        "forced": "FORCED=YES (bool)",
        "instream_id": "INSTREAM-ID (CC1..CC4, SERVICE1..63) for closed captions, else <NA>",
        "characteristics": "CHARACTERISTICS (UTIs, comma-separated), or <NA>",
        "uri": "the subtitle media playlist URI (absolute when base_uri was given); "
        "<NA> for closed captions, which travel inside the video",
    },
    "audio": {
        "order": "0-based position among the playlist's audio tags",
        "group_id": "GROUP-ID that variants reference with AUDIO=",
        "language": "LANGUAGE (BCP 47 tag), or <NA>",
        "assoc_language": "ASSOC-LANGUAGE, or <NA>",
        "name": "NAME shown to viewers",
        "default": "DEFAULT=YES (bool)",
        "autoselect": "AUTOSELECT=YES (bool)",
        "channels": 'CHANNELS as written ("2", "6", "16/JOC"), or <NA>',
        "channel_count": "the channel count from CHANNELS (int), or <NA>",
        "characteristics": "CHARACTERISTICS (UTIs, comma-separated), or <NA>",
        "uri": "the audio media playlist URI (absolute when base_uri was given), or <NA> "
        "when the audio is muxed into the variants",
    },
    "iframes": {
        "order": "0-based position of the #EXT-X-I-FRAME-STREAM-INF tag",
        "preset_id": "HeapStream preset id from a URI path /mpl/<project>/<preset>/, else <NA>",
        "bandwidth": "BANDWIDTH: peak I-frame bit rate, int bits/s",
        "average_bandwidth": "AVERAGE-BANDWIDTH, int bits/s, or <NA>",
        "width": "RESOLUTION width in pixels, or <NA>",
        "height": "RESOLUTION height in pixels, or <NA>",
        "codecs": "CODECS as written, or <NA>",
        "video_codec": "the video entries of CODECS, comma-joined, or <NA>",
        "video_range": "VIDEO-RANGE: SDR, PQ or HLG, or <NA>",
        "hdcp_level": "HDCP-LEVEL, or <NA>",
        "uri": "the I-frame media playlist URI, absolute when base_uri was given",
    },
    "segments": {
        "index": "0-based position of the segment in the playlist",
        "media_sequence": "the segment's media sequence number (EXT-X-MEDIA-SEQUENCE + index)",
        "uri": "segment URI, absolute when base_uri was given",
        "duration": "EXTINF duration, float seconds",
        "start": "start time from the top of the playlist (sum of earlier durations), seconds",
        "byterange_length": "EXT-X-BYTERANGE length in bytes, or <NA>",
        "byterange_offset": "EXT-X-BYTERANGE offset in bytes; an omitted offset is resolved "
        "per RFC 8216 (the byte after the previous segment's sub-range); <NA> without a range",
        "discontinuity": "an EXT-X-DISCONTINUITY precedes this segment (bool)",
        "program_date_time": "wall-clock time of the segment start (UTC): its "
        "EXT-X-PROGRAM-DATE-TIME, or extrapolated from the last one; NaT before the first",
        "key_method": "EXT-X-KEY METHOD in force (NONE, AES-128, SAMPLE-AES, ...), or <NA>",
        "key_uri": "URI of that key, absolute when base_uri was given, or <NA>",
        "init_uri": "EXT-X-MAP URI (fMP4 initialization section) in force, or <NA>",
        "title": "the EXTINF title after the comma, or <NA> when empty",
    },
}


def documented(table: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Append the columns of ``COLUMNS[table]`` to the decorated function's docstring."""
    return documents(COLUMNS, table)
