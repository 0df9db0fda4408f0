"""The async client: one request with retries, redirects followed by hand under the token
rules, a deadline over the whole call, and bounded bodies (see :mod:`hs_notebook.http`)."""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx

from hs_notebook.errors import FetchError, HeapStreamError, InvalidArgument, TokenRejected
from hs_notebook.http._responses import (
    MAX_ERROR_BODY,
    RETRY_EXCEPTIONS,
    RETRY_STATUSES,
    Expect,
    Fetched,
    bad_redirect,
    check_expect,
    check_expected,
    describe_exception,
    explain_withheld_token,
    read_body,
    retry_after,
    status_error,
)
from hs_notebook.http._rules import (
    CROSS_ORIGIN_UNSAFE_HEADERS,
    MAX_REDIRECTS,
    REDIRECT_STATUSES,
    origin_of,
    parse_url,
    redirect_url,
    request_url,
    single_token,
)
from hs_notebook.http._transport import transport
from hs_notebook.redaction import install_log_redaction, redact
from hs_notebook.validate import flag, non_negative_seconds, positive_int, positive_seconds

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_BACKOFF",
    "MAX_BODY_SIZE",
    "MAX_RETRY_AFTER",
    "AsyncClient",
    "ClientSettings",
    "check_deadline",
    "check_timeout",
]

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: Default upper bound (seconds) of one in-memory call, every attempt included.
DEFAULT_DEADLINE = 60.0
#: Upper bound (seconds) on how long a ``Retry-After`` header can make us wait.
MAX_RETRY_AFTER = 30.0
#: Upper bound (seconds) of one exponential-backoff sleep.
MAX_BACKOFF = 10.0
#: Default upper bound (bytes) of a body read into memory (playlists, WebVTT, sprites).
MAX_BODY_SIZE = 64 * 1024 * 1024


class ClientSettings(TypedDict, total=False):
    """The keyword arguments of :class:`AsyncClient` and :class:`~hs_notebook.http.Client`
    (what each means and its default: :class:`AsyncClient`)."""

    timeout: httpx.Timeout | float | None
    retries: int
    backoff: float
    http2: bool
    max_connections: int
    headers: Mapping[str, str] | None
    max_retry_after: float
    max_body_size: int
    deadline: float | None
    verify: ssl.SSLContext | str | bool


_LOCATION = "hs_notebook.location"


async def _take_location(response: httpx.Response) -> None:
    """Move a redirect's ``Location`` header out of httpx's sight, into
    ``response.extensions``: httpx builds the next request of every redirect even when it
    does not follow it, and a malformed ``Location`` (``http:x``, ``http:////[/x``, a bad
    IDNA label) then escapes as ``httpx.InvalidURL`` or ``ValueError``.  Redirects are
    followed by :meth:`AsyncClient._open`, by the token rules, with our errors."""
    if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
        response.extensions[_LOCATION] = response.headers["location"]
        del response.headers["location"]


def _user_agent() -> str:
    try:
        from importlib.metadata import version

        return f"hs_notebook/{version('hs_notebook')}"
    except Exception:  # not installed as a distribution (running from a checkout)
        return "hs_notebook"


# ------------------------------------------------------------------ argument checks


def check_timeout(timeout: Any) -> httpx.Timeout:
    """``timeout`` as an :class:`httpx.Timeout`: ``None`` (no timeout), seconds > 0, or an
    ``httpx.Timeout`` whose every part is seconds > 0 or ``None``."""
    if timeout is None:
        return httpx.Timeout(None)
    if isinstance(timeout, httpx.Timeout):
        for part in ("connect", "read", "write", "pool"):
            positive_seconds(
                f"timeout.{part}", getattr(timeout, part), optional=True, hint="or None (no limit)"
            )
        return timeout
    seconds = positive_seconds(
        "timeout",
        timeout,
        hint="or an httpx.Timeout, or None for no timeout",
    )
    assert seconds is not None
    return httpx.Timeout(seconds)


def check_deadline(deadline: Any) -> float | None:
    """``deadline`` as seconds > 0, or ``None`` (no overall limit)."""
    return positive_seconds(
        "deadline",
        deadline,
        optional=True,
        hint="for one whole call, retries included, or None for no limit",
    )


def _check_verify(verify: Any) -> ssl.SSLContext | bool:
    """``verify`` as httpx takes it: ``True``/``False``, an :class:`ssl.SSLContext`, or
    (from the path of a CA bundle) a default context trusting that bundle."""
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    if isinstance(verify, str) and verify:
        try:
            return ssl.create_default_context(cafile=verify)
        except (OSError, ssl.SSLError) as exc:
            raise InvalidArgument(
                f"verify={redact(repr(verify))} is not a readable CA bundle (PEM): {exc}"
            ) from None
    raise InvalidArgument(
        "verify must be True (the default CA bundle), False (no TLS verification), the path "
        f"of a CA bundle, or an ssl.SSLContext; got {type(verify).__name__}"
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
            raise InvalidArgument(
                f"{what}: a header name must be a non-empty str, got {redact(repr(name))}"
            )
        if not isinstance(value, str):
            raise InvalidArgument(
                f"{what}[{redact(repr(name))}] must be a str, got {type(value).__name__}"
            )
    return dict(headers)


def _check_allow_status(allow_status: Any) -> Collection[int]:
    """``allow_status`` as a frozenset of HTTP statuses (ints 100-599)."""
    if isinstance(allow_status, str | bytes) or not isinstance(allow_status, Collection):
        raise InvalidArgument(
            f"allow_status must be a collection of HTTP statuses such as (404,), got "
            f"{redact(repr(allow_status))}"
        )
    for status in allow_status:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status < 600:
            raise InvalidArgument(
                f"allow_status must hold HTTP statuses (ints 100-599), got {redact(repr(status))}"
            )
    return frozenset(allow_status)


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
    backoff included, or ``None`` for no overall limit (streams are exempt); ``verify``
    how TLS certificates are checked: ``True`` (the default CA bundle), the path of a CA
    bundle, an :class:`ssl.SSLContext`, or ``False`` (no check: never with real tokens).
    Anything else raises :class:`InvalidArgument`.
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
        verify: ssl.SSLContext | str | bool = True,
    ) -> None:
        positive_int("retries", retries, minimum=0)
        non_negative_seconds("backoff", backoff)
        positive_int("max_connections", max_connections)
        flag("http2", http2)
        checked_timeout = check_timeout(timeout)
        extra_headers = _check_headers(headers)
        non_negative_seconds("max_retry_after", max_retry_after, finite=False)
        positive_int("max_body_size (bytes)", max_body_size)
        self.verify = _check_verify(verify)
        install_log_redaction()  # loggers of libraries imported since (hpack, h2) too
        self.deadline = check_deadline(deadline)
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
            event_hooks={"response": [_take_location]},
            transport=transport(http2, limits, self.verify),
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
        first = parsed if parsed is not None else parse_url(url)
        token = single_token(first)  # two tokens: refused here, before anything is sent
        home = origin_of(first)
        current = url
        target: httpx.URL = first.copy_with(fragment=None) if first.fragment else first
        for _hop in range(MAX_REDIRECTS + 1):
            request = self._http.build_request(method, target, headers=headers)
            if _hop and origin_of(target) != home:
                for name in CROSS_ORIGIN_UNSAFE_HEADERS:
                    request.headers.pop(name, None)
            response = await self._http.send(request, stream=True)
            location = response.extensions.get(_LOCATION)
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response, current
            await response.aclose()
            if response.status_code == 303 and method != "HEAD":
                method = "GET"
            try:
                current = redirect_url(current, location, token=token, token_origin=home)
                target = request_url(current)
                single_token(target)
            except InvalidArgument as exc:
                raise bad_redirect(method, current, str(exc)) from None
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
                return await read_body(probe, url, MAX_ERROR_BODY, cut=True)
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
        parsed = request_url(url)
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
                retryable = status in RETRY_STATUSES and status not in allow_status
                if retryable and attempt < self.retries:
                    wait = retry_after(response.headers, self.max_retry_after)
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
                        body = await read_body(response, final, MAX_ERROR_BODY, cut=True)
                    except httpx.HTTPError:
                        body = b""
                    if method == "HEAD" and status in (401, 403):
                        body = await self._refusal_body(url, headers, parsed)
                    err = status_error(status, final, body, response.headers)
                    if isinstance(err, TokenRejected):
                        err = explain_withheld_token(err, parsed, final)
                    if status in RETRY_STATUSES:
                        raise FetchError(
                            f"{err} (gave up after {attempt + 1} attempts)",
                            url=err.url,
                            status=status,
                        )
                    raise err
                if stream:
                    return response, final, b""
                content = await read_body(
                    response, final, self.max_body_size, method=method, cut=method == "HEAD"
                )
                return response, final, content
            except RETRY_EXCEPTIONS as exc:
                if response is not None:
                    await response.aclose()
                if attempt < self.retries:
                    wait = self._delay(attempt)
                    call.cause = describe_exception(exc, self.timeout)
                    call.status = None
                    late = call.refuse_sleep(wait)
                    if late is not None:
                        raise late from exc
                    await asyncio.sleep(wait)
                    attempt += 1
                    continue
                raise FetchError(
                    f"{method} {redact(final)} failed: {describe_exception(exc, self.timeout)}"
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
        check_expect(expect)
        response, final, content = await self._send(
            "GET", url, headers=headers, allow_status=allow_status, deadline=self.deadline
        )
        result = Fetched(str(url), final, response.status_code, response.headers, content)
        if expect is not None:
            check_expected(result.content, result.text, result.headers, final, expect)
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
        deadline = check_deadline(deadline)
        response, final, _ = await self._send(
            "GET", url, headers=headers, stream=True, allow_status=allow_status, deadline=deadline
        )
        return response, final
