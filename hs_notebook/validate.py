"""Argument validation: the one home for checks on what a caller passed in.

Every checker raises :class:`~hs_notebook.errors.InvalidArgument` (or the exception class
given as ``error``) with a message naming the argument, what it must be and what was given,
and returns the value normalised (``float`` seconds, ``int`` counts, ...). Checks that only
one module needs may stay beside it; anything used twice lives here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeGuard, TypeVar

from hs_notebook.errors import HeapStreamError, InvalidArgument

__all__ = [
    "Progress",
    "choice",
    "clamped_float",
    "decoded_text",
    "flag",
    "fraction",
    "instance_of",
    "is_finite_number",
    "is_number",
    "line_number",
    "non_negative_seconds",
    "positive_int",
    "positive_seconds",
    "progress_arg",
    "string_list",
    "unicode_text",
    "unix_seconds",
]

T = TypeVar("T")


def is_number(value: Any) -> bool:
    """True for an int or float that is not a bool (finite or not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite_number(value: Any) -> TypeGuard[int | float]:
    """True for an int, or a finite float, that is not a bool (JSON's NaN, Infinity and
    1e400 are not; an int of any size is, without converting it to float)."""
    return is_number(value) and (not isinstance(value, float) or math.isfinite(value))


def clamped_float(value: int | float, bound: float = 1e300) -> float:
    """A finite number as a float for arithmetic, ints beyond +-``bound`` clamped (float()
    of such an int overflows; any time that far away compares alike)."""
    return float(min(max(value, -bound), bound))


def unix_seconds(name: str, value: Any, *, error: type[HeapStreamError] = InvalidArgument) -> float:
    """``value`` (a datetime or finite UNIX seconds) as float UNIX seconds."""
    if isinstance(value, datetime):
        return value.timestamp()
    if not is_finite_number(value):
        raise error(f"{name} must be a datetime or finite UNIX seconds, got {value!r}")
    return clamped_float(value)


def positive_int(
    name: str,
    value: Any,
    *,
    optional: bool = False,
    minimum: int = 1,
    error: type[HeapStreamError] = InvalidArgument,
) -> int | None:
    """``value`` as an int >= ``minimum`` (``None`` passes when ``optional``)."""
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise error(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def positive_seconds(
    name: str,
    value: Any,
    *,
    optional: bool = False,
    hint: str = "",
    error: type[HeapStreamError] = InvalidArgument,
) -> float | None:
    """``value`` as finite seconds > 0 (``None`` passes when ``optional``)."""
    if optional and value is None:
        return None
    if is_number(value) and math.isfinite(value) and value > 0:
        return float(value)
    extra = f" {hint}" if hint else ""
    raise error(f"{name} must be seconds > 0 (an int or float){extra}; got {value!r}")


def non_negative_seconds(
    name: str,
    value: Any,
    *,
    finite: bool = True,
    error: type[HeapStreamError] = InvalidArgument,
) -> float:
    """``value`` as seconds >= 0 (finite unless ``finite=False``, where ``inf`` means
    "no limit")."""
    if not is_number(value) or math.isnan(value):
        raise error(f"{name} must be seconds (a number >= 0), got {value!r}")
    if value < 0 or (finite and math.isinf(value)):
        raise error(f"{name} must be {'finite ' if finite else ''}seconds >= 0, got {value}")
    return float(value)


def instance_of(
    value: Any, kind: type[T], expected: str, *, error: type[HeapStreamError] = InvalidArgument
) -> T:
    """``value`` when it is a ``kind``; else ``error`` with ``expected`` (what the argument
    must be and where one comes from) and the type that was given."""
    if not isinstance(value, kind):
        raise error(f"{expected}, got {type(value).__name__}")
    return value


def flag(name: str, value: Any, *, error: type[HeapStreamError] = InvalidArgument) -> bool:
    """``value`` when it is ``True`` or ``False`` (not merely truthy)."""
    if not isinstance(value, bool):
        raise error(f"{name} must be True or False, got {value!r}")
    return value


def fraction(name: str, value: Any, *, error: type[HeapStreamError] = InvalidArgument) -> float:
    """``value`` as a float in [0, 1]."""
    if not is_number(value) or math.isnan(value):
        raise error(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise error(f"{name} must be a fraction in [0, 1], got {value}")
    return float(value)


def string_list(
    name: str, values: Any, *, dedupe: bool = True, error: type[HeapStreamError] = InvalidArgument
) -> list[str]:
    """``values`` as a list of strings (never one bare string), de-duplicated in order."""
    if isinstance(values, str):
        raise error(f"{name} must be a list of strings, not one string")
    if not isinstance(values, Iterable):
        raise error(f"{name} must be an iterable of strings, got {type(values).__name__}")
    items = list(values)
    bad = [v for v in items if not isinstance(v, str)]
    if bad:
        raise error(f"{name} must hold strings, got {bad[0]!r}")
    return list(dict.fromkeys(items)) if dedupe else items


def unicode_text(name: str, value: str, *, error: type[HeapStreamError] = InvalidArgument) -> str:
    """``value`` when it is valid Unicode text: no lone surrogate (``"\\ud800"``, as left by
    ``errors="surrogateescape"``), which no URL, file or terminal can carry.  The message
    quotes the surrogate and its position, never the text (it may hold a token)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise error(
            f"{name} holds a lone surrogate ({value[exc.start]!r} at position {exc.start}), "
            "which is not valid Unicode text: decode the bytes it came from as UTF-8 (with "
            "errors='replace' if they may be broken)"
        ) from None
    return value


def choice(
    name: str, value: Any, options: Iterable[str], *, error: type[HeapStreamError] = InvalidArgument
) -> str:
    """``value`` when it is one of ``options`` (strings), else an error listing them."""
    allowed = list(options)
    if not isinstance(value, str) or value not in allowed:
        raise error(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


#: A ``progress=`` argument (segment probing, quality scoring, QA): a tqdm bar (``True``),
#: none (``False``), or a function called as ``fn(done, total, what)`` at every step, where
#: ``what`` names the stage (``"probing segments"``, ``"fetching 720p"``, ``"scoring"``, ...),
#: for a display of one's own.
Progress = bool | Callable[[int, int, str], object]


def progress_arg(
    name: str, value: Any, *, error: type[HeapStreamError] = InvalidArgument
) -> Progress:
    """``value`` when it is a :data:`Progress`: ``True``/``False`` (a progress bar or
    none) or a function called as ``fn(done, total, what)`` (a widget's own display)."""
    if isinstance(value, bool) or callable(value):
        return value
    raise error(f"{name} must be True, False or a function fn(done, total, what), got {value!r}")


def line_number(text: str, index: int) -> int:
    """1-based line number of character ``index`` of ``text`` (CR, LF and CRLF end lines)."""
    head = text[:index]
    return head.count("\n") + head.count("\r") - head.count("\r\n") + 1


def decoded_text(what: str, value: Any, *, error: type[HeapStreamError]) -> str:
    """``value``, a document passed as str or bytes, as str: bytes decoded as UTF-8, a
    leading BOM dropped.  Bytes that are not UTF-8, and a str with a lone surrogate (text
    decoded with ``errors="surrogateescape"``), raise ``error`` naming the line; anything
    but str or bytes raises :class:`~hs_notebook.errors.InvalidArgument`.  ``what`` names
    the document in the messages (``"master playlist"``, ``"WebVTT text"``)."""
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise error(f"the {what} is not UTF-8 text ({exc})") from None
    if not isinstance(value, str):
        raise InvalidArgument(
            f"the {what} must be str (or UTF-8 bytes), got {type(value).__name__}"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: no Unicode text has one
        raise error(
            f"line {line_number(value, exc.start)}: the {what} holds "
            f"U+{ord(value[exc.start]):04X}, a lone surrogate (not a Unicode character: text "
            "decoded with errors='surrogateescape'?); decode the bytes as UTF-8 or pass them "
            "as bytes"
        ) from None
    return value[1:] if value.startswith("\ufeff") else value
