"""Checks on playlist text before and after ``m3u8`` parses it: a ``#EXTM3U`` first line,
the kind of playlist, URI lines after their tags, NAME=VALUE attribute lists, and a line
number for whatever ``m3u8`` trips on.  Internal to :mod:`hs_notebook.hls`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import m3u8
from m3u8.parser import ATTRIBUTELISTPATTERN

from hs_notebook import validate
from hs_notebook.errors import InvalidArgument, PlaylistError
from hs_notebook.redaction import excerpt

__all__ = ["Kind", "Scan", "attribute_list_problem", "line_of", "nth_extinf", "parse_text"]

Kind = Literal["master", "media"]

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
#: A tag's name: what follows ``#`` up to the first character outside ``[A-Z0-9-]`` (a tag
#: written ``#EXT-X-KEY,URI=...`` is named EXT-X-KEY, not its whole line).
_TAG_NAME_RE = re.compile(r"[A-Z0-9-]*")


def tag_name(line: str) -> str:
    """The name (without ``#``) of the tag on ``line``, a stripped line starting ``#``."""
    match = _TAG_NAME_RE.match(line, 1)
    return match.group() if match else ""


@dataclass(slots=True)
class Scan:
    """What one pass over the lines found: tag names, counts, the first structural problem.

    It keeps the text, not its lines: a list of lines costs about 50 bytes a line more than
    the text, and would be held while m3u8 parses (which splits the text once more).  Only
    error messages and rare tags need the lines again (:attr:`lines`)."""

    text: str
    tags: frozenset[str]
    extinf_count: int
    stream_inf_count: int
    problem: str | None

    @property
    def lines(self) -> list[str]:
        """The lines of the text, split again at each use (``str.splitlines`` rules)."""
        return self.text.splitlines()


def _prepare(text: Any, what: str) -> str:
    """Check the type, drop a UTF-8 BOM, refuse empty text and a missing #EXTM3U line."""
    text = validate.decoded_text(what, text, error=PlaylistError)
    stripped = text.lstrip()
    if not stripped:
        raise PlaylistError(f"the {what} text is empty: there is nothing to parse")
    first = stripped[:300].splitlines()[0].strip()
    lineno = len(text[: len(text) - len(stripped)].splitlines()) + 1  # after blank lines
    if first != "#EXTM3U":
        hint = ""
        if first.startswith("<"):
            hint = " (it looks like HTML/XML: was the URL a web page rather than a playlist?)"
        elif first.startswith("{"):
            hint = " (it looks like JSON: probably an error answer from the origin)"
        elif first.startswith("WEBVTT"):
            hint = " (it is a WebVTT file: use hs_notebook.vtt instead)"
        raise PlaylistError(
            f"line {lineno}: an HLS playlist must start with #EXTM3U, got "
            f"{excerpt(first, 80)}{hint}"
        )
    return text


def _check_attribute_list(tag: str, line: str, lineno: int) -> str | None:
    """A problem sentence when ``line`` (a tag with an attribute list) is not NAME=VALUE,...
    or has a value :data:`_VALUE_CHECKS` refuses."""
    _, colon, value = line.partition(":")
    if not colon:
        return None  # no attribute list at all: m3u8 reports missing required attributes
    if _SURE_LISTS[tag].fullmatch(value):
        return None  # the common case, in one match
    return attribute_list_problem(tag, value, lineno)


def attribute_list_problem(tag: str, value: str, lineno: int) -> str | None:
    """A problem sentence when ``value`` (what follows ``#<tag>:`` on line ``lineno``) is not
    NAME=VALUE,... or has a value :data:`_VALUE_CHECKS` refuses; None when it is fine.
    The full check, item by item, that words the problem (:data:`_SURE_LISTS` first
    accepts the common case in one match)."""
    parts = ATTRIBUTELISTPATTERN.split(value)
    for sep in parts[0::2]:
        if sep not in ("", ","):
            what = "an unbalanced quote" if '"' in sep or "'" in sep else f"stray {sep!r}"
            return (
                f"line {lineno}: unparseable attribute list in #{tag}: {what} "
                '(expected NAME=VALUE,NAME="quoted value",...)'
            )
    for item in parts[1::2]:
        if not _ATTRIBUTE_RE.match(item):
            return (
                f"line {lineno}: unparseable attribute list in #{tag}: {excerpt(item.strip())} "
                "is not NAME=VALUE"
            )
    if tag in _VALUE_CHECKS:
        return _check_values(tag, lineno, parts[1::2])
    return None


def scan_lines(text: str) -> Scan:
    """One pass over the lines: tag names, counts, and the first structural problem.

    Structural rules checked: every #EXT-X-STREAM-INF is directly followed by a URI line;
    every #EXTINF is followed by a URI line before the next #EXTINF; every URI line
    belongs to one of those; attribute lists are NAME=VALUE lists.
    """
    tags: set[str] = set()
    add_tag = tags.add
    attribute_tags = _ATTRIBUTE_LIST_TAGS
    pending = ""  # "EXTINF" or "EXT-X-STREAM-INF" while waiting for its URI line
    pending_line = 0
    problem: str | None = None
    extinf = stream_inf = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line[0] != "#":  # a URI line
            if pending:
                pending = ""
            elif problem is None:
                problem = (
                    f"line {lineno}: URI line {excerpt(line, 80)} has no #EXTINF or "
                    "#EXT-X-STREAM-INF before it"
                )
            continue
        if line.startswith("#EXTINF:"):
            name = "EXTINF"
        elif line.startswith("#EXT"):
            name = tag_name(line)
        else:
            continue  # a comment
        add_tag(name)
        if name == "EXTINF":
            extinf += 1
        elif name == "EXT-X-STREAM-INF":
            stream_inf += 1
        elif name in _INT_TAGS:
            if problem is None:
                problem = _check_int_tag(name, line, lineno)
            if pending != "EXT-X-STREAM-INF":
                continue
        elif name not in attribute_tags and pending != "EXT-X-STREAM-INF":
            continue  # the common case: a plain tag, nothing to check
        if problem is not None:
            continue
        if pending and (pending == "EXT-X-STREAM-INF" or name in ("EXTINF", "EXT-X-STREAM-INF")):
            problem = (
                f"line {pending_line}: #{pending} is not followed by a URI line "
                f"(line {lineno} is {excerpt(line)})"
            )
            continue
        if name in ("EXTINF", "EXT-X-STREAM-INF"):
            pending, pending_line = name, lineno
        if name in attribute_tags:
            problem = _check_attribute_list(name, line, lineno)
    if pending and problem is None:
        problem = f"line {pending_line}: #{pending} is not followed by a URI line (end of text)"
    return Scan(text, frozenset(tags), extinf, stream_inf, problem)


def _check_kind(scan: Scan, expect: Kind) -> None:
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


#: The largest integer a table column (int64) holds; RFC 8216 decimal-integers go to 2^64-1.
INT64_MAX = 2**63 - 1
_TOO_LARGE = f"too large (this library reads integers up to {INT64_MAX})"


def _beyond_int64(digits: str) -> bool:
    """``digits`` (decimal digits) write a number past :data:`INT64_MAX`.  The length is
    judged first: ``int()`` refuses a string of more than 4,300 digits."""
    digits = digits.lstrip("0")
    if len(digits) != len(str(INT64_MAX)):
        return len(digits) > len(str(INT64_MAX))
    try:
        return int(digits) > INT64_MAX
    except ValueError:  # digits int() does not read (str.isdigit() takes "²"): not a number
        return False


def _check_int_tag(name: str, line: str, lineno: int) -> str | None:
    """A problem sentence for an integer tag whose value is beyond :data:`INT64_MAX`."""
    value = line.partition(":")[2].strip()
    if value.isdigit() and _beyond_int64(value):
        return f"line {lineno}: #{name} {value!r} is {_TOO_LARGE}"
    return None


#: ``{tag: {attribute: (pattern of its value as written, what it must be)}}``: values
#: checked while scanning, before m3u8 reads them (it truncates ``BANDWIDTH=2560000.4``
#: to an int, and reads a quoted number as if unquoted).  Integers must also fit int64.
_DIGITS_RE = re.compile(r"\d+")
_BITS = "an integer of bits/s (an unquoted decimal-integer, RFC 8216 4.3.4.2)"
_VALUE_CHECKS: dict[str, dict[str, tuple[re.Pattern[str], str]]] = {
    tag: {
        "BANDWIDTH": (_DECIMAL_RE, _BITS),
        "AVERAGE-BANDWIDTH": (_DECIMAL_RE, _BITS),
        "RESOLUTION": (re.compile(r'"?\d+x\d+"?'), "<width>x<height> in pixels"),
    }
    for tag in ("EXT-X-STREAM-INF", "EXT-X-I-FRAME-STREAM-INF")
}
_VALUE_CHECKS["EXT-X-MEDIA"] = {
    "CHANNELS": (re.compile(r".*"), 'a quoted-string such as "2" or "16/JOC"'),
}

#: The values :data:`_VALUE_CHECKS` checks, in their plainest form: at most 18 digits, so
#: every integer fits int64.
_SHORT = "[0-9]{1,18}"
_SURE_VALUES = {
    "BANDWIDTH": _SHORT,
    "AVERAGE-BANDWIDTH": _SHORT,
    "RESOLUTION": f"{_SHORT}x{_SHORT}",
    "CHANNELS": f'"{_SHORT}(?:/[^"]*)?"',
}


def _sure_list(checked: Iterable[str]) -> re.Pattern[str]:
    """A pattern whose full matches :func:`attribute_list_problem` certainly accepts:
    NAME=VALUE items joined by single commas, each value a quoted-string or an unquoted
    run free of quotes, commas and leading white space, and the ``checked`` attributes
    (in any case) only with the plain values of :data:`_SURE_VALUES`."""
    names = sorted(checked)
    item = "[A-Za-z0-9-]+=" + r"""(?:"[^"]*"|[^,"'\s][^,"']*)"""
    if names:  # a checked name (in any case) only in its plain form below
        item = f"(?!(?i:{'|'.join(map(re.escape, names))})=)" + item
    item = "|".join([item, *(f"{re.escape(name)}={_SURE_VALUES[name]}" for name in names)])
    return re.compile(f"(?:{item})(?:,(?:{item}))*")


#: ``{tag: pattern}`` (:func:`_sure_list`) for every tag with an attribute list: one match
#: accepts a line that the item-by-item check would accept too.
_SURE_LISTS = {tag: _sure_list(_VALUE_CHECKS.get(tag, {})) for tag in _ATTRIBUTE_LIST_TAGS}


def _check_values(tag: str, lineno: int, items: list[str]) -> str | None:
    """A problem sentence naming the first attribute (of ``items``, the NAME=VALUE parts of
    line ``lineno``) whose value, as written, is not what RFC 8216 says it is (see
    :data:`_VALUE_CHECKS`), or is too large."""
    checks = _VALUE_CHECKS[tag]
    for item in items:
        name, _, raw = item.strip().partition("=")
        rule = checks.get(name.strip().upper())
        if rule is None:
            continue
        raw = raw.strip()
        if not rule[0].fullmatch(raw):
            shown = excerpt(f"{name}={raw}", quote=False)
            return f"line {lineno}: in #{tag}, {shown} is not {rule[1]}"
        if any(_beyond_int64(n) for n in _DIGITS_RE.findall(raw.split("/")[0])):
            return f"line {lineno}: in #{tag}, {name}={raw[:40]} is {_TOO_LARGE}"
    return None


def _bad_attribute(value: str) -> str | None:
    """'NAME=value is not ...' for the first typed attribute with a malformed value."""
    for item in ATTRIBUTELISTPATTERN.split(value)[1::2]:
        name, _, raw = item.strip().partition("=")
        rule = _TYPED_ATTRIBUTES.get(name.upper())
        if rule is not None and not rule[0].fullmatch(raw.strip().strip('"')):
            return f"{excerpt(f'{name}={raw}', quote=False)} is not {rule[1]}"
    return None


def _explain(lineno: int, line: str, exc: Exception) -> str:
    """A sentence for an m3u8 failure on one line."""
    name = tag_name(line)
    value = line[1 + len(name) :].removeprefix(":")
    bad = _bad_attribute(value) if name in _ATTRIBUTE_LIST_TAGS else None
    if bad:
        return f"line {lineno}: in #{name}, {bad}"
    if name == "EXTINF":
        duration = value.split(",", 1)[0].strip()
        return f"line {lineno}: the #EXTINF duration {excerpt(duration)} is not a number of seconds"
    if name in _INT_TAGS:
        return f"line {lineno}: #{name} {_INT_TAGS[name]}, got {excerpt(value.strip())}"
    if name == "EXT-X-PROGRAM-DATE-TIME":
        return (
            f"line {lineno}: #EXT-X-PROGRAM-DATE-TIME {excerpt(value.strip())} is not an ISO 8601 "
            "date-time"
        )
    if isinstance(exc, KeyError) and exc.args:
        attribute = excerpt(str(exc.args[0]).upper().replace("_", "-"), 40, quote=False)
        return f"line {lineno}: #{name} is missing its required {attribute} attribute"
    return f"line {lineno}: could not parse #{name} ({type(exc).__name__}: {excerpt(str(exc))})"


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
    return PlaylistError(f"could not parse the {what} ({type(exc).__name__}: {excerpt(str(exc))})")


_LAST_MSN_RE = re.compile(r"(?:^|[:,])\s*LAST-MSN\s*=", re.IGNORECASE)


def _complete_rendition_reports(scan: Scan) -> str:
    """The playlist text with ``LAST-MSN`` written into every ``#EXT-X-RENDITION-REPORT``
    that omits it.

    RFC 8216bis 4.4.5.4 lets a report omit LAST-MSN (and LAST-PART) when they equal the
    current playlist's; m3u8 requires LAST-MSN.  The value filled in is the current
    playlist's last Media Sequence Number: EXT-X-MEDIA-SEQUENCE + the complete segments,
    minus one, plus one when Partial Segments follow the last complete one.
    """
    sequence = 0
    last_uri = 0  # index (in lines) of the last URI line
    last_part = -1
    lines = scan.lines
    for i, raw in enumerate(lines):
        line = raw.strip()
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            value = line.partition(":")[2].strip()
            sequence = int(value) if value.isdigit() else 0
        elif line.startswith("#EXT-X-PART:"):
            last_part = i
        elif line and not line.startswith("#"):
            last_uri = i
    last_msn = sequence + scan.extinf_count - 1 + (1 if last_part > last_uri else 0)
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        if line.startswith("#EXT-X-RENDITION-REPORT:") and not _LAST_MSN_RE.search(line):
            raw = f"{line},LAST-MSN={max(last_msn, 0)}"
        out.append(raw)
    return "\n".join(out) + "\n"


def parse_text(text: Any, base_uri: str | None, expect: Kind) -> tuple[m3u8.M3U8, Scan]:
    """Check ``text`` and parse it with m3u8: the model and what the scan of its lines
    found.  Every failure is a :class:`PlaylistError` naming the line where it can."""
    what = f"{expect} playlist"
    if base_uri is not None and not isinstance(base_uri, str):
        raise InvalidArgument(f"base_uri must be a str or None, got {type(base_uri).__name__}")
    text = _prepare(text, what)
    scan = scan_lines(text)
    _check_kind(scan, expect)
    if scan.problem:
        raise PlaylistError(scan.problem)
    if "EXT-X-RENDITION-REPORT" in scan.tags:
        text = _complete_rendition_reports(scan)
    try:
        playlist = m3u8.loads(text, uri=base_uri or None)
    except Exception as exc:  # wrap whatever m3u8 raises; never leak a bare ValueError
        raise _locate(scan.lines, exc, what) from exc
    sequence = playlist.media_sequence or 0
    if sequence < -INT64_MAX - 1:  # m3u8 reads "-9223372036854775809" as a Python int
        raise PlaylistError(
            f"#EXT-X-MEDIA-SEQUENCE {sequence} is too small (this library reads integers "
            f"from {-INT64_MAX - 1}; RFC 8216 allows no negative one)"
        )
    if sequence + max(scan.extinf_count - 1, 0) > INT64_MAX:
        raise PlaylistError(
            f"#EXT-X-MEDIA-SEQUENCE {sequence} + {scan.extinf_count} segments runs past "
            f"{INT64_MAX}, the largest media sequence number this library reads"
        )
    return playlist, scan


def line_of(lines: list[str], prefix: str, value: str) -> str:
    """``"line N: "`` for the first line that reads ``prefix + value``, or ``""``."""
    wanted = prefix + value.strip()
    for lineno, raw in enumerate(lines, 1):
        if raw.strip() == wanted:
            return f"line {lineno}: "
    return ""


def nth_extinf(lines: list[str], index: int) -> str:
    """``"line N: "`` for the ``index``-th (0-based) #EXTINF line."""
    seen = -1
    for lineno, raw in enumerate(lines, 1):
        if raw.lstrip().startswith("#EXTINF"):
            seen += 1
            if seen == index:
                return f"line {lineno}: "
    return ""
