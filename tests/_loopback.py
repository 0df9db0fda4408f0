"""Real servers on 127.0.0.1 for tests that need an origin the sandbox cannot imitate
(misbehaving answers, precise concurrency counts, static files), and a sandbox timing
helper."""

from __future__ import annotations

import contextlib
import http.server
import math
import threading
import time
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
    """A real HTTP/1.1 server on 127.0.0.1 whose every GET and HEAD is answered by
    ``handler`` (not a mock of httpx: the client talks to it over TCP).  ``hits`` counts
    the requests.  Use it as a ``with`` block."""

    def __init__(self, handler: Handler) -> None:
        self.hits = 0
        origin = self

        class _H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                origin.hits += 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    handler(self)

            do_HEAD = do_GET

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


def trickle(every: float, size: int = 100_000) -> Handler:
    """A :class:`RawOrigin` handler that announces ``size`` bytes, then sends one byte
    every ``every`` seconds (for at most a minute): each read is quick, so no read
    timeout ever fires."""

    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "video/mp4")
        h.send_header("Content-Length", str(size))
        h.end_headers()
        ends = time.monotonic() + 60
        while time.monotonic() < ends:
            h.wfile.write(b"\0")
            h.wfile.flush()
            time.sleep(every)

    return answer


def dribble_time(source: Path, slow_body: float) -> float:
    """Seconds the sandbox takes to send ``source`` under ``Faults(slow_body=...)``."""
    return math.ceil(source.stat().st_size / SLOW_BODY_CHUNK) * slow_body


# ---------------- a real HTTP/2-over-TLS origin

_H2_APP = """
import json

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    path, query = scope["path"], scope["query_string"].decode()
    if path.startswith("/moved/"):  # same-origin redirect: the token comes back in Location
        location = "/mmpl/1/v/" + ("?" + query if query else "")
        start = {"type": "http.response.start", "status": 302,
                 "headers": [(b"location", location.encode()), (b"content-length", b"0")]}
        await send(start)
        await send({"type": "http.response.body", "body": b""})
        return
    body = ("#EXTM3U\\n#EXT-X-VERSION:3\\n# " + scope["http_version"] + "\\n").encode()
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/vnd.apple.mpegurl"),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
"""


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A fresh self-signed certificate for 127.0.0.1 and ``localhost`` (it is its own
    CA, so a client can verify against it): ``(cert.pem, key.pem)`` in ``directory``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hs_notebook test origin")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class TlsH2Origin:
    """A real HTTPS origin speaking HTTP/2 (hypercorn, in a child process, so that only
    the client's log records are in this process) with a fresh self-signed certificate.

    Every path answers a tiny playlist naming the HTTP version it was asked over;
    ``/moved/...`` redirects (same origin, query kept) to ``/mmpl/1/v/``.  ``cert`` is the
    certificate to verify against; use it as a ``with`` block."""

    def __init__(self, directory: Path) -> None:
        import socket
        import subprocess
        import sys
        import time

        self.cert, key = self_signed_certificate(directory)
        (directory / "h2_app.py").write_text(_H2_APP, encoding="utf-8")
        with socket.socket() as probe:  # a free port (hypercorn does not report port 0)
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base_url = f"https://127.0.0.1:{port}"
        self._log = directory / "hypercorn.log"
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hypercorn",
                    "--certfile",
                    str(self.cert),
                    "--keyfile",
                    str(key),
                    "--bind",
                    f"127.0.0.1:{port}",
                    "h2_app:app",
                ],
                cwd=directory,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        ends = time.monotonic() + 20
        while True:
            if self._process.poll() is not None:
                err = self._log.read_text(errors="replace")
                raise RuntimeError(f"hypercorn did not start: {err[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > ends:
                self.close()
                raise RuntimeError("hypercorn did not listen within 20 s")
            time.sleep(0.05)

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except Exception:
            self._process.kill()
            self._process.wait(timeout=10)

    def __enter__(self) -> TlsH2Origin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
