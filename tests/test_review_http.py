"""Review of the HTTP layer (client.py, download.py): one test per fix, against the real
sandbox on loopback, plus a few regression tests of the token-isolation rules.

Two tests need an origin that misbehaves in ways the sandbox cannot (a body that never
ends, a 416 to every request): they use :class:`_RawOrigin`, a real HTTP/1.1 server on
127.0.0.1 written for the purpose (not a mock of httpx: the client talks to it over TCP).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _loopback import LoopbackServer

from hs_notebook.download import download
from hs_notebook.errors import (
    DownloadError,
    FetchError,
    HeapStreamError,
    InvalidArgument,
    PlaylistError,
)
from hs_notebook.http import (
    AsyncClient,
    Client,
    Fetched,
    child_url,
    origin_of,
    redirect_url,
    same_origin,
    token_of,
)
from hs_notebook.redaction import redact
from hs_notebook.sandbox.faults import Faults

# ---------------------------------------------------------------- a misbehaving origin

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class _RawOrigin:
    """A real HTTP/1.1 server on 127.0.0.1 whose every GET is answered by ``handler``."""

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


@pytest.fixture
def raw_origin() -> Iterator[Callable[[Handler], _RawOrigin]]:
    made: list[_RawOrigin] = []

    def make(handler: Handler) -> _RawOrigin:
        made.append(_RawOrigin(handler))
        return made[-1]

    yield make
    for origin in made:
        origin.close()


def _mp4(sb: Any, index: int = 0) -> tuple[str, Path]:
    rendition = sb.media.renditions[index]
    return sb.signed_url("mp4", sb.videos[sb.video_id].presets[rendition.name]), rendition.mp4


# ---------------------------------------------------------------- client: tokens in output


def test_httpx_log_records_never_carry_the_token(sandbox: Any, caplog: Any) -> None:
    """httpx logs every request URL at INFO; a notebook with logging at INFO showed tokens."""
    url = sandbox.signed_url("master", sandbox.video_id)
    token = token_of(url)
    assert token
    with caplog.at_level(logging.DEBUG), Client() as c:
        c.get_text(url, expect="playlist")
    lines = [r.getMessage() for r in caplog.records]
    assert any("HTTP Request" in line for line in lines), "httpx logged the request"
    assert not any(token in line for line in lines)
    assert any("token=…" in line for line in lines)


def test_redact_never_raises_and_hides_encoded_token_names() -> None:
    # an unclosed IPv6 bracket made redact() itself raise ValueError inside error messages
    assert "SECRET" not in redact("http://[::1/x?token=SECRET")
    # the origin decodes the parameter name, so this is a working token: hide it too
    assert token_of("http://h.example/x?tok%65n=SECRET") == "SECRET"
    assert "SECRET" not in redact("http://h.example/x?tok%65n=SECRET")
    assert "SECRET" not in redact("http://h.example/x?a=b;token=SECRET")


def test_an_odd_charset_from_the_origin_cannot_break_decoding() -> None:
    for charset in ("idna", "punycode", "base64", "no-such-charset"):
        headers = httpx.Headers(
            {"content-type": f"application/vnd.apple.mpegurl; charset={charset}"}
        )
        got = Fetched("http://h/x", "http://h/x", 200, headers, b"#EXTM3U\n\xff#EXT")
        assert got.text.startswith("#EXTM3U\n")


# ---------------------------------------------------------------- client: malformed URLs


def test_malformed_urls_raise_our_own_errors_without_the_token() -> None:
    with Client(retries=0) as c:
        for bad in ("http://127.0.0.1:99999/x?token=SECRET", "http://[::1/x?token=SECRET"):
            with pytest.raises(InvalidArgument) as info:
                c.get_text(bad)
            assert "SECRET" not in str(info.value)
    with pytest.raises(InvalidArgument):
        origin_of("http://[::1/x")
    with pytest.raises(PlaylistError, match="not a valid URL"):
        child_url("http://h.example/mpl/1/p/?token=T", "http://h.example:1:2/seg.ts")


@pytest.mark.parametrize("location", ["http://[::1/x", "http://127.0.0.1:99999/x"])
def test_an_invalid_redirect_is_one_fetch_error_not_retried(sandbox: Any, location: str) -> None:
    path = "/review-bad-location/"
    sandbox.add_redirect(path, location)
    sandbox.clear_requests()
    try:
        with Client(retries=3, backoff=0.01) as c, pytest.raises(FetchError) as info:
            c.get_text(f"{sandbox.base_url}{path}?token=SECRET")
    finally:
        sandbox.remove_redirect(path)
    assert "redirected to an invalid URL" in str(info.value)
    assert "SECRET" not in str(info.value)
    assert [r.path for r in sandbox.requests].count(path) == 1


# ---------------------------------------------------------------- client: bounded memory


def test_bodies_read_into_memory_are_capped(sandbox: Any) -> None:
    master = sandbox.signed_url("master", sandbox.video_id)
    url, source = _mp4(sandbox)
    with Client(max_body_size=100, retries=0) as c:
        with pytest.raises(FetchError, match="max_body_size=100") as info:
            c.get_text(master, expect="playlist")
        assert str(token_of(master)) not in str(info.value)
        # HEAD of a big file is fine (its Content-Length is not a body), streaming too
        assert int(c.head(url).headers["content-length"]) == source.stat().st_size > 100
        with c.stream(url) as s:
            assert b"".join(s.iter_bytes()) == source.read_bytes()
    with Client() as c:  # the default cap is far above a playlist
        assert c.get_text(master, expect="playlist").startswith("#EXTM3U")


@pytest.mark.timeout(60)
def test_an_endless_body_without_length_stops_at_the_cap(raw_origin: Any) -> None:
    def endless(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/vnd.apple.mpegurl")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        line = b"#EXTINF:1,\nseg.ts\n" * 4096
        chunk = b"%x\r\n%s\r\n" % (len(line), line)
        h.wfile.write(b"7\r\n#EXTM3U\r\n")
        for _ in range(100_000):  # ~7 GB if nobody stops reading
            h.wfile.write(chunk)

    origin = raw_origin(endless)
    with Client(max_body_size=1 << 20, retries=0) as c, pytest.raises(FetchError) as info:
        c.get_text(f"{origin.base_url}/mpl/1/p/?token=SECRET", expect="playlist")
    assert "max_body_size" in str(info.value) and "SECRET" not in str(info.value)


def test_client_settings_are_validated() -> None:
    for bad in ("x", float("nan"), -1.0, None):
        with pytest.raises(InvalidArgument, match="max_retry_after"):
            Client(max_retry_after=bad)  # type: ignore[arg-type]
    for size in (0, -5, 1.5, True):
        with pytest.raises(InvalidArgument, match="max_body_size"):
            AsyncClient(max_body_size=size)  # type: ignore[arg-type]


# ---------------------------------------------------------------- client: lifecycle


def test_closing_a_client_cancels_requests_running_in_other_threads(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    sandbox.faults = Faults(latency=4.0, paths="^/mmpl/")
    c = Client(retries=0)
    outcome: dict[str, BaseException | str] = {}

    def worker() -> None:
        try:
            outcome["text"] = c.get_text(url)
        except BaseException as exc:  # recorded for the assertion below
            outcome["error"] = exc

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    time.sleep(0.5)  # the request is now waiting for the sandbox
    c.close()
    thread.join(timeout=2.5)  # well before the sandbox would answer
    assert not thread.is_alive(), "the caller was left waiting forever on a closed Client"
    err = outcome.get("error")
    assert isinstance(err, FetchError) and "closed" in str(err)


def test_a_stream_outliving_its_client_raises_our_error(sandbox: Any) -> None:
    url, _ = _mp4(sandbox)
    c = Client()
    with pytest.raises(HeapStreamError, match="closed"), c.stream(url) as s:
        c.close()
        for _ in s.iter_bytes():
            pass


# ---------------------------------------------------------------- download


def test_downloads_ask_for_identity_encoding(sandbox: Any, tmp_path: Path) -> None:
    """Byte ranges count stored bytes; a gzip-decoded body would never match them."""
    url, source = _mp4(sandbox)
    sandbox.clear_requests()
    assert download(url, tmp_path / "a.mp4", progress=False).read_bytes() == source.read_bytes()
    gets = [r for r in sandbox.requests if r.path.startswith("/stcr4/")]
    assert gets and all(r.headers.get("accept-encoding") == "identity" for r in gets)


def test_resume_never_mixes_two_files(sandbox: Any, tmp_path: Path) -> None:
    first, _ = _mp4(sandbox, 0)
    second, source = _mp4(sandbox, 2)
    dest = tmp_path / "clip.mp4"
    sandbox.faults = Faults(truncate_rate=1.0, paths="^/stcr4/")
    with Client(retries=0) as c, pytest.raises(DownloadError):
        download(first, dest, client=c, progress=False)
    sandbox.faults = None
    kept = sorted(tmp_path.glob("clip.mp4.part*"))
    assert kept and (tmp_path / "clip.mp4.part").stat().st_size > 0
    for path in kept:  # the token never goes to disk
        assert str(token_of(first)).encode() not in path.read_bytes()
    # the same destination, another file: the .part of the first must not be completed
    got = download(second, dest, progress=False)
    assert got.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


@pytest.mark.parametrize("changed", ["validator", "total"])
def test_resume_starts_over_when_the_file_changed(
    sandbox: Any, tmp_path: Path, changed: str
) -> None:
    url, source = _mp4(sandbox, 1)
    data = source.read_bytes()
    dest = tmp_path / "clip.mp4"
    with Client() as c:
        head = c.head(url)
    # a .part of an older version of the same URL (other bytes, as long as a real prefix)
    (tmp_path / "clip.mp4.part").write_bytes(b"\0" * (len(data) // 2))
    meta = {
        "url": url.split("?")[0],
        "validator": head.headers["etag"] if changed == "total" else '"an-older-version"',
        "total": len(data) + 1000 if changed == "total" else len(data),
    }
    (tmp_path / "clip.mp4.part.json").write_text(json.dumps(meta))
    sandbox.clear_requests()
    assert download(url, dest, progress=False).read_bytes() == data
    first = next(r for r in sandbox.requests if r.path.startswith("/stcr4/"))
    assert first.headers.get("if-range") == meta["validator"]


@pytest.mark.timeout(60)
def test_a_416_to_every_request_is_an_error_not_an_endless_loop(
    raw_origin: Any, tmp_path: Path
) -> None:
    def always_416(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(416)
        h.send_header("Content-Range", "bytes */5")
        h.send_header("Content-Length", "0")
        h.end_headers()

    origin = raw_origin(always_416)
    with pytest.raises(DownloadError, match="416"):
        download(f"{origin.base_url}/stcr4/1/p/?token=SECRET", tmp_path / "x.mp4", progress=False)
    assert origin.hits <= 2


def test_an_impossible_destination_is_a_download_error(sandbox: Any, tmp_path: Path) -> None:
    url, _ = _mp4(sandbox)
    with pytest.raises(DownloadError, match="cannot write"):
        download(url, tmp_path / ("x" * 300 + ".mp4"), progress=False)


# ---------------------------------------------------------------- regression: token isolation


@pytest.mark.parametrize(
    ("parent", "uri", "gets_token"),
    [
        ("http://127.0.0.1:8000/mpl/1/p/?token=T", "//evil.example/x", False),
        ("http://127.0.0.1:8000/mpl/1/p/?token=T", "http://127.0.0.1:8000@evil.example/x", False),
        ("http://127.0.0.1:8000/mpl/1/p/?token=T", "http://[::1]:8000/x", False),
        ("http://[::1]:8000/mpl/1/p/?token=T", "http://[::1]:8000/x", True),
        ("http://h.example/mpl/1/p/?token=T", "http://H.EXAMPLE:80/x", True),
        ("https://exämple.example/mpl/1/p/?token=T", "https://xn--exmple-cua.example/x", True),
        ("https://h.example/mpl/1/p/?token=T", "http://h.example/x", False),
        ("https://h.example/mpl/1/p/?token=T", "https://h.example.evil.example/x", False),
    ],
)
def test_child_tokens_follow_the_exact_origin(parent: str, uri: str, gets_token: bool) -> None:
    got = child_url(parent, uri)
    assert (token_of(got) == "T") is gets_token
    assert same_origin(parent, got) is gets_token


def test_a_downgrade_redirect_loses_the_token() -> None:
    cur = "https://h.example/mmpl/1/v/?token=T"
    assert token_of(redirect_url(cur, "http://h.example/mmpl/1/v/?token=T", token="T")) is None
    assert token_of(redirect_url(cur, "/mmpl/1/w/", token="T")) == "T"


def test_no_referer_and_no_token_across_a_redirect(sandbox: Any, sandbox_factory: Any) -> None:
    other = sandbox_factory()
    token = sandbox.mint(sandbox.video_id)
    path = "/review-referer/"
    sandbox.add_redirect(path, other.url("master", other.public_video_id))
    try:
        with Client() as c:
            c.get_text(f"{sandbox.base_url}{path}?token={token}", expect="playlist")
    finally:
        sandbox.remove_redirect(path)
    assert other.requests
    for r in other.requests:
        assert "referer" not in r.headers and str(token) not in json.dumps(r.headers)
        assert "token" not in r.query
