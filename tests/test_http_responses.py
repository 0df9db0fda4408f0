"""hs_notebook.http responses: Retry-After, the status-to-error mapping (every refusal of
the real sandbox surfaces as ``TokenRejected`` with its reason), body decoding, and what
``expect=`` says when the answer is not a playlist or WebVTT (explained, never dumped)."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from hs_notebook.errors import FetchError, NotFound, PlaylistError, TokenRejected, VTTError
from hs_notebook.http import Client, Fetched, status_error
from hs_notebook.http._responses import check_expected, retry_after
from hs_notebook.ladder import fetch_ladder_url
from hs_notebook.tokens import generate_signing_key

# ---------------- pure: Retry-After, status mapping, decoding


def test_retry_after_forms() -> None:
    assert retry_after(httpx.Headers({"Retry-After": "2"}), 30) == 2.0
    assert retry_after(httpx.Headers({"Retry-After": "0.25"}), 30) == 0.25
    assert retry_after(httpx.Headers({"Retry-After": "3600"}), 5) == 5.0  # capped
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 <= (retry_after(httpx.Headers({"Retry-After": when}), 30) or 0) <= 20
    assert retry_after(httpx.Headers({"Retry-After": "soon"}), 30) is None
    assert retry_after(httpx.Headers(), 30) is None


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


def test_an_odd_charset_from_the_origin_cannot_break_decoding() -> None:
    for charset in ("idna", "punycode", "base64", "no-such-charset"):
        headers = httpx.Headers(
            {"content-type": f"application/vnd.apple.mpegurl; charset={charset}"}
        )
        got = Fetched("http://h/x", "http://h/x", 200, headers, b"#EXTM3U\n\xff#EXT")
        assert got.text.startswith("#EXTM3U\n")


# ---------------- expect=: what came instead of a playlist or WebVTT


def _quoted_part_is_clean(message: str) -> None:
    """No binary garbage: every character printable, no replacement characters, no JPEG
    markers, no escaped control bytes."""
    assert message.isprintable(), repr(message)
    assert "\ufffd" not in message and "JFIF" not in message and "\\x" not in message


def test_expect_playlist_refuses_html_and_vtt_refuses_playlists(sandbox: Any) -> None:
    with Client() as c:
        with pytest.raises(PlaylistError, match="HTML"):
            c.get_text(sandbox.signed_url("embed", sandbox.video_id), expect="playlist")
        with pytest.raises(VTTError, match="WEBVTT"):
            c.get_text(sandbox.signed_url("master", sandbox.video_id), expect="vtt")


def test_binary_answers_to_vtt_and_playlist_requests_are_named(sandbox: Any) -> None:
    video = sandbox.videos[sandbox.video_id]
    poster = sandbox.signed_url("poster", video.poster_id)
    mp4 = sandbox.signed_url("mp4", video.presets["360p"])
    with Client() as c:
        with pytest.raises(VTTError) as vtt:
            c.get_text(poster, expect="vtt")
        with pytest.raises(PlaylistError) as playlist:
            c.get_text(mp4, expect="playlist")
    assert "expected WebVTT from" in str(vtt.value) and "image/jpeg" in str(vtt.value)
    assert "video/mp4" in str(playlist.value)
    for err in (vtt.value, playlist.value):
        _quoted_part_is_clean(str(err))


def test_a_text_answer_that_is_not_a_playlist_is_quoted_short_and_printable(
    sandbox: Any,
) -> None:
    video = sandbox.videos[sandbox.video_id]
    url = sandbox.signed_url("storyboard", video.storyboard_id)  # WebVTT, not a playlist
    with Client() as c, pytest.raises(PlaylistError) as info:
        c.get_text(url, expect="playlist")
    msg = str(info.value)
    assert "does not start with #EXTM3U" in msg
    quoted = msg.rsplit("it starts with ", 1)[1]
    assert quoted.startswith("'WEBVTT")
    assert len(quoted) <= 60 + 3  # at most 60 characters, plus quotes and ")"
    assert "\\n" not in quoted  # folded, not escaped
    _quoted_part_is_clean(msg)


# ---------------- refusals from the origin


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


def test_a_refusal_after_a_cross_origin_redirect_says_the_token_was_withheld(
    sandbox: Any, sandbox_factory: Any
) -> None:
    other = sandbox_factory()
    token = sandbox.mint(sandbox.video_id)
    path = f"/mmpl/{sandbox.project_id}/moved-private/"
    # the other origin's private video needs a token, which is (rightly) not forwarded
    sandbox.add_redirect(path, other.url("master", other.video_id))
    try:
        with pytest.raises(TokenRejected) as info:
            fetch_ladder_url(f"{sandbox.base_url}{path}?token={token}")
        with Client() as c, pytest.raises(TokenRejected) as head:
            c.head(f"{sandbox.base_url}{path}?token={token}")
        with Client() as c, pytest.raises(TokenRejected) as no_token:
            c.get_text(f"{sandbox.base_url}{path}")
    finally:
        sandbox.remove_redirect(path)
    for err in (info.value, head.value):
        msg = str(err)
        assert err.reason == "missing_token" and err.status == 403
        assert f"redirected the request to another origin, {other.base_url}" in msg
        assert "the token was not forwarded there" in msg
        assert "tokens never leave the origin they were minted for" in msg
        assert other.base_url in str(err.url)
        assert str(token) not in msg
    for r in other.requests:
        assert "token" not in r.query
    # with no token to withhold, the refusal is not dressed up as one
    assert no_token.value.reason == "missing_token"
    assert "not forwarded" not in str(no_token.value)


def test_a_quoted_body_never_quotes_a_token() -> None:
    secret = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2In0.U0VDUkVULXNpZ25hdHVyZQ"
    url = f"https://h.example/mpl/1/p/?token={secret}"
    headers = httpx.Headers({"content-type": "text/plain"})
    for body in (f"{secret} is not a playlist", f"see seg.ts?token={secret}", f"x;token={secret}"):
        for expect, error in (("playlist", PlaylistError), ("vtt", VTTError)):
            with pytest.raises(error) as info:
                check_expected(body.encode(), body, headers, url, expect)  # type: ignore[arg-type]
            msg = str(info.value)
            assert "it starts with" in msg and secret not in msg
            assert secret.split(".")[2][:10] not in msg
    # status errors quote the URL (redacted) and the origin's detail
    detail = f'{{"reason":"expired","detail":"token {secret} expired"}}'.encode()
    err = status_error(403, url, detail, httpx.Headers())
    assert isinstance(err, TokenRejected) and secret not in str(err) and secret not in str(err.url)
