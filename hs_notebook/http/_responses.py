"""Responses: the :class:`Fetched` result, body checks (``expect=``), and the mapping
of HTTP error statuses and transport failures to the project's errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from hs_notebook.diagnose import diagnose
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
from hs_notebook.http._rules import origin_of, origin_text, token_of
from hs_notebook.redaction import redact
from hs_notebook.urls import parse_signed_url

#: Most bytes of an error answer read (only its JSON ``reason`` / ``detail`` is needed).
MAX_ERROR_BODY = 64 * 1024
RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
RETRY_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,  # ConnectError, ReadError, WriteError, CloseError
    httpx.RemoteProtocolError,  # dropped mid-message, truncated body
)

Expect = Literal["playlist", "vtt"] | None


def check_expect(expect: Any) -> None:
    """Raise :class:`InvalidArgument` unless ``expect`` is ``"playlist"``, ``"vtt"`` or None."""
    if expect is not None and expect not in ("playlist", "vtt"):
        raise InvalidArgument(
            f"expect must be 'playlist', 'vtt' or None, got {redact(repr(expect))}"
        )


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
        return decode_body(self.content, self.headers)

    def __repr__(self) -> str:
        return f"<Fetched {self.status} {redact(self.final_url)} {len(self.content)} bytes>"


def decode_body(content: bytes, headers: httpx.Headers) -> str:
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


def looks_binary(content: bytes, text: str, ctype: str) -> bool:
    """Whether a body is binary data (an image, a video segment, ...) rather than text."""
    if ctype.startswith(_BINARY_TYPE_PREFIXES) or ctype in _BINARY_TYPES:
        return True
    sample = content[:1024]
    if b"\x00" in sample:
        return True
    head = text[:1024]
    odd = sum(1 for c in head if c == "\ufffd" or (not c.isprintable() and c not in "\t\r\n\f"))
    return odd * 10 > len(head)  # more than a tenth unreadable


def snippet(text: str, limit: int = _SNIPPET) -> str:
    """The start of ``text`` safe to quote: whitespace runs folded to one space,
    unprintable characters shown as ``?``, token values redacted, at most ``limit``
    characters (``…`` when cut)."""
    folded = " ".join(text[: limit * 4].split())
    clean = "".join(c if c.isprintable() and c != "\ufffd" else "?" for c in folded)
    clean = redact(clean)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def check_expected(
    content: bytes, text: str, headers: httpx.Headers, url: str, expect: Expect
) -> None:
    """Raise unless the body (``content``, decoded as ``text``) is what ``expect`` says."""
    if expect is None:
        return
    check_expect(expect)
    error: type[HeapStreamError]
    if expect == "playlist":
        marker, error, what = "#EXTM3U", PlaylistError, "an HLS playlist"
    else:
        marker, error, what = "WEBVTT", VTTError, "WebVTT"
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    head = text.lstrip()[:200]
    looks_html = ctype in ("text/html", "application/xhtml+xml") or head[:1] == "<"
    if text.startswith(marker) and not looks_html:
        return
    size = len(content)
    if looks_binary(content, text, ctype):
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
        f"{snippet(head)!r})"
    )


def retry_after(headers: httpx.Headers, cap: float) -> float | None:
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


def describe_exception(exc: BaseException, timeout: httpx.Timeout) -> str:
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


def local_diagnosis(token: str | None, url: str) -> list[Any]:
    """What :func:`~hs_notebook.diagnose.diagnose` finds wrong with ``token`` for ``url``
    (``[]`` when it cannot tell)."""
    if not token:
        return []
    try:
        return list(diagnose(token, url))
    except HeapStreamError:
        return []


def describe_target(url: str) -> tuple[str, str | None]:
    """(``"preset 'abc'"`` style label, project id) for a HeapStream URL, best effort."""
    try:
        signed = parse_signed_url(url)
    except (HeapStreamError, ValueError):
        return "", None
    if signed is None:
        return "", None
    return f"{signed.kind} {redact(repr(signed.id))}", str(signed.project_id)


def _said(payload: dict[str, Any], key: str) -> str | None:
    """A text field of the origin's JSON answer, redacted (an origin may echo the token)."""
    value = payload.get(key)
    return redact(value) if isinstance(value, str) else None


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
        reason = _said(payload, "reason")
        detail = _said(payload, "detail")
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
            reason, detail, url=shown, status=status, diagnosis=local_diagnosis(token_of(url), url)
        )
    if status == 404:
        label, project = describe_target(url)
        detail = _said(payload, "detail")
        msg = f"not found: {label} does not exist in project {project}" if label else "not found"
        msg += f" (404 from {shown})"
        if detail:
            msg += f": {detail}"
        return NotFound(msg, url=shown, status=status)
    phrase = httpx.codes.get_reason_phrase(status)
    return FetchError(f"HTTP {status} {phrase} from {shown}", url=shown, status=status)


def explain_withheld_token(err: TokenRejected, asked: httpx.URL, final: str) -> TokenRejected:
    """``err`` with the context a bare ``missing_token`` lacks when the request carried a
    token and a redirect led to another origin, which (by design) never got it."""
    if not asked.params.get("token") or origin_of(final) == origin_of(asked):
        return err
    there = origin_text(final)
    detail = (
        f"{origin_text(str(asked))} redirected the request to another origin, {there}, and "
        "the token was not forwarded there (tokens never leave the origin they were minted "
        f"for); {there} says: {err.detail}.  Sign the URL for {there} itself, or fix the "
        "redirect"
    )
    return TokenRejected(
        err.reason, detail, url=err.url, status=err.status, diagnosis=err.diagnosis
    )


async def read_body(
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
            raise too_large(url, limit, f"Content-Length {int(length)}", response.status_code)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            if size + len(chunk) > limit:
                if cut:
                    chunks.append(chunk[: limit - size])
                    break
                raise too_large(url, limit, "the body kept coming", response.status_code)
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        await response.aclose()


def bad_redirect(method: str, url: str, why: str) -> FetchError:
    return FetchError(
        f"{method} {redact(url)} was redirected to an invalid URL ({redact(why)}); "
        "the origin's Location header is wrong",
        url=redact(url),
    )


def too_large(url: str, limit: int, why: str, status: int) -> FetchError:
    return FetchError(
        f"the answer from {redact(url)} is larger than max_body_size={limit} bytes ({why}); "
        "pass a larger Client(max_body_size=...) if that is expected, or stream it "
        "(client.stream(url), hs_notebook.download.download)",
        url=redact(url),
        status=status,
    )
