"""Deterministic fault injection for the sandbox origin, as pure ASGI middleware.

A :class:`Faults` value describes what goes wrong (latency, 5xx answers, dropped
connections, truncated bodies, slow bodies) and how often.  Every decision is a pure
function of ``(seed, method, path, n)`` where ``n`` counts the requests seen so far for that
``(method, path)`` pair since the faults were set: the same sequence of requests meets the
same faults on every run, and a retried request (``n + 1``) gets an independent draw.

Draws are made in this order; the first that fires wins:

1. ``drop_rate``: the connection is closed without any response (the client sees a
   disconnect such as ``httpx.RemoteProtocolError``);
2. ``error_rate``: an ``error_status`` (503) JSON answer, with ``Retry-After`` when
   ``retry_after`` is set;
3. ``truncate_rate``: the answer's headers promise the whole body (``Content-Length``) but
   the connection is closed after half of it.

``latency`` applies to every affected request, before anything else; ``slow_body`` waits
that many seconds before each body chunk (bodies are cut into 16 KiB chunks while it is on).
``paths`` is a regular expression (``re.search`` on the URL path) limiting which requests
are affected; the sandbox's internal ``/_sandbox/`` paths are never affected.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from hs_notebook.errors import InvalidArgument

__all__ = [
    "INTERNAL_PREFIX",
    "RAW_SEND_SCOPE_KEY",
    "FaultDecision",
    "FaultInjector",
    "FaultMiddleware",
    "Faults",
    "abort_connection",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths under this prefix (health checks) bypass faults and the request log.
INTERNAL_PREFIX = "/_sandbox/"
#: Scope key where the outermost sandbox middleware stores the server's own ``send``, so an
#: inner middleware can reach the connection (uvicorn's cycle object has ``.transport``).
RAW_SEND_SCOPE_KEY = "hs_notebook.raw_send"
#: Chunk size used to split bodies while ``slow_body`` is on.
SLOW_BODY_CHUNK = 16 * 1024


def _check_rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidArgument(f"Faults.{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise InvalidArgument(f"Faults.{name} must be a fraction in [0, 1], got {value}")
    return float(value)


def _check_seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidArgument(f"Faults.{name} must be seconds (a number >= 0), got {value!r}")
    if value < 0 or math.isinf(value):
        raise InvalidArgument(f"Faults.{name} must be finite seconds >= 0, got {value}")
    return float(value)


@dataclass(frozen=True)
class Faults:
    """What the sandbox does wrong, and how often. All off by default.

    Attributes:
        latency: seconds added before answering each affected request.
        error_rate: fraction of affected requests answered with ``error_status``.
        error_status: the status of injected errors (a 5xx, 503 by default).
        retry_after: when set, injected errors carry ``Retry-After: <seconds>`` (an integer
            when whole, else a decimal such as ``0.2``, handy for fast tests).
        drop_rate: fraction of affected requests whose connection is closed without a
            response.
        truncate_rate: fraction of affected responses whose body is cut in half while
            ``Content-Length`` promises the whole (HEAD and length-less answers are exempt).
        slow_body: seconds of delay before each body chunk.
        seed: seeds the deterministic draws.
        paths: a regular expression; only paths where it matches (``re.search``) are
            affected. ``None`` affects every path.

    Frozen: change faults with ``sandbox.faults = dataclasses.replace(old, ...)``; setting
    them restarts the per-path request counters.
    """

    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    retry_after: float | None = None
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    slow_body: float = 0.0
    seed: int = 0
    paths: str | None = None
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "truncate_rate"):
            object.__setattr__(self, name, _check_rate(name, getattr(self, name)))
        for name in ("latency", "slow_body"):
            object.__setattr__(self, name, _check_seconds(name, getattr(self, name)))
        if self.retry_after is not None:
            object.__setattr__(self, "retry_after", _check_seconds("retry_after", self.retry_after))
        status = self.error_status
        if isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599:
            raise InvalidArgument(f"Faults.error_status must be a 5xx status, got {status!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InvalidArgument(f"Faults.seed must be an int, got {self.seed!r}")
        if self.paths is not None:
            if not isinstance(self.paths, str):
                raise InvalidArgument(f"Faults.paths must be a regex string, got {self.paths!r}")
            try:
                pattern = re.compile(self.paths)
            except re.error as exc:
                raise InvalidArgument(
                    f"Faults.paths is not a valid regular expression ({exc}): {self.paths!r}"
                ) from None
            object.__setattr__(self, "_pattern", pattern)

    @property
    def active(self) -> bool:
        """True when any fault can happen."""
        return bool(
            self.latency
            or self.error_rate
            or self.drop_rate
            or self.truncate_rate
            or self.slow_body
        )

    def affects(self, path: str) -> bool:
        """True when requests to ``path`` are subject to these faults."""
        if path.startswith(INTERNAL_PREFIX):
            return False
        return self._pattern is None or self._pattern.search(path) is not None

    def uniform(self, method: str, path: str, n: int, what: str, salt: int = 0) -> float:
        """The deterministic draw in [0, 1) for one decision ``what`` of request ``n``."""
        text = f"{self.seed}\x00{salt}\x00{method.upper()}\x00{path}\x00{n}\x00{what}"
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        return int.from_bytes(digest[:8], "big") / 2.0**64

    def decide(self, method: str, path: str, n: int, salt: int = 0) -> FaultDecision:
        """What happens to the ``n``-th (0-based) ``method path`` request."""
        drop = self.uniform(method, path, n, "drop", salt) < self.drop_rate
        error = not drop and self.uniform(method, path, n, "error", salt) < self.error_rate
        truncate = (
            not drop
            and not error
            and method.upper() != "HEAD"
            and self.uniform(method, path, n, "truncate", salt) < self.truncate_rate
        )
        return FaultDecision(
            n=n,
            latency=self.latency,
            drop=drop,
            error=error,
            truncate=truncate,
            slow_body=self.slow_body,
        )


@dataclass(frozen=True)
class FaultDecision:
    """The faults chosen for one request."""

    n: int
    latency: float
    drop: bool
    error: bool
    truncate: bool
    slow_body: float


class FaultInjector:
    """A :class:`Faults` value plus the per-(method, path) request counters (thread-safe)."""

    def __init__(self, faults: Faults | None, salt: int = 0) -> None:
        if faults is not None and not isinstance(faults, Faults):
            raise InvalidArgument(
                f"faults must be a hs_notebook.sandbox.Faults or None, got {type(faults).__name__}"
            )
        self.faults = faults
        self.salt = salt
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def next_decision(self, method: str, path: str) -> FaultDecision | None:
        """Count this request and decide its faults (``None`` when it is unaffected)."""
        faults = self.faults
        if faults is None or not faults.active or not faults.affects(path):
            return None
        key = (method.upper(), path)
        with self._lock:
            n = self._counts.get(key, 0)
            self._counts[key] = n + 1
        return faults.decide(method, path, n, self.salt)


async def abort_connection(scope: Scope) -> bool:
    """Close the client's TCP connection without (more of) a response.

    Uses the server's ``send`` stored under :data:`RAW_SEND_SCOPE_KEY`; with uvicorn that
    is a bound method of the request cycle, which holds the transport.  Returns False when
    the connection could not be reached (another ASGI server), so the caller can fall back.
    """
    raw_send = scope.get(RAW_SEND_SCOPE_KEY)
    cycle = getattr(raw_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    # Let the loop run connection_lost() so the server marks the cycle as disconnected and
    # does not try to answer 500 for a request we dropped on purpose.
    for _ in range(20):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
    return True


class _InjectedDrop(Exception):
    """Raised to abort a response when the connection cannot be closed directly."""


def _retry_after_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class FaultMiddleware:
    """ASGI middleware applying the faults returned by ``get_injector()`` to each request."""

    def __init__(self, app: ASGIApp, get_injector: Callable[[], FaultInjector | None]) -> None:
        self.app = app
        self.get_injector = get_injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        injector = self.get_injector()
        decision = (
            injector.next_decision(scope["method"], scope["path"]) if injector is not None else None
        )
        if decision is None:
            await self.app(scope, receive, send)
            return
        faults = injector.faults if injector is not None else None
        assert faults is not None
        if decision.latency > 0:
            await asyncio.sleep(decision.latency)
        if decision.drop:
            if not await abort_connection(scope):
                raise _InjectedDrop("connection dropped by the sandbox's fault injection")
            return
        if decision.error:
            await self._send_error(send, faults, decision)
            return
        if decision.truncate or decision.slow_body > 0:
            send = _ShapedSend(scope, send, decision)
        await self.app(scope, receive, send)

    @staticmethod
    async def _send_error(send: Send, faults: Faults, decision: FaultDecision) -> None:
        body = json.dumps(
            {
                "error": "injected_fault",
                "status": faults.error_status,
                "detail": "answer injected by the sandbox's fault injection (Faults.error_rate)",
            }
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if faults.retry_after is not None:
            headers.append((b"retry-after", _retry_after_text(faults.retry_after).encode()))
        await send(
            {"type": "http.response.start", "status": faults.error_status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})


class _ShapedSend:
    """Wraps ``send`` to slow down and/or truncate the response body."""

    def __init__(self, scope: Scope, send: Send, decision: FaultDecision) -> None:
        self.scope = scope
        self.send = send
        self.decision = decision
        self.limit: int | None = None  # bytes allowed before the cut (truncation only)
        self.sent = 0
        self.closed = False

    async def __call__(self, message: Message) -> None:
        if self.closed:
            return
        if message["type"] == "http.response.start":
            if self.decision.truncate:
                length = None
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-length":
                        length = int(value)
                if length is not None and length > 0:
                    self.limit = length // 2
            await self.send(message)
            return
        if message["type"] != "http.response.body":
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        delay = self.decision.slow_body
        if delay > 0 and len(body) > SLOW_BODY_CHUNK:
            pieces = [body[i : i + SLOW_BODY_CHUNK] for i in range(0, len(body), SLOW_BODY_CHUNK)]
        else:
            pieces = [body]
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            if delay > 0 and piece:
                await asyncio.sleep(delay)
            if self.limit is not None and len(piece) >= self.limit - self.sent:
                room = self.limit - self.sent
                if room > 0:
                    await self.send(
                        {"type": "http.response.body", "body": piece[:room], "more_body": True}
                    )
                    self.sent += room
                self.closed = True
                if not await abort_connection(self.scope):
                    raise _InjectedDrop("response truncated by the sandbox's fault injection")
                return
            self.sent += len(piece)
            await self.send(
                {"type": "http.response.body", "body": piece, "more_body": more or not last}
            )
