"""A connection pool for httpx with a linear request assignment (an httpcore override).

httpcore 1.0 re-examines the whole pool whenever a request arrives or finishes, and for
every idle connection it also builds a list of all connections (quadratic in the pool
size).  Worse, an idle HTTP/1.1 connection stays "available" until its request starts,
so requests arriving together are all handed the same one: all but one then fail to
start on it and go round again, each time re-examining the pool.  Upstream:
encode/httpcore#1035 ("Fix 2 bugs and improve performance from O(N²+NxM) to O(N+M) in
_assign_requests_to_connections", open) and encode/httpcore#1110 (the pool can close a
connection it has already handed to a queued request).

:class:`LinearPool` overrides that one private method of httpcore's
``AsyncConnectionPool``, so it is used only on the httpcore versions it was tested with
(:data:`TESTED_HTTPCORE`) and only when the pool has the private attributes it reads;
otherwise :func:`linear_pool` returns ``None``, logs one warning, and the client keeps
httpx's stock pool (correct, only slower with many concurrent requests).

**Invariant** (checked in :class:`LinearPool`'s constructor): the keep-alive limit equals
the connection limit.  The pass below closes idle connections only while the pool holds
more than the keep-alive limit, which then never happens, so an idle connection already
handed to a queued request (its request has not started on it yet) is never closed under
that request (encode/httpcore#1110); the only other closing of an idle connection, to make
room for a new one, skips connections handed to a request.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpcore
import httpx

__all__ = ["TESTED_HTTPCORE", "LinearPool", "linear_pool"]

#: httpcore versions (``>= low, < high``) whose private pool layout :class:`LinearPool`
#: was tested against.
TESTED_HTTPCORE = ((1, 0, 5), (1, 1, 0))

_log = logging.getLogger("hs_notebook.http")
_warned: set[str] = set()


def _version(text: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", text)[:3]
    return tuple(int(p) for p in parts) if parts else (0,)


def _fallback(why: str) -> None:
    """Log (once per reason and process) that the stock pool is used."""
    if why not in _warned:
        _warned.add(why)
        _log.warning(
            "hs_notebook uses httpx's stock connection pool: %s; requests work, but many "
            "concurrent ones are slower (see encode/httpcore#1035)",
            why,
        )


class LinearPool(httpcore.AsyncConnectionPool):
    """httpcore's connection pool with a linear request assignment that hands an HTTP/1.1
    connection to one request at a time.

    It does the same bookkeeping as httpcore 1.0 in one pass (closed connections dropped;
    expired ones, and idle ones while the pool is above its keep-alive limit, closed; each
    queued request given the first available connection for its origin, else a new one,
    else one made by closing an idle one), except that an HTTP/1.1 connection already
    handed to a request is not handed to another (an HTTP/2 one, which multiplexes, still
    is).  Requires ``max_keepalive_connections == max_connections`` (see the module
    docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self._max_keepalive_connections != self._max_connections:
            raise ValueError(
                "LinearPool needs max_keepalive_connections == max_connections (an idle "
                "connection handed to a queued request must never be closed as surplus)"
            )

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        connections = self._connections
        # the invariant makes ``count > keepalive`` below never true: no held connection
        # is closed as surplus (encode/httpcore#1110)
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


def linear_pool(
    stock: Any, limits: httpx.Limits, http2: bool, backend: httpcore.AsyncNetworkBackend
) -> LinearPool | None:
    """A :class:`LinearPool` to replace ``stock`` (httpx's pool, whose TLS context it
    reuses), or ``None`` with a logged warning when this httpcore is not one it was
    tested with, lays its pool out differently, or ``limits`` break the invariant."""
    low, high = TESTED_HTTPCORE
    found = _version(getattr(httpcore, "__version__", "0"))
    if not low <= found < high:
        _fallback(
            f"httpcore {getattr(httpcore, '__version__', '?')} is outside the tested range "
            f"{'.'.join(map(str, low))} to <{'.'.join(map(str, high))}"
        )
        return None
    if type(stock) is not httpcore.AsyncConnectionPool or not all(
        hasattr(stock, name)
        for name in ("_ssl_context", "_connections", "_requests", "_max_connections")
    ):
        _fallback(f"this httpx lays out its transport differently ({type(stock).__name__})")
        return None
    if limits.max_keepalive_connections != limits.max_connections:
        _fallback("the keep-alive limit differs from the connection limit")
        return None
    return LinearPool(
        ssl_context=stock._ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
        network_backend=backend,
    )
