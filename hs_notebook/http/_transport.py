"""The transport: httpx's, over :class:`~hs_notebook.http._pool.LinearPool` and a network
backend whose streams answer "has the server hung up?" with one poll of the socket."""

from __future__ import annotations

import select
import ssl
from typing import Any

import httpcore
import httpx

from hs_notebook.http._pool import linear_pool

__all__ = ["Backend", "Stream", "transport"]

_POLL = getattr(select, "poll", None)


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


class Stream(httpcore.AsyncNetworkStream):
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
        return Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return _socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class Backend(httpcore.AsyncNetworkBackend):
    """httpcore's anyio backend, handing out :class:`Stream` s."""

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
        return Stream(
            await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        return Stream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def transport(
    http2: bool, limits: httpx.Limits, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncHTTPTransport:
    """httpx's transport (TLS verified with ``verify``: the default context, with
    ``SSL_CERT_FILE`` honoured, unless given) over :class:`LinearPool` and
    :class:`Backend`; httpx's stock pool when :func:`linear_pool` declines (it logs
    why).  ``limits`` must keep the keep-alive limit equal to the connection limit."""
    made = httpx.AsyncHTTPTransport(http2=http2, limits=limits, verify=verify)
    pool = linear_pool(getattr(made, "_pool", None), limits, http2, Backend())
    if pool is not None:
        made._pool = pool
    return made
