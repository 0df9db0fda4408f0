"""Real servers on 127.0.0.1 for tests that need an origin the sandbox cannot imitate
(misbehaving answers, precise concurrency counts, static files), and a sandbox timing
helper."""

from __future__ import annotations

import contextlib
import http.server
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hs_notebook.sandbox.faults import SLOW_BODY_CHUNK


class LoopbackServer:
    """Serve ``handler`` (a ``BaseHTTPRequestHandler`` class) on an ephemeral loopback
    port in a daemon thread; ``base_url`` is its origin, :meth:`close` stops it."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class RawOrigin:
    """A real HTTP/1.1 server on 127.0.0.1 whose every GET is answered by ``handler``
    (not a mock of httpx: the client talks to it over TCP).  ``hits`` counts the GETs.
    Use it as a ``with`` block."""

    def __init__(self, handler: Handler) -> None:
        self.hits = 0
        origin = self

        class _H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                origin.hits += 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    handler(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._loopback = LoopbackServer(_H)
        self.base_url = self._loopback.base_url

    def close(self) -> None:
        self._loopback.close()

    def __enter__(self) -> RawOrigin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def dribble_time(source: Path, slow_body: float) -> float:
    """Seconds the sandbox takes to send ``source`` under ``Faults(slow_body=...)``."""
    return math.ceil(source.stat().st_size / SLOW_BODY_CHUNK) * slow_body
