"""hs_notebook.client: token propagation rules (pure), then retries, errors, redirects and
the sync face against the real sandbox origin on loopback."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from hs_notebook.client import (
    AsyncClient,
    Client,
    _retry_after,
    child_url,
    redact,
    redirect_url,
    same_origin,
    status_error,
    token_of,
    with_token,
    without_token,
)
from hs_notebook.errors import (
    FetchError,
    InvalidArgument,
    NotFound,
    PlaylistError,
    TokenRejected,
    VTTError,
)
from hs_notebook.sandbox.faults import Faults
from hs_notebook.tokens import generate_signing_key

P = "https://app.example.com/mpl/1/preset/?token=TOK"

# ---------------------------------------------------------------- pure: token propagation


def test_child_url_same_origin_relative_gets_parent_token() -> None:
    assert (
        child_url(P, "seg-00001.ts")
        == "https://app.example.com/mpl/1/preset/seg-00001.ts?token=TOK"
    )
    assert child_url(P, "/mpl/1/other/") == "https://app.example.com/mpl/1/other/?token=TOK"


def test_child_url_same_origin_absolute_without_token_gets_it() -> None:
    got = child_url(P, "https://APP.example.com:443/sbt/1/2/sprite-0.jpg#xywh=0,0,10,10")
    assert token_of(got) == "TOK"
    assert got.endswith("#xywh=0,0,10,10")


def test_child_url_keeps_a_childs_own_token() -> None:
    got = child_url(P, "https://app.example.com/mpl/1/p/seg.ts?token=OTHER")
    assert token_of(got) == "OTHER"


@pytest.mark.parametrize(
    "uri",
    [
        "https://cdn.example.com/seg.ts",  # other host
        "https://app.example.com:8443/seg.ts",  # other port
        "http://app.example.com/seg.ts",  # other scheme
        "//evil.example.net/seg.ts",  # scheme-relative to another host
        "https://app.example.com.evil.net/seg.ts",  # prefix trick
        "https://app.example.com@evil.net/seg.ts",  # userinfo trick
    ],
)
def test_child_url_never_adds_token_to_another_origin(uri: str) -> None:
    got = child_url(P, uri)
    assert "TOK" not in got
    assert token_of(got) is None


def test_child_url_without_parent_token_adds_nothing() -> None:
    assert token_of(child_url("https://a.example/x/", "y.ts")) is None


def test_same_origin_rules() -> None:
    assert same_origin("http://h.example/a", "http://H.EXAMPLE:80/b")
    assert not same_origin("http://h.example/a", "https://h.example/a")
    assert not same_origin("http://h.example:8000/a", "http://h.example:8001/a")
    assert not same_origin("http://h.example/a", "http://g.example/a")


def test_redirect_url_strips_token_when_leaving_the_origin() -> None:
    cur = "http://a.example:8000/mmpl/1/v/?token=TOK"
    home = "http://a.example:8000/"
    # the Location even carries the token itself: it must still be stripped
    got = redirect_url(
        cur, "http://b.example:8000/x/?token=TOK&k=1", token="TOK", token_origin=home
    )
    assert token_of(got) is None and "TOK" not in got and "k=1" in got
    same = redirect_url(cur, "/other/", token="TOK", token_origin=home)
    assert same == "http://a.example:8000/other/?token=TOK"
    # coming back to the home origin from elsewhere gets the token back
    back = redirect_url(
        "http://b.example/x/", "http://a.example:8000/y/", token="TOK", token_origin=home
    )
    assert token_of(back) == "TOK"
    # another port of the same host is another origin
    assert token_of(redirect_url(cur, "http://a.example:9000/z/?token=TOK", token="TOK")) is None


def test_with_and_without_token() -> None:
    assert token_of(with_token("http://h/x/?a=1", "T")) == "T"
    assert without_token("http://h/x/?a=1&token=T") == "http://h/x/?a=1"
    assert without_token("http://h/x/") == "http://h/x/"


def test_redact_hides_the_token() -> None:
    shown = redact("http://h/x/?token=eyJsecret.part.sig&a=1")
    assert "eyJsecret" not in shown and "token=…" in shown and "a=1" in shown


# ---------------------------------------------------------------- pure: statuses and bodies


def test_retry_after_forms() -> None:
    assert _retry_after(httpx.Headers({"Retry-After": "2"}), 30) == 2.0
    assert _retry_after(httpx.Headers({"Retry-After": "0.25"}), 30) == 0.25
    assert _retry_after(httpx.Headers({"Retry-After": "3600"}), 5) == 5.0  # capped
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 <= (_retry_after(httpx.Headers({"Retry-After": when}), 30) or 0) <= 20
    assert _retry_after(httpx.Headers({"Retry-After": "soon"}), 30) is None
    assert _retry_after(httpx.Headers(), 30) is None


def test_status_error_mapping() -> None:
    url = "http://h.example/dlo/2/v-noorig/?token=SECRET"
    err = status_error(
        403, url, b'{"error":"token_rejected","reason":"originals_not_kept"}', httpx.Headers()
    )
    assert isinstance(err, TokenRejected) and err.reason == "originals_not_kept"
    assert "does not keep originals" in str(err) and "SECRET" not in str(err)
    bare = status_error(401, url, b"", httpx.Headers())
    assert isinstance(bare, TokenRejected) and bare.reason == "forbidden" and bare.status == 401
    nf = status_error(404, "http://h.example/mpl/1/nope-720p/?token=S", b"{}", httpx.Headers())
    assert isinstance(nf, NotFound) and "preset 'nope-720p'" in str(nf) and "project 1" in str(nf)
    other = status_error(418, url, b"", httpx.Headers())
    assert type(other) is FetchError and other.status == 418


def test_client_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidArgument):
        Client(retries=-1)
    with pytest.raises(InvalidArgument):
        AsyncClient(max_connections=0)
    with Client() as c, pytest.raises(InvalidArgument):
        c.get_text("ftp://h.example/x")


# ---------------------------------------------------------------- sandbox: happy paths


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


def test_expect_playlist_refuses_html_and_vtt_refuses_playlists(sandbox: Any) -> None:
    with Client() as c:
        with pytest.raises(PlaylistError, match="HTML"):
            c.get_text(sandbox.signed_url("embed", sandbox.video_id), expect="playlist")
        with pytest.raises(VTTError, match="WEBVTT"):
            c.get_text(sandbox.signed_url("master", sandbox.video_id), expect="vtt")


def test_head_and_stream(sandbox: Any) -> None:
    rendition = sandbox.media.renditions[0]
    url = sandbox.signed_url("mp4", sandbox.videos[sandbox.video_id].presets[rendition.name])
    with Client() as c:
        head = c.head(url)
        assert int(head.headers["content-length"]) == rendition.mp4_size
        with c.stream(url) as s:
            body = b"".join(s.iter_bytes(4096))
    assert body == rendition.mp4.read_bytes()


# ---------------------------------------------------------------- sandbox: refusals


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _hs256_token(kid: str, sub: str) -> str:
    header = b64url_encode(b'{"alg":"HS256","typ":"JWT","kid":"%s"}' % kid.encode())
    claims = b64url_encode(b'{"sub":"%s","aud":"v","exp":%d}' % (sub.encode(), time.time() + 600))
    return f"{header}.{claims}.{b64url_encode(b'x' * 32)}"


def _expired_token(key: Any, sub: str) -> str:
    """``SigningKey.mint`` refuses past expiries, so sign one with pyjwt from the exported
    (test-time generated) key."""
    import jwt

    claims = {"sub": sub, "aud": "v", "exp": int(time.time()) - 3600}
    return jwt.encode(claims, key.private_key_pem(), algorithm="RS256", headers={"kid": key.key_id})


def test_every_refusal_surfaces_as_token_rejected_with_its_reason(sandbox: Any) -> None:
    vid = sandbox.video_id
    key = sandbox.signing_key
    revoked = sandbox.create_signing_key()
    sandbox.revoke_signing_key(revoked.key_id)
    cases = {
        "expired": _expired_token(key, vid),
        "not_yet_valid": key.mint(vid, 7200, not_before=3600),
        "wrong_audience": key.mint(vid, audience="x"),
        "wrong_subject": key.mint(sandbox.catalog_video_ids[0]),
        "unknown_kid": generate_signing_key().mint(vid),
        "bad_signature": generate_signing_key(key.key_id).mint(vid),
        "revoked_key": revoked.mint(vid),
        "malformed_token": "not-a-jwt",
        "alg_not_allowed": _hs256_token(key.key_id, vid),
    }
    with Client(retries=0) as c:
        for reason, token in cases.items():
            url = sandbox.url("master", vid, token)
            with pytest.raises(TokenRejected) as info:
                c.get_text(url)
            err = info.value
            assert err.reason == reason, (reason, str(err))
            assert err.status == 403
            assert str(token) not in str(err) and str(token) not in (err.url or "")
        # the local diagnosis comes along with the refusal
        with pytest.raises(TokenRejected) as info:
            c.get_text(sandbox.url("master", vid, cases["expired"]))
        assert "expired" in [f.code for f in info.value.diagnosis]
        with pytest.raises(TokenRejected) as info:
            c.get_text(sandbox.url("master", vid, cases["wrong_subject"]))
        assert "wrong_subject" in [f.code for f in info.value.diagnosis]
        with pytest.raises(TokenRejected) as info:
            c.get_text(sandbox.url("master", vid))
        assert info.value.reason == "missing_token" and info.value.diagnosis == []


def test_originals_not_kept_is_said_plainly(sandbox: Any) -> None:
    url = sandbox.signed_url("original", sandbox.no_originals_video_id)
    with Client() as c, pytest.raises(TokenRejected) as info:
        c.head(url)  # HEAD has no body; the reason must still be the origin's
    assert info.value.reason == "originals_not_kept"
    with Client() as c, pytest.raises(TokenRejected) as info:
        c.get_bytes(url)
    assert info.value.reason == "originals_not_kept"
    assert "the project does not keep originals" in str(info.value)


def test_404_is_not_found_naming_kind_and_id(sandbox: Any) -> None:
    token = sandbox.mint(sandbox.video_id)
    url = sandbox.url("preset", "no-such-preset", token, project_id=sandbox.project_id)
    with Client() as c, pytest.raises(NotFound) as info:
        c.get_text(url)
    assert "preset 'no-such-preset'" in str(info.value) and info.value.status == 404
    assert str(token) not in str(info.value)
    # a 404 is not retried
    assert [r.path for r in sandbox.requests].count(
        f"/mpl/{sandbox.project_id}/no-such-preset/"
    ) == 1


# ---------------------------------------------------------------- sandbox: retries and faults


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


# ---------------------------------------------------------------- sandbox: redirects


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


def test_redirect_loops_stop(sandbox: Any) -> None:
    sandbox.add_redirect("/loop-a/", "/loop-b/")
    sandbox.add_redirect("/loop-b/", "/loop-a/")
    try:
        with Client() as c, pytest.raises(FetchError, match="too many redirects"):
            c.get_text(f"{sandbox.base_url}/loop-a/")
    finally:
        sandbox.remove_redirect("/loop-a/")
        sandbox.remove_redirect("/loop-b/")


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
