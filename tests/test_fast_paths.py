"""The audit's fast paths give what the plain ones give: the client's connection pool and
network streams, ladders that build their tables on first use, QA reading a ladder's
parsed facts; plus the bounded variant fetches and token-free error messages of
:mod:`hs_notebook.ladder`.

Everything runs against real servers on 127.0.0.1 (the tiny sandbox, or a small stdlib
HTTP/1.1 server where the sandbox cannot serve the needed playlists).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import importlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpcore
import pandas as pd
import pytest
from _loopback import LoopbackServer
from pandas.testing import assert_frame_equal

from hs_notebook.errors import InvalidArgument, PlaylistError
from hs_notebook.hls import segments_table
from hs_notebook.http import AsyncClient
from hs_notebook.http._pool import LinearPool
from hs_notebook.http._transport import Backend, Stream
from hs_notebook.ladder import VARIANT_CONCURRENCY, fetch_ladder, fetch_ladder_url, ladder_from_text
from hs_notebook.sandbox.faults import Faults

qa_module = importlib.import_module("hs_notebook.qa")

SECRET = "S3CR3T.T0K3N.SIG"

# ---------------------------------------------------------------- a small origin


class _Origin:
    """A real threaded HTTP/1.1 server on 127.0.0.1: ``routes[path] -> (status, body)``;
    GETs of ``slow`` paths take ``delay`` seconds, and the peak number of requests in
    flight at once is recorded."""

    def __init__(self, routes: dict[str, str], slow: str = "", delay: float = 0.0) -> None:
        self.routes = routes
        self.in_flight = 0
        self.peak = 0
        self.lock = threading.Lock()
        origin = self

        class _H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                with origin.lock:
                    origin.in_flight += 1
                    origin.peak = max(origin.peak, origin.in_flight)
                try:
                    if slow and path.startswith(slow):
                        time.sleep(delay)
                    body = origin.routes.get(path)
                    data = (body or "not found").encode()
                    self.send_response(200 if body is not None else 404)
                    self.send_header("Content-Type", "application/vnd.apple.mpegurl")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                        self.wfile.write(data)
                finally:
                    with origin.lock:
                        origin.in_flight -= 1

            def log_message(self, *args: Any) -> None:
                pass

        self._loopback = LoopbackServer(_H)
        self.base_url = self._loopback.base_url

    def close(self) -> None:
        self._loopback.close()


@pytest.fixture
def origin() -> Iterator[Callable[..., _Origin]]:
    made: list[_Origin] = []

    def make(routes: dict[str, str], slow: str = "", delay: float = 0.0) -> _Origin:
        made.append(_Origin(routes, slow, delay))
        return made[-1]

    yield make
    for o in made:
        o.close()


MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:6
#EXT-X-PLAYLIST-TYPE:VOD
#EXTINF:6.0,
seg-0.ts
#EXTINF:4.5,
seg-1.ts
#EXT-X-ENDLIST
"""


def _master(uris: list[str]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for i, uri in enumerate(uris):
        bandwidth = 200_000 * (i + 1)
        lines += [
            f'#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION=640x360,CODECS="avc1.64001e"',
            uri,
        ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the client's pool


def _pool(ac: AsyncClient) -> Any:
    return ac._http._transport._pool


def test_async_client_runs_on_the_linear_pool_and_its_backend() -> None:
    ac = AsyncClient(max_connections=7)
    pool = _pool(ac)
    # if httpx/httpcore ever lay the transport out differently, this fails loudly instead
    # of the client silently falling back to the stock pool
    assert type(pool) is LinearPool
    assert isinstance(pool._network_backend, Backend)
    assert pool._max_connections == 7 and pool._max_keepalive_connections == 7
    asyncio.run(ac.aclose())


def test_stream_readability_is_the_sockets(sandbox: Any) -> None:
    """``is_readable`` answered from the socket agrees with httpcore's own answer: not
    readable while idle, readable once the origin has answered."""
    host, port = sandbox.base_url.split("://")[1].split(":")

    async def go() -> list[tuple[bool, bool]]:
        stream = await Backend().connect_tcp(host, int(port), timeout=5)
        assert isinstance(stream, Stream)
        seen = [(stream.get_extra_info("is_readable"), stream._inner.get_extra_info("is_readable"))]
        await stream.write(f"GET /nope HTTP/1.1\r\nHost: {host}\r\n\r\n".encode(), timeout=5)
        for _ in range(100):  # wait for the answer to arrive
            if stream._inner.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        seen.append(
            (stream.get_extra_info("is_readable"), stream._inner.get_extra_info("is_readable"))
        )
        assert (await stream.read(65536, timeout=5)).startswith(b"HTTP/1.1 404")
        assert stream.get_extra_info("socket") is not None
        await stream.aclose()
        return seen

    assert asyncio.run(go()) == [(False, False), (True, True)]


def test_small_pool_serves_many_concurrent_requests(sandbox: Any) -> None:
    """40 requests at once through 3 connections: every one answered, the right body, and
    the pool never grows past its limit."""
    sandbox.faults = Faults(latency=0.01)
    vid = sandbox.catalog_video_ids[0]
    url = sandbox.url("master", vid, sandbox.signing_key.mint(vid, 600))

    async def go() -> tuple[list[str], int]:
        async with AsyncClient(max_connections=3) as ac:
            got = await asyncio.gather(*(ac.get_text(url, expect="playlist") for _ in range(40)))
            return got, len(_pool(ac).connections)

    texts, connections = asyncio.run(go())
    assert len(texts) == 40 and len(set(texts)) == 1 and texts[0].startswith("#EXTM3U")
    assert 1 <= connections <= 3


def test_an_http11_connection_is_handed_to_one_waiting_request(sandbox: Any) -> None:
    """Two requests queued together with one idle HTTP/1.1 connection: one gets it, the
    other a new connection (httpcore's own pool hands both the same one)."""
    vid = sandbox.catalog_video_ids[0]
    url = sandbox.url("master", vid, sandbox.signing_key.mint(vid, 600))

    async def go() -> tuple[Any, Any, Any]:
        async with AsyncClient(max_connections=5) as ac:
            await ac.get_text(url)  # leaves one idle connection
            pool = _pool(ac)
            (idle,) = pool.connections
            assert idle.is_idle() and "HTTP/1.1" in idle.info()
            request = httpcore.Request("GET", url)
            first = httpcore._async.connection_pool.AsyncPoolRequest(request)
            second = httpcore._async.connection_pool.AsyncPoolRequest(request)
            pool._requests.extend([first, second])
            try:
                pool._assign_requests_to_connections()
                return idle, first.connection, second.connection
            finally:
                pool._requests.clear()

    idle, a, b = asyncio.run(go())
    assert a is idle
    assert b is not None and b is not idle


# ---------------------------------------------------------------- lazy ladders and QA

HS_MASTER = """#EXTM3U
#EXT-X-VERSION:4
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",AUTOSELECT=YES,URI="/mplt/7/tt1/"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="de",URI="/mplt/7/tt2/"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC",INSTREAM-ID="SERVICE1"
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,FRAME-RATE=30,CODECS="avc1.64001e,mp4a.40.2",SUBTITLES="subs",CLOSED-CAPTIONS="cc"
/mpl/7/v360/
#EXT-X-STREAM-INF:BANDWIDTH=2400000,RESOLUTION=1280x720,CODECS="hvc1.1.6.L93.B0,mp4a.40.2",SUBTITLES="subs"
/mpl/7/v720/
#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x800,FRAME-RATE=60,CODECS="avc1.640028"
other/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=90000,RESOLUTION=640x360,CODECS="avc1.64001e",URI="/mpl/7/v360/iframes/"
"""
BYTERANGE_MEDIA = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:6
#EXT-X-DISCONTINUITY-SEQUENCE:2
#EXTINF:6.006,
#EXT-X-BYTERANGE:1000@0
main.ts
#EXT-X-DISCONTINUITY
#EXTINF:7.2,
#EXT-X-BYTERANGE:1200
main.ts
"""
BASE = "https://media.example.com/mmpl/7/vid/?token=" + SECRET


def _findings(ladder: Any) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    found = qa_module.qa(ladder, measure=False)
    return found.table, found.passed, found.skipped


@pytest.mark.parametrize("base", [BASE, None])
def test_qa_from_facts_equals_qa_from_tables(base: str | None) -> None:
    media = {"v360": BYTERANGE_MEDIA, "v720": MEDIA}
    fresh = ladder_from_text(HS_MASTER, media, base)
    assert not fresh._tables  # QA read the typed facts and built no table
    from_facts = _findings(fresh)
    tabled = ladder_from_text(HS_MASTER, media, base)
    for name in ("renditions", "text_tracks", "audio", "iframes"):
        getattr(tabled, name)
    assert set(tabled._tables) == {"renditions", "text_tracks", "audio", "iframes"}
    from_tables = _findings(tabled)
    assert_frame_equal(from_facts[0], from_tables[0])
    assert from_facts[1:] == from_tables[1:]
    # the ladder in question breaks rules both paths must see
    rules = set(from_facts[0]["rule"])
    assert {
        "version_compat",
        "discontinuities_aligned",
        "heapstream_h264",
        "heapstream_frame_rate",
        "subtitle_language_name",
        "aspect_ratio",
        "extinf_within_target",
        "media_available",
    } <= rules


def test_qa_of_the_sandbox_ladder_is_the_same_either_way(sandbox: Any) -> None:
    vid = sandbox.catalog_video_ids[1]
    fresh = fetch_ladder(vid, sandbox.signing_key, sandbox.project_id, sandbox.base_url)
    tabled = fetch_ladder(vid, sandbox.signing_key, sandbox.project_id, sandbox.base_url)
    assert tabled.renditions["segment_count"].tolist() == [3, 3, 3, 3]
    a, b = _findings(fresh), _findings(tabled)
    assert_frame_equal(a[0], b[0])
    assert a[1:] == b[1:]
    assert len(a[0]) > 0


def test_qa_sees_an_edited_table() -> None:
    """Tables built on first use are still the ones QA checks once someone edits them."""
    ladder = ladder_from_text(HS_MASTER, {"v360": MEDIA, "v720": MEDIA}, BASE)
    before = qa_module.qa(ladder, measure=False).by_rule("heapstream_frame_rate")
    ladder.renditions.loc[0, "frame_rate"] = 50.0
    after = qa_module.qa(ladder, measure=False).by_rule("heapstream_frame_rate")
    assert len(after) == len(before) + 1 and "v360" in set(after["subject"])


def test_renditions_facts_agree_with_the_segments_tables() -> None:
    ladder = ladder_from_text(HS_MASTER, {"v360": BYTERANGE_MEDIA, "v720": MEDIA}, BASE)
    r = ladder.renditions
    for row in r.itertuples(index=False):
        if pd.isna(row.segment_count):
            assert row.preset_id is pd.NA  # other/index.m3u8 was not given
            continue
        seg = ladder.segments(row.preset_id)
        assert row.segment_count == len(seg)
        assert row.duration == pytest.approx(seg["duration"].sum())
        assert row.max_segment_duration == seg["duration"].max()
        assert row.mean_segment_duration == pytest.approx(seg["duration"].mean())
        assert row.target_duration == seg.attrs["target_duration"]
    assert str(r["segment_count"].dtype) == "Int64" and str(r["endlist"].dtype) == "boolean"
    assert ladder.segments("v360")["uri"].str.endswith("token=" + SECRET).all()


def test_a_bad_media_playlist_still_fails_when_the_ladder_is_built() -> None:
    bad = BYTERANGE_MEDIA.replace("#EXT-X-BYTERANGE:1000@0", "#EXT-X-BYTERANGE:1000")
    with pytest.raises(PlaylistError) as direct:
        segments_table(bad)
    with pytest.raises(PlaylistError) as built:
        ladder_from_text(HS_MASTER, {"v360": bad}, BASE)
    assert str(direct.value) in str(built.value) and "omits its offset" in str(built.value)


# ---------------------------------------------------------------- bounded variant fetches


def test_variant_playlists_are_fetched_at_most_eight_at_a_time(origin: Any) -> None:
    n = VARIANT_CONCURRENCY + 5
    routes = {f"/mpl/7/p{i}/": MEDIA for i in range(n)}
    routes["/mmpl/7/vid/"] = _master([f"/mpl/7/p{i}/" for i in range(n)])
    server = origin(routes, slow="/mpl/", delay=0.25)
    ladder = fetch_ladder_url(f"{server.base_url}/mmpl/7/vid/?token=abc")
    assert ladder.preset_ids == [f"p{i}" for i in range(n)]
    assert ladder.renditions["segment_count"].tolist() == [2] * n
    assert 2 <= server.peak <= VARIANT_CONCURRENCY


# ---------------------------------------------------------------- tokens in messages


def test_unfetchable_variant_message_hides_the_token(origin: Any) -> None:
    routes = {"/mmpl/7/vid/": _master([f"ftp://files.example.com/v/?token={SECRET}"])}
    server = origin(routes)
    with pytest.raises(PlaylistError) as err:
        fetch_ladder_url(f"{server.base_url}/mmpl/7/vid/?token={SECRET}")
    assert "cannot be fetched" in str(err.value) and SECRET not in str(err.value)


def test_ladder_messages_hide_tokens() -> None:
    uri = f"https://cdn.example.com/v/?token={SECRET}"
    master = _master(["/mpl/7/a/", uri])
    ladder = ladder_from_text(master, {"a": MEDIA, uri: MEDIA}, BASE)
    with pytest.raises(InvalidArgument) as unknown:
        ladder.segments(f"https://cdn.example.com/nope/?token={SECRET}")
    assert "no preset" in str(unknown.value) and SECRET not in str(unknown.value)
    with pytest.raises(InvalidArgument) as keys:
        ladder_from_text(master, {f"https://x.example.com/?token={SECRET}": MEDIA}, BASE)
    assert "match no variant" in str(keys.value) and SECRET not in str(keys.value)
    with pytest.raises(PlaylistError) as bad:
        ladder_from_text(master, {uri: "#EXTM3U\n#EXTINF:x,\nseg.ts\n"}, BASE)
    assert "the media playlist of" in str(bad.value) and SECRET not in str(bad.value)


def test_sprite_messages_hide_tokens(sandbox: Any) -> None:
    vid = sandbox.catalog_video_ids[0]
    ladder = fetch_ladder(vid, sandbox.signing_key, sandbox.project_id, sandbox.base_url)
    with pytest.raises(InvalidArgument) as err:
        ladder.sprite_bytes(f"sprite-0.jpg?token={SECRET}")
    assert "is relative" in str(err.value) and SECRET not in str(err.value)
