"""The sync face: :class:`Client` runs an :class:`~hs_notebook.http.AsyncClient` on a
private event-loop thread, so it blocks like any sync call yet also works inside a Jupyter
cell (where a loop is already running) and can run many requests concurrently."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import os
import threading
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, Concatenate, ParamSpec, TypeVar, Unpack, cast

import httpx

from hs_notebook.errors import FetchError, InvalidArgument
from hs_notebook.http._async import AsyncClient, ClientSettings
from hs_notebook.http._responses import describe_exception
from hs_notebook.redaction import redact
from hs_notebook.validate import positive_int, positive_seconds

__all__ = ["Client", "SyncStream", "default_client"]

T = TypeVar("T")
P = ParamSpec("P")


def _blocking(
    method: Callable[Concatenate[AsyncClient, P], Awaitable[T]],
) -> Callable[Concatenate[Client, P], T]:
    """The :class:`Client` face of an :class:`AsyncClient` request method: the same
    arguments (and signature, docstring), run on the client's loop thread and waited for."""

    @functools.wraps(method)
    def blocking(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.run(lambda ac: method(ac, *args, **kwargs))

    blocking.__module__ = __name__
    blocking.__qualname__ = f"Client.{method.__name__}"
    return blocking


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
                "use the async API (AsyncClient, fetch_ladder_async) there"
            )
        if self.closing:
            _discard(coro)
            raise _closed_error()
        try:
            future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(
                coro,  # type: ignore[arg-type]
                self.loop,
            )
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
    and can run many requests concurrently with :meth:`run`.  Same keyword arguments as
    :class:`AsyncClient` (:class:`ClientSettings`).  Use it as a ``with`` block or call
    :meth:`close`.
    """

    def __init__(self, **settings: Unpack[ClientSettings]) -> None:
        # validate eagerly (AsyncClient's checks), build lazily on first use
        probe = AsyncClient(**settings)
        self._kwargs: dict[str, Any] = {**settings, "headers": dict(settings.get("headers") or {})}
        self.timeout = probe.timeout
        self.deadline = probe.deadline
        self.retries = probe.retries
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
    fetch = _blocking(AsyncClient.fetch)
    get_text = _blocking(AsyncClient.get_text)
    get_bytes = _blocking(AsyncClient.get_bytes)
    head = _blocking(AsyncClient.head)

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

    def iter_bytes(
        self, chunk_size: int = 1 << 16, *, idle_timeout: float | None = None
    ) -> Iterator[bytes]:
        """The body, in chunks of ``chunk_size`` bytes (the last one shorter).

        A dropped connection or a body shorter than Content-Length raises
        :class:`FetchError` (with the httpx error as ``__cause__``).  With
        ``idle_timeout`` (seconds), a chunk that takes longer than that to arrive raises
        :class:`FetchError` too: a body that stalls, or trickles in slower than
        ``chunk_size`` bytes per ``idle_timeout``, cannot hold the reader forever (the
        per-read timeout alone does not stop a byte every few seconds, nor a starved
        HTTP/2 stream).
        """
        positive_int("chunk_size", chunk_size)
        idle = positive_seconds(
            "idle_timeout", idle_timeout, optional=True, hint="or None for no limit"
        )
        agen = cast(AsyncGenerator[bytes, None], self._response.aiter_bytes(chunk_size))
        try:
            while True:
                try:
                    step = agen.__anext__()
                    chunk = self._runner.submit(
                        step if idle is None else asyncio.wait_for(step, idle)
                    )
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise FetchError(
                        f"GET {redact(self.final_url)} stalled: no {chunk_size}-byte chunk of "
                        f"the body arrived within idle_timeout={idle:g} s (a stalled or "
                        "trickling origin); pass a larger idle_timeout, or None for no limit",
                        url=redact(self.final_url),
                    ) from None
                except (httpx.TransportError, httpx.StreamError) as exc:
                    raise FetchError(
                        f"GET {redact(self.final_url)} failed while reading the body: "
                        f"{describe_exception(exc, self._timeout)}",
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
