"""Hiding tokens: the one home for redaction.

Tokens are bearer credentials.  Everything that shows or records text that may hold one
(error messages, reprs, tables, widgets, log records) passes it through this module:

* :func:`redact` -- a URL or any text with the value of every ``token`` query parameter
  (also percent-encoded names such as ``%74oken=``) and every bare JWT replaced by ``…``;
  never raises.
* :func:`redact_token` -- the same for one URL, with a chosen replacement.
* :func:`excerpt` -- the short, redacted ``repr`` of input quoted in an error message.
* :func:`redact_frame` -- a copy of a DataFrame with its text cells redacted.
* :class:`RedactingFilter` and :func:`install_log_redaction` -- a logging filter on every
  logger that sees requests (``httpx``, ``httpcore.*``, ``hpack.*``, ``h2``), so DEBUG
  records of HTTP/1.1 and HTTP/2 traffic (``:path`` header blocks included) carry no token.

>>> redact("https://h.example/mpl/1/p/?token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2In0.c2ln&x=1")
'https://h.example/mpl/1/p/?token=…&x=1'
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd

from hs_notebook.errors import InvalidArgument

__all__ = [
    "LOGGERS",
    "RedactingFilter",
    "excerpt",
    "install_log_redaction",
    "redact",
    "redact_frame",
    "redact_token",
]

#: What a redacted value is replaced with.
MASK = "…"

# a ``token`` parameter as an origin reads it (the name may be percent-encoded), also in
# text that is not a parseable URL; ``;`` and ``#`` count as separators to be safe
# URL parsers (``urlsplit``, so ``parse_qsl`` and the origin) drop tab, CR and LF anywhere
# in a URL, so ``?tok\ren=T`` is read as a token: they may sit inside the name and value
_SKIP = r"[\t\r\n]*"
_TOKEN_PARAM = re.compile(
    rf"(?<=[?&;#])({_SKIP}(?:t|%74){_SKIP}(?:o|%6f){_SKIP}(?:k|%6b){_SKIP}(?:e|%65){_SKIP}"
    rf"(?:n|%6e){_SKIP}=)(?:[^&#;\s\"'<>]|[\t\r\n](?=[^&#;\s\"'<>]))*",
    re.I,
)
# a compact JWS: base64url header starting with '{"' (``eyJ``), payload, signature
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")


def redact(value: Any, replacement: str = MASK) -> str:
    """``value`` (a URL, ``httpx.URL`` or any text) as text safe to show or log: the value
    of every ``token`` query parameter and every bare JWT replaced by ``replacement``.

    ``None`` gives ``""``; anything else is redacted as ``str(value)``.  Never raises.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if "=" in text:
        text = _TOKEN_PARAM.sub(lambda m: m.group(1) + replacement, text)
    if "eyJ" in text:
        text = _JWT.sub(replacement, text)
    return text


def excerpt(text: str, limit: int = 60, *, quote: bool = True) -> str:
    """At most ``limit`` characters of ``text`` (input quoted in an error message) as its
    ``repr`` (``quote=False``: as they are), :func:`redact`-ed first: a line of a playlist
    may carry a token, and no message needs more than its start to point at it."""
    shown = redact(text)
    shown = shown if len(shown) <= limit else shown[: limit - 1] + MASK
    return repr(shown) if quote else shown


def redact_token(url: str, replacement: str = MASK) -> str:
    """``url`` with the value of its ``token`` parameter (and any bare JWT) replaced (for
    display and logs).  A non-str is returned as it is; never raises."""
    if not isinstance(url, str):
        return url
    return redact(url, replacement)


def redact_frame(frame: pd.DataFrame, columns: Any = None) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (in ``columns``, default: every column holding
    text) are redacted with :func:`redact`; other cells and the dtypes stay as they are."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"redact_frame needs a DataFrame, got {type(frame).__name__}")
    shown = frame.copy()
    names = list(shown.columns) if columns is None else [c for c in columns if c in shown]
    for col in names:
        series = shown[col]
        if not (series.dtype == object or pd.api.types.is_string_dtype(series.dtype)):
            continue
        values = [redact(v) if isinstance(v, str) else v for v in series.tolist()]
        shown[col] = pd.Series(values, index=shown.index, dtype=series.dtype)
    return shown


class RedactingFilter(logging.Filter):
    """A logging filter that redacts tokens in a record's message, arguments and
    exception text.  The message is rendered once (``record.getMessage()``) and redacted,
    so arguments of any type (``bytes`` header values of ``hpack``, URLs, tuples) are
    covered."""

    hs_notebook_redacts = True

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: redact the parts
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


#: Loggers that see requests: httpx (every request URL at INFO), httpcore (traces), hpack
#: (header blocks, ``:path`` included, at DEBUG over HTTP/2), h2 (when given a logger).
#: A filter acts only on its own logger, not on children, hence the full names.
LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.connection_pool",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "hpack",
    "hpack.hpack",
    "hpack.table",
    "h2",
    "h2.connection",
    "h2.stream",
)
_FAMILIES = tuple({name.split(".")[0] for name in LOGGERS})
_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the :class:`RedactingFilter` to every logger of :data:`LOGGERS` and to every
    other logger of those libraries created so far (idempotent, cheap: the HTTP client
    calls it when it is made)."""
    names = set(LOGGERS)
    names.update(
        name for name in list(logging.root.manager.loggerDict) if name.split(".")[0] in _FAMILIES
    )
    for name in names:
        logger = logging.getLogger(name)
        if not any(getattr(f, "hs_notebook_redacts", False) for f in logger.filters):
            logger.addFilter(_FILTER)
