"""A real threaded HTTP/1.1 server on 127.0.0.1 for tests that need an origin the sandbox
cannot imitate (misbehaving answers, precise concurrency counts, static files)."""

from __future__ import annotations

import http.server
import threading


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
