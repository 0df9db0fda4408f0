"""One HTTP client over httpx, with an async face (:class:`AsyncClient`) and a sync face
(:class:`Client`) that share the same retry, redirect and token rules.

The rules, in one place:

* **Retries** (GET and HEAD only): connection errors (refused, reset, dropped, a body
  shorter than its Content-Length), timeouts, HTTP 5xx and 429 are retried up to
  ``retries`` times with exponential backoff and jitter; a ``Retry-After`` header (seconds
  or HTTP date) is honoured, capped at ``max_retry_after``.  Other 4xx are never retried.
* **Errors**: 401/403 raise :class:`~hs_notebook.errors.TokenRejected` with the origin's
  ``reason`` and a local diagnosis of the token; 404 raises
  :class:`~hs_notebook.errors.NotFound`; anything else (or retries spent) raises
  :class:`~hs_notebook.errors.FetchError` naming the last cause.  A body that should be a
  playlist but is not raises :class:`~hs_notebook.errors.PlaylistError` naming what came
  instead (``image/jpeg (71344 bytes)``, or at most 60 printable characters of text).  A
  401/403 from another origin after a redirect that (by the rule below) left the token
  behind says so in its detail.  Arguments of the wrong type or value raise
  :class:`~hs_notebook.errors.InvalidArgument` before anything is sent.
* **Tokens are bearer credentials**: a child URI on the *same origin* (scheme, host,
  port) as its parent that has no ``token`` query parameter gets the parent's token
  (:func:`child_url`); a token is never added to another origin.  Redirects are followed
  by hand (at most :data:`MAX_REDIRECTS` hops) and the ``token`` parameter is stripped
  when a hop leaves the origin the token was sent to (:func:`redirect_url`).  The origin
  is the exact (scheme, host, port): an ``https`` -> ``http`` downgrade on the same host
  loses the token (it would travel in clear text), and so does an ``http`` -> ``https``
  upgrade (a different origin; mint the URL on ``https`` in the first place).  The
  ``Authorization``, ``Cookie`` and ``Proxy-Authorization`` headers given by the caller
  stay on that origin too; no ``Referer`` is ever sent.  URLs in messages, reprs and the
  ``httpx`` log records are redacted.
* **Bounded**: every request has the client's timeouts (connect, each read of a
  streamed body, ...); a body read into memory (:meth:`AsyncClient.fetch` and friends)
  is refused beyond ``max_body_size`` (default :data:`MAX_BODY_SIZE`), an error body is
  read only up to 64 KiB.  Use :meth:`Client.stream` or :func:`hs_notebook.download.download`
  for large files.
* **Deadline**: one in-memory call (:meth:`AsyncClient.fetch`, ``get_text``, ``get_bytes``,
  ``head``) must complete within ``deadline`` seconds (default :data:`DEFAULT_DEADLINE`),
  all its attempts, redirects and backoff sleeps included, else it raises
  :class:`~hs_notebook.errors.FetchError` (``GET <url> did not complete within 60 s
  (...)``): per-read timeouts alone let a server that dribbles a byte every few seconds
  hold a call forever.  A retry whose backoff would end past the deadline is not made.
  Streams (:meth:`Client.stream`, :meth:`AsyncClient.open_stream`) and downloads are
  exempt: they can rightly take long and their per-read timeouts still apply
  (``open_stream(..., deadline=s)`` bounds the opening of one stream if wanted).

The sync :class:`Client` runs the async one on a private event-loop thread, so it works
the same in a script and in a Jupyter cell where an asyncio loop is already running; and
it can run many requests concurrently (:meth:`Client.run`).  Closing it (from any thread)
cancels the requests still running on it: their callers get a :class:`FetchError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import json
import logging
import math
import os
import random
import re
import select
import ssl
import threading
import weakref
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar

import httpcore
import httpx

from hs_notebook.errors import (
    TOKEN_REJECTION_REASONS,
    FetchError,
    HeapStreamError,
    InvalidArgument,
    NotFound,
    PlaylistError,
    TokenRejected,
    VTTError,
)
from hs_notebook.urls import redact_token

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_BODY_SIZE",
    "MAX_REDIRECTS",
    "AsyncClient",
    "Client",
    "Fetched",
    "SyncStream",
    "child_url",
    "default_client",
    "origin_of",
    "redact",
    "redirect_url",
    "same_origin",
    "token_of",
    "with_token",
    "without_token",
]

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: Default upper bound (seconds) of one in-memory call, every attempt included.
DEFAULT_DEADLINE = 60.0
#: Most redirect hops followed for one request.
MAX_REDIRECTS = 5
#: Upper bound (seconds) on how long a ``Retry-After`` header can make us wait.
MAX_RETRY_AFTER = 30.0
#: Upper bound (seconds) of one exponential-backoff sleep.
MAX_BACKOFF = 10.0
#: Default upper bound (bytes) of a body read into memory (playlists, WebVTT, sprites).
MAX_BODY_SIZE = 64 * 1024 * 1024
#: Most bytes of an error answer read (only its JSON ``reason`` / ``detail`` is needed).
_MAX_ERROR_BODY = 64 * 1024

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
_RETRY_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,  # ConnectError, ReadError, WriteError, CloseError
    httpx.RemoteProtocolError,  # dropped mid-message, truncated body
)
_CROSS_ORIGIN_UNSAFE_HEADERS = ("authorization", "cookie", "proxy-authorization")
_DEFAULT_PORTS = {"http": 80, "https": 443}

Expect = Literal["playlist", "vtt"] | None


def _user_agent() -> str:
    try:
        from importlib.metadata import version

        return f"hs_notebook/{version('hs_notebook')}"
    except Exception:  # not installed as a distribution (running from a checkout)
        return "hs_notebook"


# ------------------------------------------------------------------ pure URL rules


def _parse(url: str | httpx.URL) -> httpx.URL:
    """``httpx.URL(url)``, with a malformed URL raised as :class:`InvalidArgument`."""
    if isinstance(url, httpx.URL):
        return url
    if not isinstance(url, str):
        raise InvalidArgument(f"a URL must be a str, got {type(url).__name__}")
    try:
        return httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise InvalidArgument(f"not a valid URL: {redact(str(url))!r} ({exc})") from None


def _request_url(url: str) -> httpx.URL:
    """The URL of a request: absolute http(s), a host, a TCP port in range."""
    u = _parse(url)
    if u.scheme not in ("http", "https") or not u.host:
        raise InvalidArgument(f"not an absolute http(s) URL: {redact(url)!r}")
    if u.port is not None and not 0 < u.port < 65536:
        raise InvalidArgument(f"the port {u.port} of {redact(url)!r} is not in 1-65535")
    return u


def origin_of(url: str | httpx.URL) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of an absolute URL, with the default port made explicit."""
    u = _parse(url)
    scheme = u.scheme.lower()
    return scheme, u.host.lower(), u.port if u.port is not None else _DEFAULT_PORTS.get(scheme)


def same_origin(a: str | httpx.URL, b: str | httpx.URL) -> bool:
    """True when two absolute URLs share scheme, host and port (RFC 6454 origin)."""
    oa, ob = origin_of(a), origin_of(b)
    return bool(oa[1]) and oa == ob


def token_of(url: str | httpx.URL) -> str | None:
    """The value of the ``token`` query parameter, or ``None``."""
    value = _parse(url).params.get("token")
    return value or None


def with_token(url: str | httpx.URL, token: str) -> str:
    """``url`` with its ``token`` query parameter set to ``token``."""
    if not isinstance(token, str):  # a Token is a str
        raise InvalidArgument(f"token must be a str, got {type(token).__name__}")
    return str(_parse(url).copy_set_param("token", str(token)))


def without_token(url: str | httpx.URL) -> str:
    """``url`` with any ``token`` query parameter removed."""
    u = _parse(url)
    return str(u.copy_remove_param("token")) if "token" in u.params else str(u)


def child_url(parent_url: str | httpx.URL, uri: str) -> str:
    """Resolve a playlist child ``uri`` against ``parent_url`` and give it the parent's
    token when (and only when) it is on the parent's origin and carries no token itself.

    >>> child_url("https://h.example/mpl/1/p/?token=T", "seg-0.ts")
    'https://h.example/mpl/1/p/seg-0.ts?token=T'
    >>> child_url("https://h.example/mpl/1/p/?token=T", "https://cdn.example/seg-0.ts")
    'https://cdn.example/seg-0.ts'

    Raises :class:`InvalidArgument` for a malformed parent and
    :class:`~hs_notebook.errors.PlaylistError` for a malformed ``uri``.
    """
    parent = _parse(parent_url)
    if not isinstance(uri, str):
        raise InvalidArgument(f"a playlist URI must be a str, got {type(uri).__name__}")
    try:
        target = parent.join(uri)
    except httpx.InvalidURL as exc:
        raise PlaylistError(
            f"the playlist URI {redact(str(uri))!r} is not a valid URL ({exc})"
        ) from None
    token = parent.params.get("token")
    if token and "token" not in target.params and same_origin(parent, target):
        return with_token(target, token)
    return str(target)


def redirect_url(
    current_url: str | httpx.URL,
    location: str,
    *,
    token: str | None = None,
    token_origin: str | httpx.URL | tuple[str, str, int | None] | None = None,
) -> str:
    """Where a redirect from ``current_url`` with header ``Location: location`` leads.

    ``token`` is the token of the original request and ``token_origin`` the origin it was
    sent to.  The target keeps (or, on that same origin, gets back) the token only on
    ``token_origin``; on any other origin the ``token`` parameter is stripped, even when
    the ``Location`` itself carries one.
    """
    if not isinstance(location, str):
        raise InvalidArgument(f"location must be a str, got {type(location).__name__}")
    if token is not None and not isinstance(token, str):
        raise InvalidArgument(f"token must be a str or None, got {type(token).__name__}")
    try:
        target = _parse(current_url).join(location)
    except httpx.InvalidURL as exc:
        raise InvalidArgument(
            f"not a valid redirect target: {redact(location)!r} ({exc})"
        ) from None
    if token_origin is None:
        home = origin_of(current_url)
    elif isinstance(token_origin, tuple):
        home = token_origin
    else:
        home = origin_of(token_origin)
    if origin_of(target) != home:
        return without_token(target)
    if token and "token" not in target.params:
        return with_token(target, token)
    return str(target)


# a ``token`` parameter as the origin reads it (the name may be percent-encoded), also in
# text that is not a parseable URL; ``;`` and ``#`` count as separators to be safe
_TOKEN_PARAM = re.compile(
    r"(?<=[?&;#])((?:t|%74)(?:o|%6f)(?:k|%6b)(?:e|%65)(?:n|%6e)=)[^&#;\s\"'<>]*", re.I
)


def _redact_text(text: str) -> str:
    """``text`` with every ``token=`` query value in it replaced by ``…``."""
    return _TOKEN_PARAM.sub(r"\1…", text)


def redact(url: str | httpx.URL | None) -> str:
    """``url`` with the token value replaced by ``…`` (safe to show or log).

    Never raises: a malformed URL is redacted as text.
    """
    if url is None:
        return ""
    text = _redact_text(str(url))
    try:
        return redact_token(text)
    except ValueError:  # not parseable as a URL (e.g. an unclosed IPv6 bracket)
        return text


class _RedactTokens(logging.Filter):
    """Redacts ``token=`` values in the records of the ``httpx`` logger, which logs every
    request URL at INFO level (``HTTP Request: GET https://...?token=...``)."""

    hs_notebook_redacts = True

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _redact_text(str(a)) if isinstance(a, str | httpx.URL) else a for a in record.args
            )
        if isinstance(record.msg, str) and "=" in record.msg:
            record.msg = _redact_text(record.msg)
        return True


_httpx_logger = logging.getLogger("httpx")
if not any(getattr(f, "hs_notebook_redacts", False) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_RedactTokens())


# ------------------------------------------------------------------ responses


@dataclass(frozen=True)
class Fetched:
    """A completed response: ``url`` is the URL asked for, ``final_url`` where it was
    answered (after redirects; children resolve against it)."""

    url: str
    final_url: str
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (playlists and WebVTT are UTF-8), BOM removed."""
        return _decode(self.content, self.headers)

    def __repr__(self) -> str:
        return f"<Fetched {self.status} {redact(self.final_url)} {len(self.content)} bytes>"


def _decode(content: bytes, headers: httpx.Headers) -> str:
    charset = "utf-8"
    ctype = headers.get("content-type", "")
    for part in ctype.split(";")[1:]:
        k, _, v = part.strip().partition("=")
        if k.lower() == "charset" and v:
            charset = v.strip('"')
    try:
        text = content.decode(charset, errors="replace")
    except (LookupError, UnicodeError):  # unknown, or e.g. "idna": no error handler
        text = content.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff")


#: Content types whose bodies are never a playlist or WebVTT (compared without parameters).
_BINARY_TYPES = frozenset(
    {
        "application/octet-stream",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/mp4",
        "application/x-protobuf",
    }
)
_BINARY_TYPE_PREFIXES = ("image/", "video/", "audio/", "font/")
#: Most characters of a body quoted in an error message.
_SNIPPET = 60


def _looks_binary(content: bytes, text: str, ctype: str) -> bool:
    """Whether a body is binary data (an image, a video segment, ...) rather than text."""
    if ctype.startswith(_BINARY_TYPE_PREFIXES) or ctype in _BINARY_TYPES:
        return True
    sample = content[:1024]
    if b"\x00" in sample:
        return True
    head = text[:1024]
    odd = sum(1 for c in head if c == "\ufffd" or (not c.isprintable() and c not in "\t\r\n\f"))
    return odd * 10 > len(head)  # more than a tenth unreadable


def _snippet(text: str, limit: int = _SNIPPET) -> str:
    """The start of ``text`` safe to quote: whitespace runs folded to one space,
    unprintable characters shown as ``?``, token values redacted, at most ``limit``
    characters (``…`` when cut)."""
    folded = " ".join(text[: limit * 4].split())
    clean = "".join(c if c.isprintable() and c != "\ufffd" else "?" for c in folded)
    clean = _redact_text(clean)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _check_expected(
    content: bytes, text: str, headers: httpx.Headers, url: str, expect: Expect
) -> None:
    """Raise unless the body (``content``, decoded as ``text``) is what ``expect`` says."""
    if expect is None:
        return
    if expect == "playlist":
        marker, error, what = "#EXTM3U", PlaylistError, "an HLS playlist"
    elif expect == "vtt":
        marker, error, what = "WEBVTT", VTTError, "WebVTT"
    else:
        raise InvalidArgument(f"expect must be 'playlist', 'vtt' or None, got {expect!r}")
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    head = text.lstrip()[:200]
    looks_html = ctype in ("text/html", "application/xhtml+xml") or head[:1] == "<"
    if text.startswith(marker) and not looks_html:
        return
    size = len(content)
    if _looks_binary(content, text, ctype):
        got = ctype if ctype else "binary data (no content-type)"
        hint = (
            "a playlist URL (/mmpl/ master, /mpl/ preset, /mplt/ text track)"
            if expect == "playlist"
            else "a WebVTT URL (a storyboard /sbt/ or a text-track segment)"
        )
        raise error(
            f"expected {what} from {redact(url)} but got {got} ({size} bytes); is this a "
            f"poster, sprite, segment or MP4 URL? Pass {hint}"
        )
    if looks_html:
        hint = (
            "; is this a player page (/e/) rather than a playlist URL (/mmpl/, /mpl/, /mplt/)?"
            if expect == "playlist"
            else ""
        )
        raise error(
            f"expected {what} from {redact(url)} but got an HTML page "
            f"(content-type {ctype or 'unknown'}, {size} bytes){hint}"
        )
    raise error(
        f"the body of {redact(url)} is not {what}: it does not start with {marker} "
        f"(content-type {ctype or 'unknown'}, {size} bytes; it starts with "
        f"{_snippet(head)!r})"
    )


def _retry_after(headers: httpx.Headers, cap: float) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        from datetime import UTC, datetime

        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)


def _describe_exception(exc: BaseException, timeout: httpx.Timeout) -> str:
    if isinstance(exc, httpx.TimeoutException):
        which = {
            httpx.ConnectTimeout: ("connect", timeout.connect),
            httpx.ReadTimeout: ("read", timeout.read),
            httpx.WriteTimeout: ("write", timeout.write),
            httpx.PoolTimeout: ("pool", timeout.pool),
        }.get(type(exc), ("", None))
        kind, secs = which
        limit = f" after {secs:g} s" if secs is not None else ""
        return f"timed out{limit} ({kind + ' ' if kind else ''}timeout)"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({exc or type(exc).__name__})"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return f"the connection was dropped mid-answer ({exc or type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def _diagnosis(token: str | None, url: str) -> list[Any]:
    if not token:
        return []
    try:
        from hs_notebook.diagnose import diagnose
    except ImportError:  # pragma: no cover - diagnose.py is part of the package
        return []
    try:
        return list(diagnose(token, url))
    except HeapStreamError:
        return []


def _describe_target(url: str) -> tuple[str, str | None]:
    """(``"preset 'abc'"`` style label, project id) for a HeapStream URL, best effort."""
    try:
        from hs_notebook.urls import parse_signed_url

        signed = parse_signed_url(url)
    except (ImportError, HeapStreamError, ValueError):
        return "", None
    if signed is None:
        return "", None
    return f"{signed.kind} {signed.id!r}", str(signed.project_id)


def status_error(
    status: int, url: str, body: bytes, headers: httpx.Headers
) -> FetchError | TokenRejected:
    """The exception for an HTTP error answer (``url`` is the real URL; it is redacted)."""
    payload: dict[str, Any] = {}
    if body:
        try:
            loaded = json.loads(body.decode("utf-8", errors="replace"))
            if isinstance(loaded, dict):
                payload = loaded
        except ValueError:
            pass
    shown = redact(url)
    if status in (401, 403):
        reason = payload.get("reason") if isinstance(payload.get("reason"), str) else None
        detail = payload.get("detail") if isinstance(payload.get("detail"), str) else None
        if reason is None:
            reason = "forbidden"
            detail = detail or (
                f"the origin refused the request (HTTP {status}) without saying why; check "
                "the token's video id, key id and expiry"
            )
        elif reason in TOKEN_REJECTION_REASONS:
            plain = TOKEN_REJECTION_REASONS[reason]
            detail = f"{plain} (the origin says: {detail})" if detail else plain
        return TokenRejected(
            reason, detail, url=shown, status=status, diagnosis=_diagnosis(token_of(url), url)
        )
    if status == 404:
        label, project = _describe_target(url)
        detail = payload.get("detail") if isinstance(payload.get("detail"), str) else None
        msg = f"not found: {label} does not exist in project {project}" if label else "not found"
        msg += f" (404 from {shown})"
        if detail:
            msg += f": {detail}"
        return NotFound(msg, url=shown, status=status)
    phrase = httpx.codes.get_reason_phrase(status)
    return FetchError(f"HTTP {status} {phrase} from {shown}", url=shown, status=status)


def _explain_withheld_token(err: TokenRejected, asked: httpx.URL, final: str) -> TokenRejected:
    """``err`` with the context a bare ``missing_token`` lacks when the request carried a
    token and a redirect led to another origin, which (by design) never got it."""
    if not asked.params.get("token") or origin_of(final) == origin_of(asked):
        return err
    there = _origin_text(final)
    detail = (
        f"{_origin_text(str(asked))} redirected the request to another origin, {there}, and "
        "the token was not forwarded there (tokens never leave the origin they were minted "
        f"for); {there} says: {err.detail}.  Sign the URL for {there} itself, or fix the "
        "redirect"
    )
    return TokenRejected(
        err.reason, detail, url=err.url, status=err.status, diagnosis=err.diagnosis
    )


async def _read_body(
    response: httpx.Response, url: str, limit: int, *, method: str = "GET", cut: bool = False
) -> bytes:
    """The (decoded) body of ``response``, at most ``limit`` bytes; the response is closed.

    Beyond ``limit`` the body is cut there when ``cut``, else :class:`FetchError` is raised
    (before any read when ``Content-Length`` already says so).  Counting decoded bytes also
    bounds a compressed "bomb".
    """
    try:
        length = response.headers.get("content-length", "").strip()
        if not cut and method != "HEAD" and length.isdigit() and int(length) > limit:
            raise _too_large(url, limit, f"Content-Length {int(length)}", response.status_code)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            if size + len(chunk) > limit:
                if cut:
                    chunks.append(chunk[: limit - size])
                    break
                raise _too_large(url, limit, "the body kept coming", response.status_code)
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        await response.aclose()


def _bad_redirect(method: str, url: str, why: str) -> FetchError:
    return FetchError(
        f"{method} {redact(url)} was redirected to an invalid URL ({redact(why)}); "
        "the origin's Location header is wrong",
        url=redact(url),
    )


def _too_large(url: str, limit: int, why: str, status: int) -> FetchError:
    return FetchError(
        f"the answer from {redact(url)} is larger than max_body_size={limit} bytes ({why}); "
        "pass a larger Client(max_body_size=...) if that is expected, or stream it "
        "(client.stream(url), hs_notebook.download.download)",
        url=redact(url),
        status=status,
    )


# ------------------------------------------------------------------ argument checks


def _positive_seconds(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _check_timeout(timeout: Any) -> httpx.Timeout:
    """``timeout`` as an :class:`httpx.Timeout`: ``None`` (no timeout), seconds > 0, or an
    ``httpx.Timeout`` whose every part is seconds > 0 or ``None``."""
    if timeout is None:
        return httpx.Timeout(None)
    if isinstance(timeout, httpx.Timeout):
        for part in ("connect", "read", "write", "pool"):
            value = getattr(timeout, part)
            if value is not None and not _positive_seconds(value):
                raise InvalidArgument(
                    f"timeout.{part} must be seconds > 0 or None (no limit), got {value!r}"
                )
        return timeout
    if _positive_seconds(timeout):
        return httpx.Timeout(float(timeout))
    raise InvalidArgument(
        f"timeout must be seconds > 0 (an int or float), an httpx.Timeout, or None for no "
        f"timeout; got {timeout!r}"
    )


def _check_deadline(deadline: Any) -> float | None:
    """``deadline`` as seconds > 0, or ``None`` (no overall limit)."""
    if deadline is None:
        return None
    if _positive_seconds(deadline):
        return float(deadline)
    raise InvalidArgument(
        f"deadline must be seconds > 0 (an int or float) for one whole call, retries "
        f"included, or None for no limit; got {deadline!r}"
    )


@dataclass
class _Call:
    """The progress of one call under a deadline (what its error message reports)."""

    method: str
    url: str
    deadline: float | None
    ends: float | None = None  # event-loop time at which the deadline passes
    attempts: int = 0
    cause: str | None = None  # why the last attempt failed (a retried answer or error)
    status: int | None = None

    def error(self, why: str) -> FetchError:
        assert self.deadline is not None
        shown = redact(self.url)
        return FetchError(
            f"{self.method} {shown} did not complete within {self.deadline:g} s ({why}); "
            "the origin is too slow or keeps failing: pass a larger Client(deadline=...) "
            "(None for no limit), or stream big bodies (client.stream(), download())",
            url=shown,
            status=self.status,
        )

    def refuse_sleep(self, wait: float) -> FetchError | None:
        """The deadline error when sleeping ``wait`` s before a retry would pass it."""
        if self.ends is None:
            return None
        remaining = self.ends - asyncio.get_running_loop().time()
        if wait < remaining:
            return None
        s = "s" if self.attempts != 1 else ""
        return self.error(
            f"{self.attempts} attempt{s}, last: {self.cause}; the next retry, in {wait:.1f} s, "
            f"would start after the deadline ({max(remaining, 0.0):.1f} s left)"
        )


def _check_headers(headers: Any, what: str = "headers") -> dict[str, str]:
    """``headers`` as a dict: ``None`` or a mapping of str names to str values."""
    if headers is None:
        return {}
    if isinstance(headers, httpx.Headers):
        return dict(headers.items())
    if not isinstance(headers, Mapping):
        raise InvalidArgument(
            f"{what} must be a mapping {{name: value}} of strings, got {type(headers).__name__}"
        )
    for name, value in headers.items():
        if not isinstance(name, str) or not name:
            raise InvalidArgument(f"{what}: a header name must be a non-empty str, got {name!r}")
        if not isinstance(value, str):
            raise InvalidArgument(f"{what}[{name!r}] must be a str, got {type(value).__name__}")
    return dict(headers)


def _check_allow_status(allow_status: Any) -> Collection[int]:
    """``allow_status`` as a frozenset of HTTP statuses (ints 100-599)."""
    if isinstance(allow_status, str | bytes) or not isinstance(allow_status, Collection):
        raise InvalidArgument(
            f"allow_status must be a collection of HTTP statuses such as (404,), got "
            f"{allow_status!r}"
        )
    for status in allow_status:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status < 600:
            raise InvalidArgument(
                f"allow_status must hold HTTP statuses (ints 100-599), got {status!r}"
            )
    return frozenset(allow_status)


def _check_expect(expect: Any) -> None:
    if expect is not None and expect not in ("playlist", "vtt"):
        raise InvalidArgument(f"expect must be 'playlist', 'vtt' or None, got {expect!r}")


def _origin_text(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (the default port left out)."""
    scheme, host, port = origin_of(url)
    shown = f"[{host}]" if ":" in host else host
    return (
        f"{scheme}://{shown}"
        if port == _DEFAULT_PORTS.get(scheme)
        else f"{scheme}://{shown}:{port}"
    )


# ------------------------------------------------------------------ transport


def _socket_readable(sock: Any) -> bool:
    """Whether ``sock`` has bytes (or an EOF) waiting: a poll with no wait.  A socket
    without a descriptor counts as readable (its next read returns the EOF)."""
    fd = sock.fileno() if sock is not None else -1
    if fd < 0:
        return True
    if _POLL is None:  # pragma: no cover - Windows
        return bool(select.select([fd], [], [], 0)[0])
    poller = _POLL()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


_POLL = getattr(select, "poll", None)


class _Stream(httpcore.AsyncNetworkStream):
    """httpcore's anyio stream, with ``get_extra_info("is_readable")`` answered from the
    raw socket found once at connect time.

    The connection pool asks every idle connection ``is_readable`` (has the server hung
    up?) each time it assigns a request; through anyio that builds a dict of socket
    attributes and calls ``getpeername`` every time, which made the question cost more
    than the request itself in a busy pool.  The answer is the same poll."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, handing out :class:`_Stream` s."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(
            await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's connection pool with a linear request assignment that hands an HTTP/1.1
    connection to one request at a time.

    httpcore 1.0 re-examines the whole pool whenever a request arrives or finishes, and
    for every idle connection it also builds a list of all connections (quadratic in the
    pool size).  Worse, an idle HTTP/1.1 connection stays "available" until its request
    starts, so requests arriving together are all handed the same one: all but one then
    fail to start on it and go round again, each time re-examining the pool.  This does
    the same bookkeeping in one pass (closed connections dropped; expired ones, and idle
    ones while the pool is above its keep-alive limit, closed; each queued request given
    the first available connection for its origin, else a new one, else one made by
    closing an idle one), except that an HTTP/1.1 connection already handed to a request
    is not handed to another (an HTTP/2 one, which multiplexes, still is).
    """

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        connections = self._connections
        keepalive = self._max_keepalive_connections
        kept: list[httpcore.AsyncConnectionInterface] = []
        count = len(connections)
        for connection in connections:
            if connection.is_closed():
                count -= 1
            elif connection.has_expired() or (connection.is_idle() and count > keepalive):
                count -= 1
                closing.append(connection)
            else:
                kept.append(connection)
        connections[:] = kept
        queued = [r for r in self._requests if r.is_queued()]
        if not queued:
            return closing
        held = {id(r.connection) for r in self._requests if r.connection is not None}

        def free(connection: httpcore.AsyncConnectionInterface) -> bool:
            # held by a request that has not started on it yet: HTTP/1.1 cannot share
            return id(connection) not in held or "HTTP/1.1" not in connection.info()

        for pool_request in queued:
            origin = pool_request.request.url.origin
            chosen = None
            for connection in connections:
                if (
                    connection.can_handle_request(origin)
                    and connection.is_available()
                    and free(connection)
                ):
                    chosen = connection
                    break
            if chosen is None:
                if len(connections) >= self._max_connections:
                    idle = next((c for c in connections if c.is_idle() and id(c) not in held), None)
                    if idle is None:
                        continue  # wait for a connection to come free
                    connections.remove(idle)
                    closing.append(idle)
                chosen = self.create_connection(origin)
                connections.append(chosen)
            pool_request.assign_to_connection(chosen)
            held.add(id(chosen))
        return closing


def _transport(http2: bool, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport over :class:`_Pool` and :class:`_Backend` (same settings as
    httpx's own: TLS verified with the default context and ``SSL_CERT_FILE`` honoured).

    Falls back to httpx's stock pool if this httpx/httpcore lays its transport out
    differently (the tests check which one is in use)."""
    transport = httpx.AsyncHTTPTransport(http2=http2, limits=limits)
    stock = getattr(transport, "_pool", None)
    if type(stock) is httpcore.AsyncConnectionPool and hasattr(stock, "_ssl_context"):
        transport._pool = _Pool(
            ssl_context=stock._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
            network_backend=_Backend(),
        )
    return transport


# ------------------------------------------------------------------ async client


class AsyncClient:
    """The async face: ``await client.get_text(url, expect="playlist")``.

    One connection pool per object (HTTP/2 when the origin offers it).  Use it as an
    ``async with`` block or call :meth:`aclose`.  It belongs to the event loop it is
    first used on.  ``max_body_size`` bounds the bodies read into memory (see the
    module docstring); streamed bodies are not bounded.

    ``timeout`` is seconds > 0, an :class:`httpx.Timeout` (each part seconds > 0 or
    ``None``), or ``None`` for no limit; ``headers`` a mapping of str to str sent with
    every request; ``deadline`` the seconds one in-memory call (:meth:`fetch`,
    :meth:`get_text`, :meth:`get_bytes`, :meth:`head`) may take in all, retries and
    backoff included, or ``None`` for no overall limit (streams are exempt).  Anything
    else raises :class:`InvalidArgument`.
    """

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.2,
        http2: bool = True,
        max_connections: int = 20,
        headers: Mapping[str, str] | None = None,
        max_retry_after: float = MAX_RETRY_AFTER,
        max_body_size: int = MAX_BODY_SIZE,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise InvalidArgument(f"retries must be an int >= 0, got {retries!r}")
        if (
            isinstance(backoff, bool)
            or not isinstance(backoff, int | float)
            or not 0 <= backoff < math.inf  # also refuses NaN
        ):
            raise InvalidArgument(f"backoff must be seconds >= 0, got {backoff!r}")
        if (
            isinstance(max_connections, bool)
            or not isinstance(max_connections, int)
            or max_connections < 1
        ):
            raise InvalidArgument(f"max_connections must be an int >= 1, got {max_connections!r}")
        if not isinstance(http2, bool):
            raise InvalidArgument(f"http2 must be True or False, got {http2!r}")
        checked_timeout = _check_timeout(timeout)
        extra_headers = _check_headers(headers)
        if (
            isinstance(max_retry_after, bool)
            or not isinstance(max_retry_after, int | float)
            or not max_retry_after >= 0  # also refuses NaN
        ):
            raise InvalidArgument(f"max_retry_after must be seconds >= 0, got {max_retry_after!r}")
        if (
            isinstance(max_body_size, bool)
            or not isinstance(max_body_size, int)
            or max_body_size < 1
        ):
            raise InvalidArgument(
                f"max_body_size must be bytes (an int >= 1), got {max_body_size!r}"
            )
        self.deadline = _check_deadline(deadline)
        self.timeout = checked_timeout
        self.retries = retries
        self.backoff = float(backoff)
        self.max_retry_after = float(max_retry_after)
        self.max_body_size = max_body_size
        self.http2 = http2
        self.max_connections = max_connections
        all_headers = {"User-Agent": _user_agent()}
        all_headers.update(extra_headers)
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._http = httpx.AsyncClient(
            http2=http2,
            timeout=self.timeout,
            limits=limits,
            headers=all_headers,
            follow_redirects=False,
            transport=_transport(http2, limits),
        )

    # lifecycle ------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"<AsyncClient retries={self.retries} timeout={self.timeout.read}s "
            f"http2={self.http2}{' closed' if self.is_closed else ''}>"
        )

    # core -----------------------------------------------------------------------------
    def _delay(self, attempt: int) -> float:
        base = min(self.backoff * (2**attempt), MAX_BACKOFF)
        return base / 2 + random.uniform(0, base / 2)

    async def _open(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        parsed: httpx.URL | None = None,
    ) -> tuple[httpx.Response, str]:
        """Send one request following redirects by hand; returns (response, final url).

        ``parsed`` is ``url`` already parsed (a long token URL costs more to parse than
        the rest of a request's bookkeeping, so it is parsed once per request)."""
        first = parsed if parsed is not None else _parse(url)
        token = first.params.get("token") or None
        home = origin_of(first)
        current = url
        target: httpx.URL = first.copy_with(fragment=None) if first.fragment else first
        for _hop in range(MAX_REDIRECTS + 1):
            request = self._http.build_request(method, target, headers=headers)
            if _hop and origin_of(target) != home:
                for name in _CROSS_ORIGIN_UNSAFE_HEADERS:
                    request.headers.pop(name, None)
            try:
                response = await self._http.send(request, stream=True)
            except httpx.RemoteProtocolError as exc:
                # httpx parses Location even when not following it; a bad one is no
                # dropped connection and is not worth retrying
                if "location header" not in str(exc).lower():
                    raise
                raise _bad_redirect(method, current, str(exc)) from None
            location = response.headers.get("location")
            if response.status_code not in _REDIRECTS or not location:
                return response, current
            await response.aclose()
            if response.status_code == 303 and method != "HEAD":
                method = "GET"
            try:
                current = redirect_url(current, location, token=token, token_origin=home)
                target = _request_url(current)
            except InvalidArgument as exc:
                raise _bad_redirect(method, current, str(exc)) from None
            if target.fragment:
                target = target.copy_with(fragment=None)
        raise FetchError(
            f"too many redirects (more than {MAX_REDIRECTS}) starting from {redact(url)}; "
            f"last hop to {redact(current)}",
            url=redact(url),
        )

    async def _refusal_body(
        self, url: str, headers: Mapping[str, str] | None, parsed: httpx.URL | None = None
    ) -> bytes:
        """A HEAD refusal has no body: ask with GET for the origin's reason (the body is
        read only if the GET is refused too)."""
        try:
            probe, _ = await self._open("GET", url, headers, parsed)
        except (httpx.HTTPError, HeapStreamError):
            return b""
        try:
            if probe.status_code in (401, 403):
                return await _read_body(probe, url, _MAX_ERROR_BODY, cut=True)
            return b""
        except httpx.HTTPError:
            return b""
        finally:
            await probe.aclose()

    async def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        allow_status: Collection[int] = (),
        deadline: float | None = None,
    ) -> tuple[httpx.Response, str, bytes]:
        """The request with retries: (response, final url, body).  Unless ``stream``, the
        body is read (at most ``max_body_size`` bytes) and the response closed; with
        ``stream`` the body is ``b""`` and the response open.

        With a ``deadline`` (seconds) the whole call, every attempt and backoff sleep
        included, raises :class:`FetchError` once it has taken that long; a retry that
        could only start after it is not made.  Raises the project's errors for error
        statuses not in ``allow_status``.
        """
        if not isinstance(url, str):
            raise InvalidArgument(
                f"url must be an absolute http(s) URL (a str), got {type(url).__name__}"
            )
        if not url.startswith(("http://", "https://")):
            raise InvalidArgument(f"not an absolute http(s) URL: {redact(url)!r}")
        parsed = _request_url(url)
        headers = _check_headers(headers) or None
        allow_status = _check_allow_status(allow_status)
        call = _Call(method, url, deadline)
        if deadline is None:
            return await self._attempts(call, parsed, headers, stream, allow_status)
        call.ends = asyncio.get_running_loop().time() + deadline
        scope = asyncio.timeout_at(call.ends)
        try:
            async with scope:
                return await self._attempts(call, parsed, headers, stream, allow_status)
        except TimeoutError:
            if not scope.expired():  # not ours (an OS-level timeout): as it is
                raise
            earlier = f"; earlier: {call.cause}" if call.cause else ""
            raise call.error(f"attempt {call.attempts} was still running{earlier}") from None

    async def _attempts(
        self,
        call: _Call,
        parsed: httpx.URL,
        headers: Mapping[str, str] | None,
        stream: bool,
        allow_status: Collection[int],
    ) -> tuple[httpx.Response, str, bytes]:
        """The retry loop of :meth:`_send` (arguments already checked)."""
        method, url = call.method, call.url
        attempt = 0
        while True:
            response: httpx.Response | None = None
            final = url
            call.attempts = attempt + 1
            try:
                response, final = await self._open(method, url, headers, parsed)
                call.url = final
                status = response.status_code
                retryable = status in _RETRY_STATUSES and status not in allow_status
                if retryable and attempt < self.retries:
                    wait = _retry_after(response.headers, self.max_retry_after)
                    if wait is None:
                        wait = self._delay(attempt)
                    await response.aclose()
                    call.cause = f"HTTP {status} {httpx.codes.get_reason_phrase(status)}"
                    call.status = status
                    late = call.refuse_sleep(wait)
                    if late is not None:
                        raise late
                    await asyncio.sleep(wait)
                    attempt += 1
                    continue
                if status >= 400 and status not in allow_status:
                    try:
                        body = await _read_body(response, final, _MAX_ERROR_BODY, cut=True)
                    except httpx.HTTPError:
                        body = b""
                    if method == "HEAD" and status in (401, 403):
                        body = await self._refusal_body(url, headers, parsed)
                    err = status_error(status, final, body, response.headers)
                    if isinstance(err, TokenRejected):
                        err = _explain_withheld_token(err, parsed, final)
                    if status in _RETRY_STATUSES:
                        raise FetchError(
                            f"{err} (gave up after {attempt + 1} attempts)",
                            url=err.url,
                            status=status,
                        )
                    raise err
                if stream:
                    return response, final, b""
                content = await _read_body(
                    response, final, self.max_body_size, method=method, cut=method == "HEAD"
                )
                return response, final, content
            except _RETRY_EXCEPTIONS as exc:
                if response is not None:
                    await response.aclose()
                if attempt < self.retries:
                    wait = self._delay(attempt)
                    call.cause = _describe_exception(exc, self.timeout)
                    call.status = None
                    late = call.refuse_sleep(wait)
                    if late is not None:
                        raise late from exc
                    await asyncio.sleep(wait)
                    attempt += 1
                    continue
                raise FetchError(
                    f"{method} {redact(final)} failed: {_describe_exception(exc, self.timeout)}"
                    f" (gave up after {attempt + 1} attempt{'s' if attempt else ''})",
                    url=redact(final),
                ) from exc
            except httpx.HTTPError as exc:  # invalid URL, unsupported protocol, ...
                if response is not None:
                    await response.aclose()
                raise FetchError(
                    f"{method} {redact(final)} failed: {type(exc).__name__}: {exc}",
                    url=redact(final),
                ) from exc

    # public ---------------------------------------------------------------------------
    async def fetch(
        self,
        url: str,
        *,
        expect: Expect = None,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
    ) -> Fetched:
        """GET ``url`` (retries, redirects, errors as in the module docstring); the whole
        call is bounded by the client's ``deadline``."""
        _check_expect(expect)
        response, final, content = await self._send(
            "GET", url, headers=headers, allow_status=allow_status, deadline=self.deadline
        )
        result = Fetched(str(url), final, response.status_code, response.headers, content)
        if expect is not None:
            _check_expected(result.content, result.text, result.headers, final, expect)
        return result

    async def get_text(
        self, url: str, *, expect: Expect = None, headers: Mapping[str, str] | None = None
    ) -> str:
        """GET ``url`` and return its body as text (BOM stripped).

        ``expect="playlist"`` raises :class:`PlaylistError` unless the body starts with
        ``#EXTM3U``; ``expect="vtt"`` raises :class:`VTTError` unless it starts with WEBVTT.
        """
        return (await self.fetch(url, expect=expect, headers=headers)).text

    async def get_bytes(self, url: str, *, headers: Mapping[str, str] | None = None) -> bytes:
        """GET ``url`` and return the body bytes."""
        return (await self.fetch(url, headers=headers)).content

    async def head(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
    ) -> Fetched:
        """HEAD ``url``; the result has the headers and an empty body (bounded by the
        client's ``deadline``)."""
        response, final, _ = await self._send(
            "HEAD", url, headers=headers, allow_status=allow_status, deadline=self.deadline
        )
        return Fetched(str(url), final, response.status_code, response.headers, b"")

    async def open_stream(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
        deadline: float | None = None,
    ) -> tuple[httpx.Response, str]:
        """Open a streamed GET (status checked, body unread); the caller must
        ``await response.aclose()``.  Returns (response, final url).

        Streams are exempt from the client's ``deadline``; ``deadline`` (seconds) bounds
        the opening only (attempts until the status and headers arrive), not the body."""
        deadline = _check_deadline(deadline)
        response, final, _ = await self._send(
            "GET", url, headers=headers, stream=True, allow_status=allow_status, deadline=deadline
        )
        return response, final


# ------------------------------------------------------------------ sync client


class _LoopThread:
    """A private event loop on a daemon thread."""

    def __init__(self) -> None:
        self.closing = False  # set (before cancelling what runs) when the Client closes
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self._run, name="hs_notebook-client-loop", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Awaitable[T]) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            _discard(coro)
            raise InvalidArgument(
                "a sync hs_notebook Client was called from its own event-loop thread; "
                "use the async API (AsyncClient, inspect_async) there"
            )
        if self.closing:
            _discard(coro)
            raise _closed_error()
        try:
            future = asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]
        except RuntimeError:  # the loop was closed meanwhile
            _discard(coro)
            raise _closed_error() from None
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            if self.closing:
                raise FetchError(
                    "the request was cancelled: its Client was closed while it ran"
                ) from None
            raise
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            if threading.current_thread() is not self.thread:
                self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


def _discard(coro: Awaitable[Any]) -> None:
    """Close a coroutine that will never run (no "never awaited" warning)."""
    close = getattr(coro, "close", None)
    if callable(close):
        close()


def _closed_error() -> InvalidArgument:
    return InvalidArgument("this Client is closed; create a new one")


async def _cancel_all_then_close(inner: AsyncClient) -> None:
    """On the client's loop: cancel every request still running (their sync callers then
    get a FetchError instead of waiting forever), then close the connection pool."""
    me = asyncio.current_task()
    others = [t for t in asyncio.all_tasks() if t is not me]
    for task in others:
        task.cancel()
    if others:
        await asyncio.wait(others, timeout=2)
    if not inner.is_closed:
        await inner.aclose()


def _shutdown(runner: _LoopThread, inner: AsyncClient) -> None:
    runner.closing = True
    try:
        if (
            runner.thread.is_alive()
            and not runner.loop.is_closed()
            and threading.current_thread() is not runner.thread
        ):
            asyncio.run_coroutine_threadsafe(_cancel_all_then_close(inner), runner.loop).result(
                timeout=5
            )
    except Exception:  # interpreter shutdown: the pool dies with the thread anyway
        pass
    runner.stop()


class Client:
    """The sync face: ``client.get_text(url, expect="playlist")``.

    It runs an :class:`AsyncClient` on a private event-loop thread, so it blocks like
    any sync call yet also works inside a Jupyter cell (where a loop is already running)
    and can run many requests concurrently with :meth:`run`.  Same arguments as
    :class:`AsyncClient`.  Use it as a ``with`` block or call :meth:`close`.
    """

    def __init__(
        self,
        *,
        timeout: httpx.Timeout | float | None = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.2,
        http2: bool = True,
        max_connections: int = 20,
        headers: Mapping[str, str] | None = None,
        max_retry_after: float = MAX_RETRY_AFTER,
        max_body_size: int = MAX_BODY_SIZE,
        deadline: float | None = DEFAULT_DEADLINE,
    ) -> None:
        # validate eagerly (AsyncClient's checks), build lazily on first use
        probe = AsyncClient(
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            http2=http2,
            max_connections=max_connections,
            headers=headers,
            max_retry_after=max_retry_after,
            max_body_size=max_body_size,
            deadline=deadline,
        )
        self._kwargs: dict[str, Any] = dict(
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            http2=http2,
            max_connections=max_connections,
            headers=dict(headers or {}),
            max_retry_after=max_retry_after,
            max_body_size=max_body_size,
            deadline=deadline,
        )
        self.timeout = probe.timeout
        self.deadline = probe.deadline
        self.retries = retries
        self._probe: AsyncClient | None = probe
        self._lock = threading.Lock()
        self._runner: _LoopThread | None = None
        self._inner: AsyncClient | None = None
        self._closed = False
        self._pid = os.getpid()
        self._finalizer: weakref.finalize | None = None

    def _ensure(self) -> tuple[_LoopThread, AsyncClient]:
        if self._closed:
            raise InvalidArgument("this Client is closed; create a new one")
        runner, inner = self._runner, self._inner
        if runner is not None and inner is not None and self._pid == os.getpid():
            return runner, inner
        with self._lock:
            if self._runner is None or self._inner is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._runner = _LoopThread()
                self._inner = (
                    self._probe if self._probe is not None else AsyncClient(**self._kwargs)
                )
                self._probe = None
                self._finalizer = weakref.finalize(self, _shutdown, self._runner, self._inner)
            return self._runner, self._inner

    @property
    def async_client(self) -> AsyncClient:
        """The :class:`AsyncClient` this client drives (only usable on its loop: pass
        coroutine functions to :meth:`run`)."""
        return self._ensure()[1]

    def run(self, fn: Callable[[AsyncClient], Awaitable[T]]) -> T:
        """Run ``fn(async_client)`` on the private loop and wait for its result.

        >>> heads = client.run(lambda ac: asyncio.gather(*map(ac.head, urls)))  # doctest: +SKIP
        """
        if not callable(fn):
            raise InvalidArgument(
                f"run() needs a function of the AsyncClient returning an awaitable, got "
                f"{type(fn).__name__}"
            )
        runner, inner = self._ensure()

        async def call() -> T:
            result = fn(inner)
            if not inspect.isawaitable(result):
                raise InvalidArgument(
                    f"run() needs a function returning an awaitable (a coroutine), but it "
                    f"returned {type(result).__name__}"
                )
            return await result

        return runner.submit(call())

    # requests -------------------------------------------------------------------------
    def fetch(
        self,
        url: str,
        *,
        expect: Expect = None,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
    ) -> Fetched:
        """See :meth:`AsyncClient.fetch`."""
        return self.run(
            lambda ac: ac.fetch(url, expect=expect, headers=headers, allow_status=allow_status)
        )

    def get_text(
        self, url: str, *, expect: Expect = None, headers: Mapping[str, str] | None = None
    ) -> str:
        """See :meth:`AsyncClient.get_text`."""
        return self.run(lambda ac: ac.get_text(url, expect=expect, headers=headers))

    def get_bytes(self, url: str, *, headers: Mapping[str, str] | None = None) -> bytes:
        """See :meth:`AsyncClient.get_bytes`."""
        return self.run(lambda ac: ac.get_bytes(url, headers=headers))

    def head(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
    ) -> Fetched:
        """See :meth:`AsyncClient.head`."""
        return self.run(lambda ac: ac.head(url, headers=headers, allow_status=allow_status))

    @contextmanager
    def stream(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        allow_status: Collection[int] = (),
    ) -> Iterator[SyncStream]:
        """A streamed GET: ``with client.stream(url) as s: for chunk in s.iter_bytes(): ...``.

        The status is checked (and retried) before the body starts; errors while reading
        the body are raised as :class:`FetchError` from ``iter_bytes``.  A stream is not
        bounded by the client's ``deadline`` (a big file can rightly take long); each read
        still has the client's read timeout.
        """
        runner, inner = self._ensure()
        response, final = runner.submit(
            inner.open_stream(url, headers=headers, allow_status=allow_status)
        )
        s = SyncStream(response, final, runner, inner.timeout)
        try:
            yield s
        finally:
            s.close()

    # lifecycle ------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection pool and stop the private loop thread."""
        self._closed = True
        if self._finalizer is not None:
            self._finalizer()

    @property
    def is_closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<Client retries={self.retries} timeout={self.timeout.read}s"
            f"{' closed' if self._closed else ''}>"
        )


class SyncStream:
    """A streamed response read from a sync thread (see :meth:`Client.stream`)."""

    def __init__(
        self, response: httpx.Response, final_url: str, runner: _LoopThread, timeout: httpx.Timeout
    ) -> None:
        self._response = response
        self._runner = runner
        self._timeout = timeout
        self.final_url = final_url
        self.status_code: int = response.status_code
        self.headers: httpx.Headers = response.headers
        self._closed = False

    def iter_bytes(self, chunk_size: int = 1 << 16) -> Iterator[bytes]:
        """The body, in chunks of about ``chunk_size`` bytes.

        A dropped connection or a body shorter than Content-Length raises
        :class:`FetchError` (with the httpx error as ``__cause__``).
        """
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise InvalidArgument(f"chunk_size must be an int >= 1, got {chunk_size!r}")
        agen = self._response.aiter_bytes(chunk_size)
        try:
            while True:
                try:
                    chunk = self._runner.submit(agen.__anext__())
                except StopAsyncIteration:
                    return
                except (httpx.TransportError, httpx.StreamError) as exc:
                    raise FetchError(
                        f"GET {redact(self.final_url)} failed while reading the body: "
                        f"{_describe_exception(exc, self._timeout)}",
                        url=redact(self.final_url),
                    ) from exc
                yield chunk
        finally:
            with suppress(Exception):
                self._runner.submit(agen.aclose())

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            with suppress(Exception):
                self._runner.submit(self._response.aclose())

    def __repr__(self) -> str:
        return f"<SyncStream {self.status_code} {redact(self.final_url)}>"


# ------------------------------------------------------------------ shared default

_default: Client | None = None
_default_lock = threading.Lock()


def default_client() -> Client:
    """The process-wide sync :class:`Client` used when no ``client=`` is given
    (connections are reused across calls; recreated after a fork or a close)."""
    global _default
    with _default_lock:
        if _default is None or _default.is_closed or _default._pid != os.getpid():
            _default = Client()
        return _default
