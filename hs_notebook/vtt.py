"""WebVTT text tracks and storyboards as pandas DataFrames: pure text in, tables out.

A small, strict-enough WebVTT parser (no dependency):

- the file starts with ``WEBVTT`` (optionally after a UTF-8 BOM, optionally followed by a
  space or tab and free text); header lines run to the first blank line;
- blocks are separated by blank lines; ``NOTE``, ``STYLE`` and ``REGION`` blocks are
  skipped;
- a cue is an optional identifier line, a timing line ``start --> end [settings]`` and
  its text lines (joined with ``"\\n"``); timestamps are ``hh:mm:ss.ttt`` or
  ``mm:ss.ttt`` (hours may have more than two digits);
- CRLF, CR and LF line ends are all accepted.

:func:`cues_table` tabulates a text track, :func:`storyboard_table` a storyboard (cues
whose text is a sprite image with a ``#xywh=x,y,w,h`` media fragment). Every column is
documented once, in :data:`COLUMNS`; times are float seconds.

Malformed input raises :class:`hs_notebook.errors.VTTError` with the line number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import numpy as np
import pandas as pd

from hs_notebook._columns import documents
from hs_notebook.errors import InvalidArgument, VTTError

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
_TIMESTAMP = re.compile(r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})")
_TIMING = re.compile(r"(\S+?)[ \t]*-->[ \t]*(\S+)(?:[ \t]+(.*?))?[ \t]*")
_XYWH = re.compile(r"(?:pixel:)?(\d+),(\d+),(\d+),(\d+)")


def _seconds(stamp: str, lineno: int) -> float:
    match = _TIMESTAMP.fullmatch(stamp)
    if match is None:
        raise VTTError(
            f"line {lineno}: bad timestamp {stamp!r}: expected hh:mm:ss.ttt or mm:ss.ttt "
            "(minutes and seconds 00-59, exactly three decimals)"
        )
    hours, minutes, seconds, millis = match.groups()
    total_ms = (int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)) * 1000 + int(millis)
    return total_ms / 1000


def _is_block(line: str, keyword: str) -> bool:
    """``line`` opens a NOTE/STYLE/REGION block: the keyword, then nothing, space or tab."""
    return line.startswith(keyword) and (len(line) == len(keyword) or line[len(keyword)] in " \t")


def _parse(text: Any) -> list[tuple[Cue, int]]:
    """Cues with the line number of their timing line."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise VTTError(f"the WebVTT file is not UTF-8 text ({exc})") from None
    if not isinstance(text, str):
        raise InvalidArgument(f"the WebVTT text must be str, got {type(text).__name__}")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise VTTError("the WebVTT text is empty: there is nothing to parse")
    lines = _LINE_BREAK.split(text)
    if not _is_block(lines[0], "WEBVTT"):
        hint = (
            " (it is an HLS playlist: use hs_notebook.hls)"
            if lines[0].startswith("#EXTM3U")
            else ""
        )
        raise VTTError(
            f"line 1: a WebVTT file must start with 'WEBVTT', got {lines[0][:60]!r}{hint}"
        )

    # Group the lines into blocks separated by blank lines: (first line number, lines).
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            current = None
        elif current is None:
            current = [line]
            blocks.append((lineno, current))
        else:
            current.append(line)

    header_start, header = blocks[0]
    for offset, line in enumerate(header[1:], 1):
        if "-->" in line:
            raise VTTError(
                f"line {header_start + offset}: a cue timing line inside the WEBVTT header; "
                "put a blank line between the header and the first cue"
            )

    cues: list[tuple[Cue, int]] = []
    for first_lineno, block in blocks[1:]:
        head = block[0]
        if _is_block(head, "NOTE") or _is_block(head, "STYLE") or _is_block(head, "REGION"):
            continue
        if "-->" in head:
            cue_id, timing_at = None, 0
        elif len(block) > 1 and "-->" in block[1]:
            cue_id, timing_at = head.strip(), 1
        else:
            raise VTTError(
                f"line {first_lineno}: block {head[:60]!r} is not a cue: no "
                "'start --> end' timing line (and not a NOTE, STYLE or REGION block)"
            )
        lineno = first_lineno + timing_at
        timing = block[timing_at].strip()
        match = _TIMING.fullmatch(timing)
        if match is None:
            raise VTTError(
                f"line {lineno}: bad cue timing line {timing!r}: expected "
                "'start --> end [settings]'"
            )
        start = _seconds(match.group(1), lineno)
        end = _seconds(match.group(2), lineno)
        if end < start:
            raise VTTError(
                f"line {lineno}: the cue ends ({match.group(2)}) before it starts "
                f"({match.group(1)})"
            )
        payload = block[timing_at + 1 :]
        for offset, line in enumerate(payload, timing_at + 1):
            if "-->" in line:
                raise VTTError(
                    f"line {first_lineno + offset}: '-->' inside cue text; cues must be "
                    "separated by a blank line"
                )
        cues.append(
            (Cue(start, end, "\n".join(payload), cue_id or None, match.group(3) or None), lineno)
        )
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


def _tile(text: str, lineno: int) -> tuple[str, int, int, int, int]:
    """(image reference without fragment, x, y, w, h) from a storyboard cue's text."""
    ref = text.strip()
    if not ref or "\n" in ref:
        raise VTTError(
            f"line {lineno}: a storyboard cue must hold one image reference like "
            f"'sprite-0.jpg#xywh=0,0,160,90', got {ref[:80]!r}"
        )
    image, hash_, fragment = ref.partition("#")
    if not hash_ or not fragment.startswith("xywh="):
        raise VTTError(
            f"line {lineno}: storyboard cue {ref[:80]!r} has no #xywh=x,y,w,h fragment "
            "telling where the tile is in the sprite"
        )
    value = fragment[len("xywh=") :]
    if value.startswith("percent:"):
        raise VTTError(
            f"line {lineno}: #xywh=percent: tiles are not supported (in {ref[:80]!r}); "
            "storyboard tiles must be given in pixels"
        )
    match = _XYWH.fullmatch(value)
    if match is None or not image:
        raise VTTError(
            f"line {lineno}: bad tile in {ref[:80]!r}: expected image#xywh=x,y,w,h with "
            "non-negative integer pixels"
        )
    x, y, w, h = (int(v) for v in match.groups())
    if w == 0 or h == 0:
        raise VTTError(f"line {lineno}: the tile in {ref[:80]!r} has zero width or height")
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
            numbers, or with ``#xywh=percent:`` (not supported).
    """
    if base_uri is not None and not isinstance(base_uri, str):
        raise InvalidArgument(f"base_uri must be a str or None, got {type(base_uri).__name__}")
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
