"""hs_notebook.http clients (sync and async) against the real sandbox on loopback:
arguments checked before anything is sent, retries, redirects, bounded bodies, the
overall per-call deadline (a body dribbled by ``Faults(slow_body=...)`` fails at the
deadline, not at the end of the body; streams are exempt), and the lifecycle.

Tests that need an origin misbehaving in ways the sandbox cannot (a body that never ends)
use :class:`_loopback.RawOrigin`, a real HTTP/1.1 server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import http.server
import json
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from _loopback import RawOrigin, dribble_time, trickle

from hs_notebook.download import download
from hs_notebook.errors import FetchError, HeapStreamError, InvalidArgument, PlaylistError
from hs_notebook.http import (
    DEFAULT_DEADLINE,
    AsyncClient,
    Client,
    child_url,
    origin_of,
    token_of,
)
from hs_notebook.sandbox.faults import Faults

# ---------------- arguments


def _sent(sandbox: Any, prefix: str) -> int:
    return sum(1 for r in sandbox.requests if r.path.startswith(prefix))


def test_client_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidArgument):
        Client(retries=-1)
    with pytest.raises(InvalidArgument):
        AsyncClient(max_connections=0)
    with Client() as c, pytest.raises(InvalidArgument):
        c.get_text("ftp://h.example/x")


@pytest.mark.parametrize(
    "timeout",
    ["x", -1, 0, -0.5, math.nan, math.inf, True, b"5", [5], httpx.Timeout(5.0, connect=-1)],
    ids=["str", "neg-int", "zero", "neg-float", "nan", "inf", "bool", "bytes", "list", "part"],
)
def test_a_bad_timeout_is_refused_when_the_client_is_made(sandbox: Any, timeout: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    before = _sent(sandbox, "/mmpl/")
    with pytest.raises(InvalidArgument, match="timeout"):
        client = Client(timeout=timeout)
        try:  # before the fix the mistake only surfaced here, as a TypeError or a timeout
            client.get_text(url)
        finally:
            client.close()
    with pytest.raises(InvalidArgument, match="timeout"):
        AsyncClient(timeout=timeout)
    assert _sent(sandbox, "/mmpl/") == before, "nothing is sent with a bad timeout"


@pytest.mark.parametrize("timeout", [None, 3, 2.5, httpx.Timeout(4.0, connect=2.0)])
def test_good_timeouts_still_work(sandbox: Any, timeout: Any) -> None:
    with Client(timeout=timeout) as c:
        text = c.get_text(sandbox.signed_url("master", sandbox.video_id), expect="playlist")
    assert text.startswith("#EXTM3U")
    expected = httpx.Timeout(timeout) if timeout is not None else httpx.Timeout(None)
    assert c.timeout == expected


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"max_connections": True}, "max_connections"),
        ({"max_connections": 2.0}, "max_connections"),
        ({"max_body_size": True}, "max_body_size"),
        ({"max_body_size": 0}, "max_body_size"),
        ({"backoff": math.nan}, "backoff"),
        ({"backoff": True}, "backoff"),
        ({"http2": "yes"}, "http2"),
        ({"headers": "X-Trace: 1"}, "headers"),
        ({"headers": [("X-Trace", "1")]}, "headers"),
        ({"headers": {"X-Trace": 1}}, "X-Trace"),
        ({"headers": {b"X-Trace": "1"}}, "header name"),
    ],
)
def test_other_bad_constructor_arguments_are_refused(
    sandbox: Any, kwargs: dict[str, Any], word: str
) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    before = _sent(sandbox, "/mmpl/")
    with pytest.raises(InvalidArgument, match=word):
        client = Client(**kwargs)
        try:
            client.get_text(url)
        finally:
            client.close()
    assert _sent(sandbox, "/mmpl/") == before


def test_client_settings_are_validated() -> None:
    for bad in ("x", float("nan"), -1.0, None):
        with pytest.raises(InvalidArgument, match="max_retry_after"):
            Client(max_retry_after=bad)  # type: ignore[arg-type]
    for size in (0, -5, 1.5, True):
        with pytest.raises(InvalidArgument, match="max_body_size"):
            AsyncClient(max_body_size=size)  # type: ignore[arg-type]


def test_bad_request_arguments_are_refused_before_sending(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    before = _sent(sandbox, "/mmpl/")
    with Client() as c:
        for bad in ("X-Trace: 1", [("X-Trace", "1")], 7, {"X-Trace": None}):
            with pytest.raises(InvalidArgument, match="headers"):
                c.get_text(url, headers=bad)  # type: ignore[arg-type]
        for bad_status in (404, "404", [404.0], [True], [1000]):
            with pytest.raises(InvalidArgument, match="allow_status"):
                c.fetch(url, allow_status=bad_status)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="expect"):
            c.fetch(url, expect="m3u8")  # type: ignore[arg-type]
        for bad_url in (None, 5, url.encode()):
            with pytest.raises(InvalidArgument, match="url"):
                c.get_text(bad_url)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="run"):
            c.run(None)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="awaitable"):
            c.run(lambda ac: 5)  # type: ignore[arg-type,return-value]
        assert _sent(sandbox, "/mmpl/") == before, "nothing was sent"
        # a good request on the same client still works afterwards
        assert c.get_text(url, headers={"X-Trace": "1"}).startswith("#EXTM3U")
        with c.stream(url) as s, pytest.raises(InvalidArgument, match="chunk_size"):
            list(s.iter_bytes(b"64"))  # type: ignore[arg-type]


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


# ---------------- happy paths, sync and async


def test_get_text_sync_and_async(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    with Client() as c:
        text = c.get_text(url, expect="playlist")
    assert text.startswith("#EXTM3U") and "#EXT-X-STREAM-INF" in text

    async def go() -> str:
        async with AsyncClient() as ac:
            return await ac.get_text(url, expect="playlist")

    assert asyncio.run(go()) == text


def test_sync_client_works_inside_a_running_event_loop(sandbox: Any) -> None:
    """As in a Jupyter cell: the sync API is called while a loop runs in this thread."""
    url = sandbox.signed_url("master", sandbox.video_id)

    async def cell() -> str:
        asyncio.get_running_loop()  # a loop is running here
        with Client() as c:
            return c.get_text(url, expect="playlist")

    assert asyncio.run(cell()).startswith("#EXTM3U")


def test_head_and_stream(sandbox: Any) -> None:
    rendition = sandbox.media.renditions[0]
    url = sandbox.signed_url("mp4", sandbox.videos[sandbox.video_id].presets[rendition.name])
    with Client() as c:
        head = c.head(url)
        assert int(head.headers["content-length"]) == rendition.mp4_size
        with c.stream(url) as s:
            body = b"".join(s.iter_bytes(4096))
    assert body == rendition.mp4.read_bytes()


# ---------------- retries and faults


def _count(sb: Any, path: str, status: int | None = None) -> int:
    return sum(1 for r in sb.requests if r.path == path and (status is None or r.status == status))


def test_injected_5xx_are_retried_until_success(sandbox: Any) -> None:
    vid = sandbox.video_id
    urls = [sandbox.signed_url("master", vid)] + [
        sandbox.signed_url("preset", p) for p in sandbox.videos[vid].presets.values()
    ]
    sandbox.clear_requests()
    sandbox.faults = Faults(error_rate=0.5, seed=3, paths=r"^/(mmpl|mpl)/")
    with Client(retries=8, backoff=0.01) as c:
        texts = [c.get_text(u, expect="playlist") for u in urls]
    assert all(t.startswith("#EXTM3U") for t in texts)
    statuses = [r.status for r in sandbox.requests]
    assert statuses.count(503) >= 1, "the fault injector should have failed some requests"
    assert statuses.count(200) == len(urls)


def test_exhausted_retries_raise_fetch_error(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    path = httpx.URL(url).path
    sandbox.clear_requests()
    sandbox.faults = Faults(error_rate=1.0, paths="^/mmpl/")
    with Client(retries=2, backoff=0.01) as c, pytest.raises(FetchError) as info:
        c.get_text(url)
    assert info.value.status == 503 and "3 attempts" in str(info.value)
    assert _count(sandbox, path, 503) == 3


def test_retry_after_is_honoured_and_capped(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    sandbox.faults = Faults(error_rate=1.0, retry_after=0.4, paths="^/mmpl/")
    with Client(retries=2, backoff=0.0) as c:
        start = time.perf_counter()
        with pytest.raises(FetchError):
            c.get_text(url)
        waited = time.perf_counter() - start
    assert waited >= 0.75  # two waits of 0.4 s announced by Retry-After
    sandbox.faults = Faults(error_rate=1.0, retry_after=30, paths="^/mmpl/")
    with Client(retries=1, backoff=0.0, max_retry_after=0.1) as c:
        start = time.perf_counter()
        with pytest.raises(FetchError):
            c.get_text(url)
        assert time.perf_counter() - start < 5  # not 30


def test_dropped_and_truncated_answers_are_retried(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    with Client() as c:
        expected = c.get_text(url)
    sandbox.clear_requests()
    sandbox.faults = Faults(drop_rate=0.3, truncate_rate=0.3, seed=1, paths="^/mmpl/")
    with Client(retries=10, backoff=0.01) as c:
        got = [c.get_text(url, expect="playlist") for _ in range(4)]
    assert got == [expected] * 4
    assert len(sandbox.requests) > 4  # some attempts were dropped or cut and retried


def test_always_truncated_body_gives_up_with_fetch_error(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    sandbox.faults = Faults(truncate_rate=1.0, paths="^/mmpl/")
    with Client(retries=1, backoff=0.01) as c, pytest.raises(FetchError) as info:
        c.get_text(url)
    assert "dropped" in str(info.value) and "2 attempts" in str(info.value)
    assert "token=…" in str(info.value) or "token=" not in str(info.value)


def test_latency_beyond_the_timeout_is_a_fetch_error_naming_the_timeout(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    sandbox.faults = Faults(latency=1.0, paths="^/mmpl/")
    with Client(timeout=0.2, retries=1, backoff=0.01) as c, pytest.raises(FetchError) as info:
        c.get_text(url)
    assert "timed out after 0.2 s" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.TimeoutException)


def test_connection_refused_is_a_fetch_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(retries=1, backoff=0.01) as c, pytest.raises(FetchError, match="could not connect"):
        c.get_text(f"http://127.0.0.1:{port}/mmpl/1/v/?token=abc")


# ---------------- redirects


def test_same_origin_redirect_keeps_the_token(sandbox: Any) -> None:
    token = sandbox.mint(sandbox.video_id)
    sandbox.add_redirect("/old-master/", f"/mmpl/{sandbox.project_id}/{sandbox.video_id}/")
    try:
        with Client() as c:
            text = c.get_text(f"{sandbox.base_url}/old-master/?token={token}", expect="playlist")
    finally:
        sandbox.remove_redirect("/old-master/")
    assert text.startswith("#EXTM3U")
    last = [r for r in sandbox.requests if r.path.startswith("/mmpl/")][-1]
    assert last.query.get("token") == str(token) and last.status == 200


def test_cross_origin_redirect_never_carries_the_token(sandbox: Any, sandbox_factory: Any) -> None:
    other = sandbox_factory()
    token = sandbox.mint(sandbox.video_id)
    # the redirect target even tries to smuggle the token along in its query
    target = other.url("master", other.public_video_id) + f"?token={token}"
    path = f"/mmpl/{sandbox.project_id}/redirected/"
    sandbox.add_redirect(path, target)
    try:
        with Client(headers={"Authorization": "Bearer only-for-the-first-origin"}) as c:
            text = c.get_text(f"{sandbox.base_url}{path}?token={token}", expect="playlist")
    finally:
        sandbox.remove_redirect(path)
    assert text.startswith("#EXTM3U")
    assert other.requests, "the other origin was reached"
    for r in other.requests:
        assert "token" not in r.query
        assert str(token) not in repr(r)
        assert "authorization" not in r.headers  # credentials stay home, like the token
    first = [r for r in sandbox.requests if r.path == path][-1]
    assert first.headers.get("authorization") == "Bearer only-for-the-first-origin"


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


def test_redirect_loops_stop(sandbox: Any) -> None:
    sandbox.add_redirect("/loop-a/", "/loop-b/")
    sandbox.add_redirect("/loop-b/", "/loop-a/")
    try:
        with Client() as c, pytest.raises(FetchError, match="too many redirects"):
            c.get_text(f"{sandbox.base_url}/loop-a/")
    finally:
        sandbox.remove_redirect("/loop-a/")
        sandbox.remove_redirect("/loop-b/")


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


# ---------------- bounded memory


def _mp4(sb: Any, index: int = 0) -> tuple[str, Path]:
    rendition = sb.media.renditions[index]
    return sb.signed_url("mp4", sb.videos[sb.video_id].presets[rendition.name]), rendition.mp4


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
def test_an_endless_body_without_length_stops_at_the_cap() -> None:
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

    with (
        RawOrigin(endless) as origin,
        Client(max_body_size=1 << 20, retries=0) as c,
        pytest.raises(FetchError) as info,
    ):
        c.get_text(f"{origin.base_url}/mpl/1/p/?token=SECRET", expect="playlist")
    assert "max_body_size" in str(info.value) and "SECRET" not in str(info.value)


# ---------------- the overall deadline


SLACK = 1.0


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, "5", True, [1]])
def test_deadline_is_validated(bad: Any) -> None:
    with pytest.raises(InvalidArgument, match="deadline must be seconds > 0"):
        Client(deadline=bad)
    with pytest.raises(InvalidArgument, match="deadline must be seconds > 0"):
        AsyncClient(deadline=bad)


def test_deadline_defaults_and_none() -> None:
    with Client() as client:
        assert client.deadline == DEFAULT_DEADLINE == 60.0
    with Client(deadline=None) as client:
        assert client.deadline is None
    with Client(deadline=2) as client:
        assert client.deadline == 2.0
        with pytest.raises(InvalidArgument, match="deadline must be seconds > 0"):
            client.run(lambda ac: ac.open_stream("http://127.0.0.1:9/", deadline=-1))


def test_a_dribbled_body_fails_at_the_deadline(sandbox_factory: Callable[..., Any]) -> None:
    slow = 0.2
    sb = sandbox_factory(faults=Faults(slow_body=slow, paths=r"^/stcr4/"))
    url, source = _mp4(sb)
    deadline = 1.0
    # without a deadline the body would take several times longer (each read is quick,
    # so the per-read timeout never fires)
    assert dribble_time(source, slow) > 3 * deadline
    token = url.split("token=")[1]
    with Client(deadline=deadline) as client:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            client.get_bytes(url)
        elapsed = time.monotonic() - started
    assert deadline * 0.9 <= elapsed < deadline + SLACK
    msg = str(info.value)
    assert msg.startswith("GET http://127.0.0.1:")
    assert "did not complete within 1 s" in msg
    assert "attempt 1 was still running" in msg
    assert token not in msg and token not in str(info.value.url)


def test_the_async_face_has_the_deadline_too(sandbox_factory: Callable[..., Any]) -> None:
    slow = 0.2
    sb = sandbox_factory(faults=Faults(slow_body=slow, paths=r"^/stcr4/"))
    url, source = _mp4(sb)
    assert dribble_time(source, slow) > 3 * 0.8

    async def go() -> float:
        async with AsyncClient(deadline=0.8) as ac:
            started = time.monotonic()
            with pytest.raises(FetchError, match=r"did not complete within 0\.8 s"):
                await ac.fetch(url)
            return time.monotonic() - started

    assert asyncio.run(go()) < 0.8 + SLACK


def test_calls_within_the_deadline_work(sandbox_factory: Callable[..., Any]) -> None:
    # slowed, but the playlist is one chunk: it arrives well within the deadline
    sb = sandbox_factory(faults=Faults(slow_body=0.2, paths=r"^/mmpl/"))
    master = sb.signed_url("master", sb.video_id)
    with Client(deadline=3.0) as client:
        text = client.get_text(master, expect="playlist")
        assert text.startswith("#EXTM3U") and "#EXT-X-STREAM-INF" in text
        head = client.head(master)
        assert head.status == 200
        assert int(head.headers["content-length"]) == len(text.encode())
    slowed = [r for r in sb.requests if r.path.startswith("/mmpl/") and r.method == "GET"]
    assert len(slowed) == 1 and slowed[0].status == 200


def test_retries_stop_at_the_deadline(sandbox_factory: Callable[..., Any]) -> None:
    sb = sandbox_factory(faults=Faults(error_rate=1.0, retry_after=0.4, paths=r"^/mmpl/"))
    master = sb.signed_url("master", sb.video_id)
    deadline = 1.0
    # 20 retries 0.4 s apart would take 8 s; the deadline ends them after about 1 s
    with Client(retries=20, deadline=deadline) as client:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            client.get_text(master, expect="playlist")
        elapsed = time.monotonic() - started
    assert elapsed < deadline + SLACK
    msg = str(info.value)
    assert "did not complete within 1 s" in msg
    assert "last: HTTP 503 Service Unavailable" in msg
    assert "the next retry" in msg
    assert info.value.status == 503
    tries = [r for r in sb.requests if r.path.startswith("/mmpl/")]
    assert 2 <= len(tries) <= 3  # at 0, 0.4 and 0.8 s; the one at 1.2 s is not made
    assert all(r.status == 503 for r in tries)


@pytest.mark.slow
def test_streams_and_downloads_are_exempt(
    sandbox_factory: Callable[..., Any], tmp_path: Path
) -> None:
    slow = 0.05
    sb = sandbox_factory(faults=Faults(slow_body=slow, paths=r"^/stcr4/"))
    url, source = _mp4(sb)
    deadline = 0.5
    assert dribble_time(source, slow) > 2 * deadline
    with Client(deadline=deadline) as client:
        started = time.monotonic()
        with client.stream(url) as stream:
            body = b"".join(stream.iter_bytes())
        assert time.monotonic() - started > deadline  # it ran past the deadline ...
        assert body == source.read_bytes()  # ... and completed
        got = download(url, tmp_path / "clip.mp4", progress=False, client=client)
    assert got.read_bytes() == source.read_bytes()


# ---------------- lifecycle


def test_close_stops_the_private_loop_thread(sandbox: Any) -> None:
    import threading

    c = Client()
    c.get_text(sandbox.signed_url("master", sandbox.video_id))
    runner = c._runner
    assert runner is not None and runner.thread.is_alive()
    c.close()
    assert not runner.thread.is_alive()
    assert runner.thread not in threading.enumerate()
    with pytest.raises(InvalidArgument, match="closed"):
        c.get_text(sandbox.signed_url("master", sandbox.video_id))


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


# ---------------- hostile redirects, ambiguous tokens, stalled streams (issue 10)

#: Location values that httpx or urllib cannot parse, or that lead nowhere we can go
MALFORMED_LOCATIONS = [
    "http:x",  # httpx: "path must begin with '/'"; urllib: same-scheme relative (-> 404)
    "http:////[/x",  # an unclosed IPv6 bracket after an empty authority
    "http://[::1/x",
    "http://127.0.0.1:99999/x",  # port out of range
    "http://xn--/x",  # a malformed IDNA A-label
    "http://[v1.x]/",  # an IP literal of an unknown version
    "data:text/plain,hi",  # not http(s)
    "https://",  # no host
    "http://h:80:80/",
]
SECRET = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2In0.U0VDUkVULXNpZ25hdHVyZQ"


def _redirecting_to(location: str) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    """An origin whose playlist and MP4 redirect to ``location``; anything else is 404."""

    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        first = h.path.split("?")[0] in ("/mmpl/1/v/", "/stcr4/1/p/")
        h.send_response(302 if first else 404)
        if first:
            h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return answer


@pytest.mark.parametrize("location", MALFORMED_LOCATIONS)
def test_a_malformed_location_is_our_fetch_error_from_every_entry_point(
    location: str, tmp_path: Path
) -> None:
    from hs_notebook.ladder import fetch_ladder_url

    with RawOrigin(_redirecting_to(location)) as origin, Client(retries=2, backoff=0.01) as c:
        url = f"{origin.base_url}/mmpl/1/v/?token={SECRET}"
        mp4 = f"{origin.base_url}/stcr4/1/p/?token={SECRET}"
        calls: dict[str, Callable[[], object]] = {
            "get_text": lambda: c.get_text(url),
            "head": lambda: c.head(url),
            "fetch_ladder by URL": lambda: fetch_ladder_url(url, client=c),
            "download": lambda: download(mp4, tmp_path, client=c, progress=False),
        }
        for name, call in calls.items():
            before = origin.hits
            with pytest.raises(FetchError) as info:
                call()
            msg = str(info.value)
            if location == "http:x":  # resolved as a relative path, which is not found
                assert info.value.status == 404, (name, msg)
            else:
                assert "redirected to an invalid URL" in msg, (name, msg)
                assert origin.hits - before == 1, f"{name}: a bad Location is not retried"
            assert SECRET not in msg and SECRET not in str(info.value.url), name
            assert SECRET.split(".")[2] not in msg
    assert list(tmp_path.iterdir()) == []


def test_a_url_with_two_tokens_is_refused_before_anything_is_sent(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    other = sandbox.mint(sandbox.catalog_video_ids[0])
    doubled = [
        f"{url}&token={other}",
        f"{url}&tok%65n={other}",  # the origin decodes the name: also a 'token'
        url.replace("?token=", f"?token={other}&token="),
    ]
    sandbox.clear_requests()
    with Client() as c:
        for bad in doubled:
            for call in (c.get_text, c.head, c.get_bytes):
                with pytest.raises(InvalidArgument, match="2 'token' query parameters") as info:
                    call(bad)
                msg = str(info.value)
                assert "keep exactly one 'token'" in msg
                assert str(other) not in msg and token_of(url) not in msg  # type: ignore[operator]
            with pytest.raises(InvalidArgument), c.stream(bad):
                pass
        assert sandbox.requests == [], "nothing was sent"
        assert c.get_text(url, expect="playlist").startswith("#EXTM3U")  # one token: fine


def test_a_redirect_adding_a_second_token_is_refused(sandbox: Any) -> None:
    token = sandbox.mint(sandbox.video_id)
    master = f"/mmpl/{sandbox.project_id}/{sandbox.video_id}/"
    path = "/two-tokens/"
    sandbox.add_redirect(path, f"{master}?token={token}&token={token}x")
    sandbox.clear_requests()
    try:
        with Client() as c, pytest.raises(FetchError) as info:
            c.get_text(f"{sandbox.base_url}{path}?token={token}")
    finally:
        sandbox.remove_redirect(path)
    assert "2 'token' query parameters" in str(info.value)
    assert str(token) not in str(info.value)
    assert not any(r.path == master for r in sandbox.requests)


def test_a_trickling_stream_stops_at_the_idle_timeout() -> None:
    with RawOrigin(trickle(0.1)) as origin, Client(timeout=5.0) as c:
        url = f"{origin.base_url}/stcr4/1/p/?token={SECRET}"
        started = time.monotonic()
        with c.stream(url) as s, pytest.raises(FetchError) as info:
            for _ in s.iter_bytes(1024, idle_timeout=0.5):
                pass
        elapsed = time.monotonic() - started
        with c.stream(url) as s, pytest.raises(InvalidArgument, match="idle_timeout"):
            list(s.iter_bytes(1024, idle_timeout=0))
    assert 0.5 <= elapsed < 0.5 + 2.0
    msg = str(info.value)
    assert "stalled" in msg and "idle_timeout=0.5 s" in msg and "1024-byte chunk" in msg
    assert SECRET not in msg


def test_argument_errors_that_quote_input_never_quote_a_token(sandbox: Any) -> None:
    signed = f"{sandbox.base_url}/mmpl/1/v/?token={SECRET}"
    with Client(retries=0) as c:
        calls: list[Callable[[], object]] = [
            lambda: c.get_text(f"ftp://h.example/x?token={SECRET}"),
            lambda: c.get_text(f"/mmpl/1/v/?token={SECRET}"),
            lambda: c.get_text(f"http://127.0.0.1:99999/x?token={SECRET}"),
            lambda: c.get_text(f"http://[::1/x?token={SECRET}"),
            lambda: c.get_text(f"http://h.example/\ud800?token={SECRET}"),
            lambda: c.get_text(signed, headers={"": SECRET}),
            lambda: c.get_text(signed, headers={SECRET: 5}),  # type: ignore[dict-item]
            lambda: c.fetch(signed, allow_status=[SECRET]),  # type: ignore[list-item]
            lambda: c.fetch(signed, expect=SECRET),  # type: ignore[arg-type]
            lambda: Client(verify=f"/nonexistent/?token={SECRET}"),
        ]
        for call in calls:
            with pytest.raises(InvalidArgument) as info:
                call()
            msg = str(info.value)
            assert SECRET not in msg and SECRET.split(".")[2] not in msg, msg


def test_transport_errors_never_quote_the_token() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with Client(retries=1, backoff=0.01) as c, pytest.raises(FetchError) as info:
        c.get_text(f"http://127.0.0.1:{port}/mmpl/1/v/?token={SECRET}")
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.__cause__)
