"""WebVTT text tracks and storyboards as pandas DataFrames: pure text in, tables out.

A small, strict-enough WebVTT parser (no dependency) that finds blocks and cues the way the
W3C WebVTT parser algorithm ("collect a WebVTT block") does:

- the file starts with ``WEBVTT`` (optionally after a UTF-8 BOM, optionally followed by a
  space or tab and free text); header lines run to the first blank line;
- blocks are separated by blank lines (a line of only whitespace counts as blank);
  ``NOTE``, ``STYLE`` and ``REGION`` blocks are skipped;
- a cue is an optional identifier line, a timing line ``start --> end [settings]`` and
  its text lines (joined with ``"\\n"``); timestamps are ``hh:mm:ss.ttt`` or
  ``mm:ss.ttt`` (hours may have more than two digits; ASCII digits only);
- a line containing ``-->`` that is not the timing line of its block (its first line, or
  its second after an identifier) ends that block and starts the next one, as in the W3C
  algorithm: files downloaded from video sites often leave out the blank line between
  cues, and browsers play them. (One stricter rule is kept: a ``-->`` line right under
  ``WEBVTT``, before any blank line, is refused as a missing blank line after the header.)
- CRLF, CR and LF line ends are all accepted.

:func:`cues_table` tabulates a text track, :func:`storyboard_table` a storyboard (cues
whose text is a sprite image with a ``#xywh=x,y,w,h`` media fragment). Every column is
documented once, in :data:`COLUMNS`; times are float seconds.

Malformed input raises :class:`hs_notebook.errors.VTTError` with the line number, where
the W3C algorithm would drop a cue (a bad timing line, a block that is not a cue) and for
what it has no answer to (a time too large for float seconds, a str with lone surrogates,
which is not text). Quoted input in messages is shortened and its query strings elided
(signed URLs carry their tokens there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
import pandas as pd

from hs_notebook import validate
from hs_notebook._columns import documents
from hs_notebook.errors import InvalidArgument, VTTError
from hs_notebook.redaction import redact

__all__ = ["COLUMNS", "Cue", "cues_table", "parse_vtt", "storyboard_table"]

#: Every column of every table of this module, documented once: {table: {column: meaning}}.
COLUMNS: dict[str, dict[str, str]] = {
    "cues": {
        "start": "cue start time, float seconds",
        "end": "cue end time, float seconds",
        "text": 'cue payload; several lines are joined with "\\n" (markup kept as written)',
        "cue_id": "the cue identifier line, or <NA>",
        "settings": 'cue settings after the end time ("align:start line:90%"), or <NA>',
    },
    "storyboard": {
        "start": "start of the time span the tile stands for, float seconds",
        "end": "end of that span, float seconds",
        "image_uri": "sprite image URI, absolute when base_uri was given, its own query "
        "string kept, the #xywh= fragment removed",
        "x": "left edge of the tile in the sprite, int pixels",
        "y": "top edge of the tile in the sprite, int pixels",
        "w": "tile width, int pixels",
        "h": "tile height, int pixels",
        "sprite": "the same image URI as a categorical, for grouping tiles by sprite sheet",
    },
}


def _documents(table: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return documents(COLUMNS, table)


@dataclass(frozen=True, slots=True)
class Cue:
    """One WebVTT cue.

    Attributes:
        start: start time, seconds.
        end: end time, seconds.
        text: the payload lines joined with ``"\\n"``.
        cue_id: the identifier line, or None.
        settings: the settings after the end time, or None.
    """

    start: float
    end: float
    text: str
    cue_id: str | None = None
    settings: str | None = None


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# ASCII digits only, as the W3C algorithm collects them (``\d`` would take any Unicode digit)
_TIMESTAMP = re.compile(r"(?:([0-9]{2,}):)?([0-5][0-9]):([0-5][0-9])\.([0-9]{3})")
_TIMING = re.compile(r"(\S+?)[ \t]*-->[ \t]*(\S+)(?:[ \t]+(.*?))?[ \t]*")
_XYWH = re.compile(r"(?:pixel:)?([0-9]+),([0-9]+),([0-9]+),([0-9]+)")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: The largest time kept exactly to the millisecond in float seconds: 2**53 ms (~285,000 years).
_MAX_MS = 2**53
#: The largest tile coordinate or size: 2**31 - 1 pixels, the largest image any format
#: (PNG) can describe; a larger one is a broken storyboard, not a big sprite.
_MAX_PIXELS = 2**31 - 1


def _excerpt(text: str, limit: int = 60) -> str:
    """``repr`` of at most ``limit`` characters of input, for an error message.

    Query strings are elided (``sprite.jpg?…#xywh=...``): a signed URL carries its token
    there, and no part of a message needs it; a bare JWT elsewhere is redacted too
    (:func:`hs_notebook.redaction.redact`).
    """
    out, rest = [], text
    while (q := rest.find("?")) >= 0:
        out.append(rest[: q + 1] + "…")
        end = rest.find("#", q)
        rest = rest[end:] if end >= 0 else ""
    out.append(rest)
    shown = redact("".join(out))
    return repr(shown if len(shown) <= limit else shown[: limit - 1] + "…")


def _seconds(stamp: str, lineno: int) -> float:
    match = _TIMESTAMP.fullmatch(stamp)
    if match is None:
        raise VTTError(
            f"line {lineno}: bad timestamp {_excerpt(stamp)}: expected hh:mm:ss.ttt or "
            "mm:ss.ttt (ASCII digits, minutes and seconds 00-59, exactly three decimals)"
        )
    hours, minutes, seconds, millis = match.groups()
    hours = (hours or "0").lstrip("0") or "0"
    # the digit count first: int() refuses strings over 4,300 digits (a ValueError)
    total_ms = _MAX_MS + 1
    if len(hours) <= 16:
        total_ms = (int(hours) * 3600 + int(minutes) * 60 + int(seconds)) * 1000 + int(millis)
    if total_ms > _MAX_MS:
        raise VTTError(
            f"line {lineno}: timestamp {_excerpt(stamp, 40)} is too large: times past 2**53 "
            "milliseconds (about 285,000 years) cannot be kept exactly in float seconds"
        )
    return total_ms / 1000


def _is_block(line: str, keyword: str) -> bool:
    """``line`` opens a NOTE/STYLE/REGION block: the keyword, then nothing, space or tab."""
    return line.startswith(keyword) and (len(line) == len(keyword) or line[len(keyword)] in " \t")


def _text(text: Any) -> str:
    """The WebVTT input as str (bytes are decoded as UTF-8), without its BOM."""
    text = validate.decoded_text("WebVTT text", text, error=VTTError)
    if not text.strip():
        raise VTTError("the WebVTT text is empty: there is nothing to parse")
    return text


def _blocks(lines: list[str]) -> list[tuple[int, list[str], int | None]]:
    """The blocks after the header: (line number of the first line, lines, index of the
    timing line or None), cut the way the W3C "collect a WebVTT block" steps cut them.

    A block ends at a blank line, or before a line containing ``-->`` that cannot be its
    timing line (the timing line is the first line, or the second after an identifier):
    that line starts the next block.
    """
    blocks: list[tuple[int, list[str], int | None]] = []
    n, i = len(lines), 1
    while i < n and lines[i].strip():  # the header block, which holds no "-->" line
        if "-->" in lines[i]:
            raise VTTError(
                f"line {i + 1}: a cue timing line inside the WEBVTT header; "
                "put a blank line between the header and the first cue"
            )
        i += 1
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        first, block, timing_at = i, [lines[i]], 0 if "-->" in lines[i] else None
        i += 1
        while i < n and lines[i].strip():
            if "-->" in lines[i]:
                if len(block) > 1 or timing_at is not None:
                    break  # not this block's timing line: it starts the next block
                timing_at = 1
            block.append(lines[i])
            i += 1
        blocks.append((first + 1, block, timing_at))
    return blocks


def _parse(text: Any) -> list[tuple[Cue, int]]:
    """Cues with the line number of their timing line."""
    text = _text(text)
    lines = _LINE_BREAK.split(text)
    if not _is_block(lines[0], "WEBVTT"):
        hint = (
            " (it is an HLS playlist: use hs_notebook.hls)"
            if lines[0].startswith("#EXTM3U")
            else ""
        )
        raise VTTError(
            f"line 1: a WebVTT file must start with 'WEBVTT', got {_excerpt(lines[0])}{hint}"
        )

    cues: list[tuple[Cue, int]] = []
    for first_lineno, block, timing_at in _blocks(lines):
        head = block[0]
        if timing_at is None:
            if _is_block(head, "NOTE") or _is_block(head, "STYLE") or _is_block(head, "REGION"):
                continue
            raise VTTError(
                f"line {first_lineno}: block {_excerpt(head)} is not a cue: no "
                "'start --> end' timing line (and not a NOTE, STYLE or REGION block)"
            )
        lineno = first_lineno + timing_at
        timing = block[timing_at].strip()
        match = _TIMING.fullmatch(timing)
        if match is None:
            raise VTTError(
                f"line {lineno}: bad cue timing line {_excerpt(timing)}: expected "
                "'start --> end [settings]' (a line holding '-->' always starts a new cue, "
                "also inside cue text or a NOTE)"
            )
        start = _seconds(match.group(1), lineno)
        end = _seconds(match.group(2), lineno)
        if end < start:
            raise VTTError(
                f"line {lineno}: the cue ends ({match.group(2)[:40]}) before it starts "
                f"({match.group(1)[:40]})"
            )
        cue_id = head.strip() if timing_at else None
        payload = "\n".join(block[timing_at + 1 :])
        cues.append((Cue(start, end, payload, cue_id or None, match.group(3) or None), lineno))
    return cues


def parse_vtt(text: str) -> list[Cue]:
    """Parse WebVTT text into its cues, in file order.

    Raises:
        VTTError: empty text, no ``WEBVTT`` header, a bad timestamp or timing line, a cue
            that ends before it starts, a block that is not a cue, ...
    """
    return [cue for cue, _ in _parse(text)]


@_documents("cues")
def cues_table(vtt_text: str) -> pd.DataFrame:
    """One row per cue of a WebVTT text track, in file order.

    Raises:
        VTTError: see :func:`parse_vtt`.
    """
    cues = [cue for cue, _ in _parse(vtt_text)]
    return pd.DataFrame(
        {
            "start": np.array([c.start for c in cues], dtype=np.float64),
            "end": np.array([c.end for c in cues], dtype=np.float64),
            "text": pd.array([c.text for c in cues], dtype="string"),
            "cue_id": pd.array([c.cue_id for c in cues], dtype="string"),
            "settings": pd.array([c.settings for c in cues], dtype="string"),
        },
        copy=False,
    )


# RFC 3986 §2: the ASCII characters a URI reference may hold (unreserved, reserved and
# "%" for percent-encodings). Non-ASCII characters are accepted: an IRI (RFC 3987), which
# browsers and players percent-encode as UTF-8.
_URI_ASCII = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_AUTHORITY = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//([^/?#]*)")
_IP_LITERAL_HOST = re.compile(r"(?:[^@]*@)?\[[^\[\]]*\](?::[0-9]*)?")


def _uri_problem(image: str) -> str | None:
    """Why ``image`` is not a valid URI reference (RFC 3986), or None when it is."""
    for index, char in enumerate(image):
        if char.isascii() and char not in _URI_ASCII:
            if char == "\\":
                why = "a backslash, which browsers read as '/' in http(s) URLs"
            elif char == " ":
                why = "a space (write it as %20)"
            elif char.isprintable():
                why = f"{char!r}, which a URI may not hold (percent-encode it)"
            else:
                why = f"the control character U+{ord(char):04X}"
            return f"{why} at character {index + 1}"
        if not char.isascii() and not char.isprintable():
            # spaces, line and paragraph separators, format (bidi) and private-use
            # characters: RFC 3987 keeps them out of IRIs, and they cannot be seen
            return f"the invisible character U+{ord(char):04X} at character {index + 1}"
    bad_percent = _BAD_PERCENT.search(image)
    if bad_percent is not None:
        return (
            f"a '%' at character {bad_percent.start() + 1} that does not start a "
            "percent-encoding (%XX, two hex digits; a literal % is written %25)"
        )
    if "[" in image or "]" in image:
        authority = _AUTHORITY.match(image)
        if (
            authority is None
            or "[" in image[authority.end() :]
            or "]" in image[authority.end() :]
            or not _IP_LITERAL_HOST.fullmatch(authority.group(1))
        ):
            return "'[' or ']' outside an IPv6 host (percent-encode them as %5B and %5D)"
        try:
            urlsplit(image)
        except ValueError:
            return "a bracketed host that is not an IPv6 address"
    return None


def _pixels(value: str, ref: str, lineno: int) -> int:
    """One #xywh= number: ASCII digits, at most :data:`_MAX_PIXELS`."""
    digits = value.lstrip("0") or "0"
    # the digit count first: int() refuses strings over 4,300 digits (a ValueError)
    if len(digits) > 10 or int(digits) > _MAX_PIXELS:
        raise VTTError(
            f"line {lineno}: the tile in {_excerpt(ref, 80)} has a coordinate or size past "
            f"{_MAX_PIXELS:,} pixels, larger than any image can be"
        )
    return int(digits)


def _tile(text: str, lineno: int) -> tuple[str, int, int, int, int]:
    """(image reference without fragment, x, y, w, h) from a storyboard cue's text."""
    ref = text.strip()
    if not ref or "\n" in ref:
        raise VTTError(
            f"line {lineno}: a storyboard cue must hold one image reference like "
            f"'sprite-0.jpg#xywh=0,0,160,90', got {_excerpt(ref, 80)}"
        )
    image, hash_, fragment = ref.partition("#")
    if not hash_ or not fragment.startswith("xywh="):
        raise VTTError(
            f"line {lineno}: storyboard cue {_excerpt(ref, 80)} has no #xywh=x,y,w,h "
            "fragment telling where the tile is in the sprite"
        )
    value = fragment[len("xywh=") :]
    if value.startswith("percent:"):
        raise VTTError(
            f"line {lineno}: #xywh=percent: tiles are not supported (in {_excerpt(ref, 80)}); "
            "storyboard tiles must be given in pixels"
        )
    match = _XYWH.fullmatch(value)
    if match is None or not image:
        raise VTTError(
            f"line {lineno}: bad tile in {_excerpt(ref, 80)}: expected image#xywh=x,y,w,h "
            "with non-negative integer pixels"
        )
    problem = _uri_problem(image)
    if problem is not None:
        raise VTTError(
            f"line {lineno}: the sprite image reference {_excerpt(image, 80)} is not a valid "
            f"URI reference (RFC 3986): it holds {problem}; no browser or player would load "
            "the intended image"
        )
    x, y, w, h = (_pixels(v, ref, lineno) for v in match.groups())
    if w == 0 or h == 0:
        raise VTTError(f"line {lineno}: the tile in {_excerpt(ref, 80)} has zero width or height")
    return image, x, y, w, h


@_documents("storyboard")
def storyboard_table(vtt_text: str, base_uri: str | None = None) -> pd.DataFrame:
    """One row per tile of a storyboard WebVTT (cue text ``image#xywh=x,y,w,h``).

    Args:
        vtt_text: the storyboard WebVTT text.
        base_uri: the URL it was fetched from; image references resolve against it
            (``urljoin`` rules: the base's own query string is not carried over).

    Raises:
        VTTError: see :func:`parse_vtt`; also a cue without ``#xywh=``, with bad
            numbers (not ASCII digits, or past 2**31 - 1 pixels), with ``#xywh=percent:``
            (not supported), or whose image reference is not a valid URI reference
            (RFC 3986: a backslash, a space, a control character, ``"<>^`{|}``, a ``%``
            that starts no ``%XX``, a ``[`` or ``]`` outside an IPv6 host; non-ASCII
            letters are fine, as in an IRI, but not invisible characters such as
            U+00A0 or U+202E). Such a reference names no image a browser or player would
            load, so the storyboard is refused with the line of the first one rather than
            tabulated with URIs that cannot work.
        InvalidArgument: ``base_uri`` is not a str, or not a URL one can resolve against.
    """
    if base_uri is not None:
        if not isinstance(base_uri, str):
            raise InvalidArgument(f"base_uri must be a str or None, got {type(base_uri).__name__}")
        try:
            if _SURROGATE.search(base_uri):
                raise ValueError("it holds a lone surrogate")
            urlsplit(base_uri)
        except ValueError as exc:
            raise InvalidArgument(f"base_uri is not a URL to resolve against: {exc}") from None
    parsed = _parse(vtt_text)
    resolved: dict[str, str] = {}
    n = len(parsed)
    starts = np.empty(n, dtype=np.float64)
    ends = np.empty(n, dtype=np.float64)
    images: list[str] = [""] * n
    boxes = np.empty((n, 4), dtype=np.int64)
    for i, (cue, lineno) in enumerate(parsed):
        image, x, y, w, h = _tile(cue.text, lineno)
        uri = resolved.get(image)
        if uri is None:
            uri = resolved[image] = urljoin(base_uri, image) if base_uri else image
        starts[i] = cue.start
        ends[i] = cue.end
        images[i] = uri
        boxes[i] = (x, y, w, h)
    image_array = pd.array(images, dtype="string")
    return pd.DataFrame(
        {
            "start": starts,
            "end": ends,
            "image_uri": image_array,
            "x": boxes[:, 0],
            "y": boxes[:, 1],
            "w": boxes[:, 2],
            "h": boxes[:, 3],
            "sprite": pd.Categorical(images),
        },
        copy=False,
    )
