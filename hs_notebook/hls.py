"""HLS playlists (RFC 8216) as pandas DataFrames: pure text in, tables out, no I/O.

The parsing itself is done by the ``m3u8`` library; this module validates the text first
(a few line checks so that malformed input fails loudly with a line number instead of
being silently dropped), then lays the m3u8 model out as tables:

- :func:`renditions_table`: one row per ``#EXT-X-STREAM-INF`` variant of a master playlist.
- :func:`text_tracks_table`: ``#EXT-X-MEDIA`` subtitles and closed captions.
- :func:`audio_table`: ``#EXT-X-MEDIA`` audio renditions.
- :func:`iframe_table`: ``#EXT-X-I-FRAME-STREAM-INF`` streams.
- :func:`segments_table`: one row per media segment of a media playlist.

Playlist-level facts come as frozen dataclasses (:func:`master_playlist_info`,
:func:`media_playlist_info`), which survive pandas operations (``df.attrs`` does not).

Every column of every table is documented once, in :data:`COLUMNS`. Conventions:
bitrates are int bits/s, durations float seconds, byte sizes int bytes; integer columns
that can be missing use the nullable ``Int64`` dtype, text columns the ``string`` dtype,
so a missing value is ``<NA>``. URIs are made absolute (``urllib.parse.urljoin`` rules)
when a ``base_uri`` is given, and left as written otherwise.

Malformed input raises :class:`hs_notebook.errors.PlaylistError` naming the problem
(and the line, counted from 1, where it can be told).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import m3u8
import numpy as np
import pandas as pd
import pyarrow as pa
from m3u8.parser import ATTRIBUTELISTPATTERN

from hs_notebook._columns import documents
from hs_notebook.errors import InvalidArgument, PlaylistError

__all__ = [
    "AUDIO_CODECS",
    "COLUMNS",
    "VIDEO_CODECS",
    "MasterPlaylistInfo",
    "MediaPlaylistInfo",
    "audio_table",
    "iframe_table",
    "master_playlist_info",
    "media_playlist_info",
    "parse_master",
    "parse_media",
    "renditions_table",
    "segments_table",
    "text_tracks_table",
]

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


def _documents(table: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return documents(COLUMNS, table)


# --------------------------------------------------------------------------- dataclasses


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


# ------------------------------------------------------------------------ text checks

_Kind = Literal["master", "media"]

#: Tags whose value is an RFC 8216 attribute list (NAME=VALUE,...).
_ATTRIBUTE_LIST_TAGS = frozenset(
    {
        "EXT-X-STREAM-INF",
        "EXT-X-I-FRAME-STREAM-INF",
        "EXT-X-IMAGE-STREAM-INF",
        "EXT-X-MEDIA",
        "EXT-X-KEY",
        "EXT-X-SESSION-KEY",
        "EXT-X-SESSION-DATA",
        "EXT-X-MAP",
        "EXT-X-START",
        "EXT-X-DATERANGE",
        "EXT-X-PART",
        "EXT-X-PART-INF",
        "EXT-X-SERVER-CONTROL",
        "EXT-X-PRELOAD-HINT",
        "EXT-X-RENDITION-REPORT",
        "EXT-X-SKIP",
        "EXT-X-CONTENT-STEERING",
        "EXT-X-TILES",
    }
)
_ATTRIBUTE_RE = re.compile(r"\s*[A-Za-z0-9-]+=\S")


@dataclass(slots=True)
class _Scan:
    """What one pass over the lines found: tag names, counts, the first structural problem."""

    lines: list[str]
    tags: frozenset[str]
    extinf_count: int
    stream_inf_count: int
    problem: str | None


def _prepare(text: Any, what: str) -> str:
    """Check the type, drop a UTF-8 BOM, refuse empty text and a missing #EXTM3U line."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PlaylistError(f"the {what} is not UTF-8 text ({exc})") from None
    if not isinstance(text, str):
        raise InvalidArgument(f"the {what} must be str (playlist text), got {type(text).__name__}")
    if text.startswith("\ufeff"):
        text = text[1:]
    stripped = text.lstrip()
    if not stripped:
        raise PlaylistError(f"the {what} text is empty: there is nothing to parse")
    first = stripped[:300].splitlines()[0].strip()
    if first != "#EXTM3U":
        hint = ""
        if first.startswith("<"):
            hint = " (it looks like HTML/XML: was the URL a web page rather than a playlist?)"
        elif first.startswith("{"):
            hint = " (it looks like JSON: probably an error answer from the origin)"
        elif first.startswith("WEBVTT"):
            hint = " (it is a WebVTT file: use hs_notebook.vtt instead)"
        raise PlaylistError(
            f"line 1: an HLS playlist must start with #EXTM3U, got {first[:80]!r}{hint}"
        )
    return text


def _check_attribute_list(tag: str, line: str, lineno: int) -> str | None:
    """A problem sentence when ``line`` (a tag with an attribute list) is not NAME=VALUE,..."""
    _, colon, value = line.partition(":")
    if not colon:
        return None  # no attribute list at all: m3u8 reports missing required attributes
    parts = ATTRIBUTELISTPATTERN.split(value)
    for sep in parts[0::2]:
        if sep not in ("", ","):
            what = "an unbalanced quote" if '"' in sep or "'" in sep else f"stray {sep!r}"
            return (
                f"line {lineno}: unparseable attribute list in #{tag}: {what} "
                f'(expected NAME=VALUE,NAME="quoted value",...): {line!r}'
            )
    for item in parts[1::2]:
        if not _ATTRIBUTE_RE.match(item):
            return (
                f"line {lineno}: unparseable attribute list in #{tag}: {item.strip()!r} is not "
                f"NAME=VALUE: {line!r}"
            )
    return None


def _scan(text: str) -> _Scan:
    """One pass over the lines: tag names, counts, and the first structural problem.

    Structural rules checked: every #EXT-X-STREAM-INF is directly followed by a URI line;
    every #EXTINF is followed by a URI line before the next #EXTINF; every URI line
    belongs to one of those; attribute lists are NAME=VALUE lists.
    """
    lines = text.splitlines()
    tags: set[str] = set()
    add_tag = tags.add
    attribute_tags = _ATTRIBUTE_LIST_TAGS
    pending = ""  # "EXTINF" or "EXT-X-STREAM-INF" while waiting for its URI line
    pending_line = 0
    problem: str | None = None
    extinf = stream_inf = 0
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        if line[0] != "#":  # a URI line
            if pending:
                pending = ""
            elif problem is None:
                problem = (
                    f"line {lineno}: URI line {line[:80]!r} has no #EXTINF or "
                    "#EXT-X-STREAM-INF before it"
                )
            continue
        if line.startswith("#EXTINF:"):
            name = "EXTINF"
        elif line.startswith("#EXT"):
            name = line[1:].partition(":")[0]
        else:
            continue  # a comment
        add_tag(name)
        if name == "EXTINF":
            extinf += 1
        elif name == "EXT-X-STREAM-INF":
            stream_inf += 1
        elif name not in attribute_tags and pending != "EXT-X-STREAM-INF":
            continue  # the common case: a plain tag, nothing to check
        if problem is not None:
            continue
        if pending and (pending == "EXT-X-STREAM-INF" or name in ("EXTINF", "EXT-X-STREAM-INF")):
            problem = (
                f"line {pending_line}: #{pending} is not followed by a URI line "
                f"(line {lineno} is {line[:60]!r})"
            )
            continue
        if name in ("EXTINF", "EXT-X-STREAM-INF"):
            pending, pending_line = name, lineno
        if name in attribute_tags:
            problem = _check_attribute_list(name, line, lineno)
    if pending and problem is None:
        problem = f"line {pending_line}: #{pending} is not followed by a URI line (end of text)"
    return _Scan(lines, frozenset(tags), extinf, stream_inf, problem)


def _check_kind(scan: _Scan, expect: _Kind) -> None:
    """Refuse a media playlist where a master is expected, and the reverse."""
    if scan.extinf_count and scan.stream_inf_count:
        raise PlaylistError(
            "the playlist has both #EXT-X-STREAM-INF variants (master) and #EXTINF segments "
            "(media); RFC 8216 forbids mixing them"
        )
    if expect == "master":
        if scan.extinf_count:
            raise PlaylistError(
                "this is a media playlist (it has #EXTINF segments), not a master playlist; "
                "pass it to segments_table"
            )
        if not scan.stream_inf_count:
            raise PlaylistError(
                "this is not a master playlist: it has no #EXT-X-STREAM-INF variant"
                + (
                    " (it has #EXT-X-TARGETDURATION: an empty media playlist?)"
                    if "EXT-X-TARGETDURATION" in scan.tags
                    else ""
                )
            )
    else:
        if scan.stream_inf_count:
            raise PlaylistError(
                "this is a master playlist (it has #EXT-X-STREAM-INF variants), not a media "
                "playlist; pass it to renditions_table, and a variant's URI to segments_table"
            )
        if not scan.extinf_count and "EXT-X-TARGETDURATION" not in scan.tags:
            raise PlaylistError(
                "this is not a media playlist: it has no #EXTINF segment and no "
                "#EXT-X-TARGETDURATION"
            )


_INT_TAGS = {
    "EXT-X-TARGETDURATION": "must be a whole number of seconds (RFC 8216 4.3.3.1)",
    "EXT-X-VERSION": "must be an integer",
    "EXT-X-MEDIA-SEQUENCE": "must be an integer",
    "EXT-X-DISCONTINUITY-SEQUENCE": "must be an integer",
    "EXT-X-BITRATE": "must be an integer (kbit/s)",
}


_DECIMAL_RE = re.compile(r"\d+")
_FLOAT_RE = re.compile(r"\d+(?:\.\d+)?")
_RESOLUTION_RE = re.compile(r"\d+x\d+")
_TYPED_ATTRIBUTES: dict[str, tuple[re.Pattern[str], str]] = {
    "BANDWIDTH": (_DECIMAL_RE, "an integer of bits/s"),
    "AVERAGE-BANDWIDTH": (_DECIMAL_RE, "an integer of bits/s"),
    "PROGRAM-ID": (_DECIMAL_RE, "an integer"),
    "FRAME-RATE": (_FLOAT_RE, "a decimal number of frames/s"),
    "RESOLUTION": (_RESOLUTION_RE, "<width>x<height> in pixels"),
}


def _bad_attribute(value: str) -> str | None:
    """'NAME=value is not ...' for the first typed attribute with a malformed value."""
    for item in ATTRIBUTELISTPATTERN.split(value)[1::2]:
        name, _, raw = item.strip().partition("=")
        rule = _TYPED_ATTRIBUTES.get(name.upper())
        if rule is not None and not rule[0].fullmatch(raw.strip().strip('"')):
            return f"{name}={raw} is not {rule[1]}"
    return None


def _explain(lineno: int, line: str, exc: Exception) -> str:
    """A sentence for an m3u8 failure on one line."""
    name, _, value = line[1:].partition(":")
    bad = _bad_attribute(value) if name in _ATTRIBUTE_LIST_TAGS else None
    if bad:
        return f"line {lineno}: in #{name}, {bad}: {line[:120]!r}"
    if name == "EXTINF":
        duration = value.split(",", 1)[0].strip()
        return f"line {lineno}: the #EXTINF duration {duration!r} is not a number of seconds"
    if name in _INT_TAGS:
        return f"line {lineno}: #{name} {_INT_TAGS[name]}, got {value.strip()!r}"
    if name == "EXT-X-PROGRAM-DATE-TIME":
        return (
            f"line {lineno}: #EXT-X-PROGRAM-DATE-TIME {value.strip()!r} is not an ISO 8601 "
            "date-time"
        )
    if isinstance(exc, KeyError) and exc.args:
        attribute = str(exc.args[0]).upper().replace("_", "-")
        return f"line {lineno}: #{name} is missing its required {attribute} attribute: {line!r}"
    return f"line {lineno}: could not parse #{name} ({type(exc).__name__}: {exc}): {line[:120]!r}"


def _locate(lines: list[str], exc: Exception, what: str) -> PlaylistError:
    """Find the line m3u8 tripped on by parsing the tag lines one at a time."""
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line.startswith("#EXT") or line == "#EXTM3U":
            continue
        tail = "\nx.ts" if line.startswith(("#EXTINF", "#EXT-X-STREAM-INF")) else ""
        try:
            m3u8.loads(f"#EXTM3U\n{line}{tail}")
        except Exception as line_exc:  # m3u8 raises ValueError, KeyError, IndexError, ...
            return PlaylistError(_explain(lineno, line, line_exc))
    return PlaylistError(f"could not parse the {what} ({type(exc).__name__}: {exc})")


def _parse(text: Any, base_uri: str | None, expect: _Kind) -> tuple[m3u8.M3U8, _Scan]:
    what = f"{expect} playlist"
    if base_uri is not None and not isinstance(base_uri, str):
        raise InvalidArgument(f"base_uri must be a str or None, got {type(base_uri).__name__}")
    text = _prepare(text, what)
    scan = _scan(text)
    _check_kind(scan, expect)
    if scan.problem:
        raise PlaylistError(scan.problem)
    try:
        playlist = m3u8.loads(text, uri=base_uri or None)
    except Exception as exc:  # wrap whatever m3u8 raises; never leak a bare ValueError
        raise _locate(scan.lines, exc, what) from exc
    return playlist, scan


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
    return _parse(text, base_uri, "master")[0]


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
    return _parse(text, base_uri, "media")[0]


# ---------------------------------------------------------------------------- helpers

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_MPL_RE = re.compile(r"(?:^|/)mpl/([^/]+)/([^/]+)/")
_MPLT_RE = re.compile(r"(?:^|/)mplt/([^/]+)/([^/]+)/")


def _resolver(base_uri: str | None) -> Callable[[str | None], str | None]:
    """A function making URIs absolute against ``base_uri``, exactly as ``urljoin`` does.

    ``urljoin`` costs microseconds per call, which adds up over thousands of segments
    with distinct URIs, so only the directory part of a URI (everything up to the last
    ``/`` before any ``?`` or ``#``) goes through ``urljoin``, once per distinct directory;
    the file name and query are appended as they are. URIs for which that shortcut could
    differ (no file name, ``.``/``..`` as the name, a possible scheme) take the slow path.
    """
    if not base_uri:
        return lambda uri: uri
    base_dir = urljoin(base_uri, "_")[:-1]
    directories: dict[str, str] = {"": base_dir}
    whole: dict[str, str] = {}

    def resolve(uri: str | None) -> str | None:
        if uri is None:
            return None
        if uri.startswith(("https://", "http://")) and not (
            "/." in uri or "//" in uri.partition("://")[2]
        ):
            return uri
        cut = len(uri)
        for mark in "?#":
            found = uri.find(mark, 0, cut)
            if found >= 0:
                cut = found
        slash = uri.rfind("/", 0, cut) + 1
        name = uri[slash:cut]
        if name and name != "." and name != ".." and (slash or ":" not in name):
            directory = uri[:slash]
            prefix = directories.get(directory)
            if prefix is None:
                if directory.endswith("//"):  # "//host" or "scheme://host": no path yet
                    return urljoin(base_uri, uri)
                prefix = directories[directory] = urljoin(base_uri, directory)
            return prefix + uri[slash:]
        result = whole.get(uri)
        if result is None:
            result = whole[uri] = urljoin(base_uri, uri)
        return result

    return resolve


#: A line (of URIs joined with newlines) that is not a bare file name: it starts with
#: ``.?#`` or has a ``/`` or ``:`` before any query or fragment.
_NOT_BARE_NAME_RE = re.compile(r"^(?:[.?#]|[^?#\n/:]*[/:])", re.MULTILINE)
#: A line that is not an http(s) URL free of dot segments and empty path segments.
_NOT_CLEAN_URL_RE = re.compile(r"^(?!https?://)|^https?://[^\n]*?(?:/\.|//)", re.MULTILINE)


def _resolve_all(
    uris: list[Any], base_uri: str | None, resolve: Callable[[str | None], str | None]
) -> list[Any]:
    """Resolve many URIs; the common all-file-names and all-absolute cases in one go."""
    if not base_uri or not uris:
        return uris
    if None not in uris:
        joined = "\n".join(uris)
        if "\n" not in "".join(uris):  # (URIs never hold newlines; be sure)
            if _NOT_BARE_NAME_RE.search(joined) is None:
                base_dir = urljoin(base_uri, "_")[:-1]
                return [base_dir + uri for uri in uris]
            if _NOT_CLEAN_URL_RE.search(joined) is None:
                return list(uris)
    out: list[Any] = []
    previous: str | None = None
    absolute: str | None = None
    for uri in uris:
        if uri != previous or not out:  # byte-range playlists repeat one URI
            previous, absolute = uri, resolve(uri)
        out.append(absolute)
    return out


def _path_ids(uri: str | None, pattern: re.Pattern[str]) -> str | None:
    """The id (second path component) after ``mpl/<project>/`` or ``mplt/<project>/``."""
    if not uri:
        return None
    match = pattern.search(urlsplit(uri).path)
    return match.group(2) if match else None


def _split_codecs(codecs: str | None) -> tuple[str | None, str | None]:
    """(video, audio) entries of a CODECS value, each comma-joined or None."""
    if not codecs:
        return None, None
    video: list[str] = []
    audio: list[str] = []
    for entry in codecs.split(","):
        entry = entry.strip()
        code = entry.split(".", 1)[0].lower()
        if code in VIDEO_CODECS:
            video.append(entry)
        elif code in AUDIO_CODECS:
            audio.append(entry)
    return ",".join(video) or None, ",".join(audio) or None


def _unquote(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _yes(value: str | None) -> bool:
    return value is not None and value.strip().upper() == "YES"


def _channel_count(channels: str | None) -> int | None:
    if not channels:
        return None
    head = channels.split("/", 1)[0].strip()
    return int(head) if head.isdigit() else None


def _strings(values: list[Any]) -> pd.api.extensions.ExtensionArray:
    """A ``string`` array (missing = <NA>) from str/None values, built through Arrow.

    With pandas' default (Arrow) string storage the Arrow array is wrapped as it is,
    which is several times cheaper than ``pd.array`` on the small columns of a ladder."""
    try:
        arrow = pa.array(values, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.array(values, dtype="string")
    dtype = pd.StringDtype()
    if dtype.storage == "pyarrow":
        return pd.arrays.ArrowStringArray(arrow, dtype=dtype)
    return pd.array(arrow, dtype="string")


def _ints(values: list[Any]) -> pd.arrays.IntegerArray:
    """An ``Int64`` array (missing = <NA>) from int/None values."""
    n = len(values)
    missing = values.count(None)
    if missing == n:
        return pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
    if missing == 0:
        return pd.arrays.IntegerArray(np.asarray(values, np.int64), np.zeros(n, bool))
    return pd.array(values, dtype="Int64")


def _frame(columns: dict[str, Any], table: str) -> pd.DataFrame:
    """A DataFrame from finished column arrays, in the documented column order."""
    assert list(columns) == list(COLUMNS[table]), "columns out of sync with COLUMNS"
    return pd.DataFrame(columns, copy=False)


# ----------------------------------------------------------------------- master tables


def _resolution(info: Any) -> tuple[int | None, int | None]:
    res = info.resolution
    return (res[0], res[1]) if res else (None, None)


@_documents("renditions")
def renditions_table(master_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """One row per ``#EXT-X-STREAM-INF`` variant of a master playlist, in playlist order.

    Args:
        master_text: the master playlist text.
        base_uri: the URL it was fetched from; variant URIs are resolved against it.

    Raises:
        PlaylistError: see :func:`parse_master`.
    """
    return _renditions_from(parse_master(master_text, base_uri), base_uri)


def _renditions_from(playlist: m3u8.M3U8, base_uri: str | None) -> pd.DataFrame:
    """:func:`renditions_table` of an already parsed master playlist."""
    return _frame(_renditions_arrays(_renditions_columns(playlist, base_uri)), "renditions")


def _renditions_columns(playlist: m3u8.M3U8, base_uri: str | None) -> dict[str, list[Any]]:
    """The columns of :func:`renditions_table` as lists of plain Python values (``None``
    for missing), before they become typed arrays."""
    resolve = _resolver(base_uri)
    cols: dict[str, list[Any]] = {name: [] for name in COLUMNS["renditions"]}
    for order, variant in enumerate(playlist.playlists):
        info = variant.stream_info
        uri = resolve(variant.uri)
        width, height = _resolution(info)
        video_codec, audio_codec = _split_codecs(info.codecs)
        row = (
            order,
            _path_ids(uri, _MPL_RE),
            info.bandwidth,
            info.average_bandwidth,
            width,
            height,
            info.frame_rate,
            info.codecs,
            video_codec,
            audio_codec,
            info.video_range,
            info.hdcp_level,
            info.audio,
            info.subtitles,
            _unquote(info.closed_captions),
            uri,
        )
        for column, value in zip(cols.values(), row, strict=True):
            column.append(value)
    return cols


def _renditions_arrays(cols: dict[str, list[Any]]) -> dict[str, Any]:
    """:func:`_renditions_columns` as the typed arrays of :func:`renditions_table`."""
    out: dict[str, Any] = {}
    for name, values in cols.items():
        if name == "order":
            out[name] = np.asarray(values, dtype=np.int64)
        elif name in ("bandwidth", "average_bandwidth", "width", "height"):
            out[name] = _ints(values)
        elif name == "frame_rate":
            out[name] = pd.array(values, dtype="Float64")
        else:
            out[name] = _strings(values)
    return out


def _media_rows(playlist: m3u8.M3U8, types: tuple[str, ...]) -> list[Any]:
    return [m for m in playlist.media if (m.type or "").strip().upper() in types]


@_documents("text_tracks")
def text_tracks_table(master_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """The ``#EXT-X-MEDIA`` subtitle and closed-caption renditions of a master playlist.

    Args:
        master_text: the master playlist text.
        base_uri: the URL it was fetched from; subtitle playlist URIs resolve against it.

    Raises:
        PlaylistError: see :func:`parse_master`.
    """
    return _text_tracks_from(parse_master(master_text, base_uri), base_uri)


def _text_tracks_from(playlist: m3u8.M3U8, base_uri: str | None) -> pd.DataFrame:
    """:func:`text_tracks_table` of an already parsed master playlist."""
    return _frame(_text_tracks_arrays(_text_tracks_columns(playlist, base_uri)), "text_tracks")


_TEXT_TRACK_BOOLS = ("default", "autoselect", "forced")


def _text_tracks_columns(playlist: m3u8.M3U8, base_uri: str | None) -> dict[str, list[Any]]:
    """The columns of :func:`text_tracks_table` as lists of plain Python values."""
    resolve = _resolver(base_uri)
    media = _media_rows(playlist, ("SUBTITLES", "CLOSED-CAPTIONS"))
    uris = [resolve(m.uri) for m in media]
    return {
        "order": list(range(len(media))),
        "type": [m.type.strip().upper() for m in media],
        "text_track_id": [_path_ids(u, _MPLT_RE) for u in uris],
        "group_id": [m.group_id for m in media],
        "language": [m.language for m in media],
        "assoc_language": [m.assoc_language for m in media],
        "name": [m.name for m in media],
        "default": [_yes(m.default) for m in media],
        "autoselect": [_yes(m.autoselect) for m in media],
        "forced": [_yes(m.forced) for m in media],
        "instream_id": [m.instream_id for m in media],
        "characteristics": [m.characteristics for m in media],
        "uri": uris,
    }


def _text_tracks_arrays(cols: dict[str, list[Any]]) -> dict[str, Any]:
    """:func:`_text_tracks_columns` as the typed arrays of :func:`text_tracks_table`."""
    out: dict[str, Any] = {}
    for name, values in cols.items():
        if name == "order":
            out[name] = np.asarray(values, dtype=np.int64)
        elif name in _TEXT_TRACK_BOOLS:
            out[name] = np.array(values, dtype=bool)
        else:
            out[name] = _strings(values)
    return out


@_documents("audio")
def audio_table(master_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """The ``#EXT-X-MEDIA TYPE=AUDIO`` renditions of a master playlist, in playlist order.

    Args:
        master_text: the master playlist text.
        base_uri: the URL it was fetched from; audio playlist URIs resolve against it.

    Raises:
        PlaylistError: see :func:`parse_master`.
    """
    return _audio_from(parse_master(master_text, base_uri), base_uri)


def _audio_from(playlist: m3u8.M3U8, base_uri: str | None) -> pd.DataFrame:
    """:func:`audio_table` of an already parsed master playlist."""
    resolve = _resolver(base_uri)
    media = _media_rows(playlist, ("AUDIO",))
    out: dict[str, Any] = {
        "order": np.arange(len(media), dtype=np.int64),
        "group_id": _strings([m.group_id for m in media]),
        "language": _strings([m.language for m in media]),
        "assoc_language": _strings([m.assoc_language for m in media]),
        "name": _strings([m.name for m in media]),
        "default": np.array([_yes(m.default) for m in media], dtype=bool),
        "autoselect": np.array([_yes(m.autoselect) for m in media], dtype=bool),
        "channels": _strings([m.channels for m in media]),
        "channel_count": _ints([_channel_count(m.channels) for m in media]),
        "characteristics": _strings([m.characteristics for m in media]),
        "uri": _strings([resolve(m.uri) for m in media]),
    }
    return _frame(out, "audio")


@_documents("iframes")
def iframe_table(master_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """One row per ``#EXT-X-I-FRAME-STREAM-INF`` of a master playlist, in playlist order.

    Args:
        master_text: the master playlist text.
        base_uri: the URL it was fetched from; I-frame playlist URIs resolve against it.

    Raises:
        PlaylistError: see :func:`parse_master`.
    """
    return _iframes_from(parse_master(master_text, base_uri), base_uri)


def _iframes_from(playlist: m3u8.M3U8, base_uri: str | None) -> pd.DataFrame:
    """:func:`iframe_table` of an already parsed master playlist."""
    resolve = _resolver(base_uri)
    streams = list(playlist.iframe_playlists)
    infos = [s.iframe_stream_info for s in streams]
    uris = [resolve(s.uri) for s in streams]
    sizes = [_resolution(i) for i in infos]
    out: dict[str, Any] = {
        "order": np.arange(len(streams), dtype=np.int64),
        "preset_id": _strings([_path_ids(u, _MPL_RE) for u in uris]),
        "bandwidth": _ints([i.bandwidth for i in infos]),
        "average_bandwidth": _ints([i.average_bandwidth for i in infos]),
        "width": _ints([s[0] for s in sizes]),
        "height": _ints([s[1] for s in sizes]),
        "codecs": _strings([i.codecs for i in infos]),
        "video_codec": _strings([_split_codecs(i.codecs)[0] for i in infos]),
        "video_range": _strings([i.video_range for i in infos]),
        "hdcp_level": _strings([i.hdcp_level for i in infos]),
        "uri": _strings(uris),
    }
    return _frame(out, "iframes")


def master_playlist_info(master_text: str) -> MasterPlaylistInfo:
    """Playlist-level facts of a master playlist (version, counts, tag names).

    Raises:
        PlaylistError: see :func:`parse_master`.
    """
    return _master_info(*_parse(master_text, None, "master"))


def _master_info(playlist: m3u8.M3U8, scan: _Scan) -> MasterPlaylistInfo:
    """:func:`master_playlist_info` of an already parsed master playlist."""
    types = [(m.type or "").strip().upper() for m in playlist.media]
    return MasterPlaylistInfo(
        version=playlist.version,
        independent_segments=bool(playlist.is_independent_segments),
        variant_count=len(playlist.playlists),
        iframe_count=len(playlist.iframe_playlists),
        audio_count=types.count("AUDIO"),
        subtitles_count=types.count("SUBTITLES"),
        closed_captions_count=types.count("CLOSED-CAPTIONS"),
        tags=scan.tags,
    )


# ------------------------------------------------------------------------ media tables


def _complete_segments(playlist: m3u8.M3U8) -> list[Any]:
    """The media segments, without the in-progress one an LL-HLS playlist may end with
    (only #EXT-X-PART lines, no #EXTINF/URI yet): m3u8 lists it with ``uri=None``."""
    segments = playlist.segments
    if segments and segments[-1].uri is None:
        return [seg for seg in segments if seg.uri is not None]
    return segments


def _durations(segments: list[Any], scan: _Scan) -> tuple[list[float], float]:
    """(EXTINF durations, their exact sum); a NaN, infinite or negative one is an error."""
    durations = [seg.duration for seg in segments]
    total = math.fsum(durations)
    if durations and not (math.isfinite(total) and min(durations) >= 0.0):
        bad = next(i for i, d in enumerate(durations) if not 0.0 <= d < math.inf)
        raise PlaylistError(
            f"{_nth_extinf(scan.lines, bad)}the #EXTINF duration {durations[bad]!r} of segment "
            f"{bad} is not a finite, non-negative number of seconds"
        )
    return durations, total


def _media_info(
    playlist: m3u8.M3U8, scan: _Scan, segment_count: int, total: float
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


def _line_of(lines: list[str], prefix: str, value: str) -> str:
    """``"line N: "`` for the first line that reads ``prefix + value``, or ``""``."""
    wanted = prefix + value.strip()
    for lineno, raw in enumerate(lines, 1):
        if raw.strip() == wanted:
            return f"line {lineno}: "
    return ""


def _nth_extinf(lines: list[str], index: int) -> str:
    """``"line N: "`` for the ``index``-th (0-based) #EXTINF line."""
    seen = -1
    for lineno, raw in enumerate(lines, 1):
        if raw.lstrip().startswith("#EXTINF"):
            seen += 1
            if seen == index:
                return f"line {lineno}: "
    return ""


def media_playlist_info(media_text: str) -> MediaPlaylistInfo:
    """Playlist-level facts of a media playlist (target duration, type, tags, ...).

    Raises:
        PlaylistError: see :func:`parse_media`.
    """
    playlist, scan = _parse(media_text, None, "media")
    segments = _complete_segments(playlist)
    return _media_info(playlist, scan, len(segments), _durations(segments, scan)[1])


@dataclass(frozen=True, slots=True)
class _MediaFacts:
    """What a ladder and its QA need of a media playlist, without its segments table:
    the playlist-level facts, the EXTINF durations and two segment-level counts."""

    info: MediaPlaylistInfo
    durations: np.ndarray  # float seconds, one per complete segment
    byteranges: bool  # some segment has EXT-X-BYTERANGE
    discontinuities: int  # EXT-X-DISCONTINUITY tags before segments


def _media_facts(media_text: str, base_uri: str | None = None) -> _MediaFacts:
    """Parse and validate a media playlist as :func:`segments_table` does (the same
    :class:`PlaylistError` for the same text), returning :class:`_MediaFacts`."""
    playlist, scan = _parse(media_text, base_uri, "media")
    segments = _complete_segments(playlist)
    durations, total = _durations(segments, scan)
    byteranges = False
    if "EXT-X-BYTERANGE" in scan.tags:
        lengths, _ = _byteranges(segments, scan.lines)  # raises what segments_table raises
        byteranges = any(length is not None for length in lengths)
    return _MediaFacts(
        info=_media_info(playlist, scan, len(segments), total),
        durations=np.asarray(durations, dtype=np.float64),
        byteranges=byteranges,
        discontinuities=sum(1 for seg in segments if seg.discontinuity),
    )


@_documents("segments")
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
    playlist, scan = _parse(media_text, base_uri, "media")
    segments = _complete_segments(playlist)
    n = len(segments)
    none: list[Any] = [None] * n
    durations, total = _durations(segments, scan)
    duration_array = np.asarray(durations, dtype=np.float64)
    starts = np.zeros(n, dtype=np.float64)
    if n > 1:
        np.cumsum(duration_array[:-1], out=starts[1:])

    resolve = _resolver(base_uri)
    uris = _resolve_all([seg.uri for seg in segments], base_uri, resolve)

    lengths, offsets = none, none
    if "EXT-X-BYTERANGE" in scan.tags:
        lengths, offsets = _byteranges(segments, scan.lines)

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
        dates = _utc_times(times)
    else:
        dates = _utc_times(none)

    sequence = playlist.media_sequence or 0
    out: dict[str, Any] = {
        "index": np.arange(n, dtype=np.int64),
        "media_sequence": np.arange(sequence, sequence + n, dtype=np.int64),
        "uri": _strings(uris),
        "duration": duration_array,
        "start": starts,
        "byterange_length": _ints(lengths),
        "byterange_offset": _ints(offsets),
        "discontinuity": np.fromiter((seg.discontinuity for seg in segments), bool, n),
        "program_date_time": dates,
        "key_method": _strings(key_methods),
        "key_uri": _strings(key_uris),
        "init_uri": _strings(init_uris),
        "title": _strings([seg.title or None for seg in segments]),
    }
    frame = _frame(out, "segments")
    frame.attrs.update(asdict(_media_info(playlist, scan, n, total)))
    return frame


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NAT = np.iinfo(np.int64).min


def _utc_times(values: list[datetime | None]) -> pd.DatetimeIndex:
    """UTC timestamps (microseconds) from aware datetimes; None becomes NaT."""
    try:
        micros = [_NAT if d is None else (d - _EPOCH) // _MICROSECOND for d in values]
    except TypeError:  # a naive date-time (no UTC offset): let pandas read it as UTC
        return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("us")
    return pd.DatetimeIndex(np.array(micros, np.int64).view("M8[us]")).tz_localize("UTC")


def _byteranges(segments: Any, lines: list[str]) -> tuple[list[Any], list[Any]]:
    """(lengths, offsets) of the segments' EXT-X-BYTERANGEs, implicit offsets resolved."""
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
        if length < 0 or (offset is not None and offset < 0):
            raise PlaylistError(
                f"{_line_of(lines, '#EXT-X-BYTERANGE:', byterange)}#EXT-X-BYTERANGE "
                f"{byterange!r} of segment {i} is not <length>[@<offset>] with non-negative "
                "integers"
            )
        if offset is None:
            if previous_end is None or previous_uri != seg.uri:
                raise PlaylistError(
                    f"{_line_of(lines, '#EXT-X-BYTERANGE:', byterange)}#EXT-X-BYTERANGE "
                    f"{byterange!r} of segment {i} ({seg.uri}) omits its offset, but the "
                    "previous segment is not a sub-range of the same resource "
                    "(RFC 8216 4.3.2.2): write <length>@<offset>"
                )
            offset = previous_end
        lengths.append(length)
        offsets.append(offset)
        previous_uri = seg.uri
        previous_end = offset + length
    return lengths, offsets
