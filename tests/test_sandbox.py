"""Tests of the sandbox origin against the real server on loopback with real ffmpeg media.

Refusal tokens are built by hand here (raw ``cryptography`` + base64url), not with
hs_notebook's own minting, so the server's rules are checked independently of it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import logging
import math
import re
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import m3u8
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hs_notebook.errors import InvalidArgument, SandboxError
from hs_notebook.sandbox import MEDIA_DEFECTS, Faults, Sandbox, serve
from hs_notebook.sandbox.media import MediaSet, ffmpeg_exe

M3U8_TYPE = "application/vnd.apple.mpegurl"

# ---------------------------------------------------------------------------- hand-made JWTs


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jpart(obj: dict[str, Any]) -> str:
    return b64u(json.dumps(obj, separators=(",", ":")).encode())


def rs256(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    signing_input = f"{jpart(header)}.{jpart(claims)}"
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64u(signature)}"


def claims_for(video_id: str, **extra: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": video_id, "aud": "v", "exp": int(time.time()) + 600}
    claims.update(extra)
    return claims


class HandKey:
    """An RSA key made in the test, registered with the sandbox under ``kid``."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def token(self, video_id: str, **extra: Any) -> str:
        return rs256(
            {"alg": "RS256", "typ": "JWT", "kid": self.kid},
            claims_for(video_id, **extra),
            self.private,
        )


@pytest.fixture(scope="module")
def hand_key(sandbox: Sandbox) -> HandKey:
    key = HandKey(f"test-{uuid.uuid4().hex[:8]}")
    sandbox.register_public_key(key.kid, key.public_pem)
    return key


def rejection(response: httpx.Response) -> str:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["error"] == "token_rejected"
    return body["reason"]


# ---------------------------------------------------------------------------- resources


def resources(sb: Sandbox, video_id: str) -> list[tuple[str, str, Path | None]]:
    """(path, content type prefix, file served or None) for every route of a video."""
    v = sb.videos[video_id]
    media = sb.media
    p = v.project_id
    low, top = media.renditions[0], media.renditions[-1]
    seg = low.segments[0]
    en = media.text_tracks[0]
    sprite = media.storyboard.sprites[0]
    return [
        (f"/e/{p}/{video_id}/", "text/html", None),
        (f"/mmpl/{p}/{video_id}/", M3U8_TYPE, None),
        (f"/mpl/{p}/{v.presets[low.name]}/", M3U8_TYPE, None),
        (f"/mpl/{p}/{v.presets[low.name]}/{seg.name}", "video/mp2t", seg.path),
        (f"/stcr4/{p}/{v.presets[top.name]}/", "video/mp4", top.mp4),
        (f"/pstv/{p}/{v.poster_id}/", "image/jpeg", media.poster),
        (f"/mplt/{p}/{v.text_tracks[en.language]}/", M3U8_TYPE, None),
        (f"/mplt/{p}/{v.text_tracks[en.language]}/{en.language}.vtt", "text/vtt", en.path),
        (f"/sbt/{p}/{v.storyboard_id}/", "text/vtt", None),
        (f"/sbt/{p}/{v.storyboard_id}/{sprite.name}", "image/jpeg", sprite),
        (f"/dlo/{p}/{video_id}/", "video/mp4", media.original),
    ]


ROUTE_NAMES = [
    "embed",
    "master",
    "preset",
    "segment",
    "mp4",
    "poster",
    "text_track",
    "vtt",
    "storyboard",
    "sprite",
    "original",
]


@pytest.mark.parametrize("index", range(len(ROUTE_NAMES)), ids=ROUTE_NAMES)
def test_route_serves_with_valid_token_get_and_head(
    sandbox: Sandbox, hand_key: HandKey, http: httpx.Client, index: int
) -> None:
    path, ctype, file = resources(sandbox, sandbox.video_id)[index]
    url = f"{sandbox.base_url}{path}?token={hand_key.token(sandbox.video_id)}"
    got = http.get(url)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith(ctype)
    assert got.headers["cache-control"] == "private, no-store"
    if file is not None:
        assert got.content == file.read_bytes()
    else:
        assert got.content
    head = http.head(url)
    assert head.status_code == 200
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))
    assert head.content == b""
    if ROUTE_NAMES[index] == "original":
        assert got.headers["content-disposition"].startswith("attachment")


@pytest.mark.parametrize("index", range(len(ROUTE_NAMES)), ids=ROUTE_NAMES)
def test_route_refuses_missing_token(sandbox: Sandbox, http: httpx.Client, index: int) -> None:
    path, _, _ = resources(sandbox, sandbox.video_id)[index]
    got = http.get(f"{sandbox.base_url}{path}")
    assert rejection(got) == "missing_token"
    assert got.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("index", range(len(ROUTE_NAMES)), ids=ROUTE_NAMES)
def test_public_video_needs_no_token(sandbox: Sandbox, http: httpx.Client, index: int) -> None:
    path, ctype, file = resources(sandbox, sandbox.public_video_id)[index]
    got = http.get(f"{sandbox.base_url}{path}")
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith(ctype)
    if file is not None:
        assert got.content == file.read_bytes()
    # a token on a public video is ignored, even a garbage one, and never propagated
    with_token = http.get(f"{sandbox.base_url}{path}?token=garbage")
    assert with_token.status_code == 200
    assert b"garbage" not in with_token.content


def test_catalog_videos_are_private_and_distinct(
    sandbox: Sandbox, hand_key: HandKey, http: httpx.Client
) -> None:
    ids = sandbox.catalog_video_ids
    assert ids == ["v-cat-00001", "v-cat-00002", "v-cat-00003"]
    presets = [p for v in ids for p in sandbox.videos[v].presets.values()]
    assert len(set(presets)) == len(presets) == 3 * len(sandbox.media.renditions)
    storyboards = {v.storyboard_id for v in sandbox.videos.values()}
    assert len(storyboards) == len(sandbox.videos)
    url = sandbox.url("master", ids[1])
    assert rejection(http.get(url)) == "missing_token"
    assert http.get(f"{url}?token={hand_key.token(ids[1])}").status_code == 200


def test_startup_signing_key_tokens_are_accepted(sandbox: Sandbox, http: httpx.Client) -> None:
    got = http.get(sandbox.signed_url("master", sandbox.video_id))
    assert got.status_code == 200
    keys = sandbox.list_signing_keys()
    assert keys[0]["key_id"] == sandbox.signing_key.key_id
    assert keys[0]["revoked"] is False


# ---------------------------------------------------------------------------- refusals


def preset_url(sb: Sandbox, video_id: str) -> str:
    v = sb.videos[video_id]
    return sb.url("preset", next(iter(v.presets.values())))


def test_malformed_tokens(sandbox: Sandbox, http: httpx.Client) -> None:
    url = preset_url(sandbox, sandbox.video_id)
    for bad in ("not-a-jwt", "a.b.c", f"{jpart({'alg': 'RS256'})}.%%%.x"):
        assert rejection(http.get(url, params={"token": bad})) == "malformed_token"


def test_alg_none_is_refused(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": hand_key.kid}
    token = f"{jpart(header)}.{jpart(claims_for(sandbox.video_id))}."
    got = http.get(preset_url(sandbox, sandbox.video_id), params={"token": token})
    assert rejection(got) == "alg_not_allowed"


def test_hs256_signed_with_public_pem_is_refused(
    sandbox: Sandbox, hand_key: HandKey, http: httpx.Client
) -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": hand_key.kid}
    signing_input = f"{jpart(header)}.{jpart(claims_for(sandbox.video_id))}"
    mac = hmac.new(hand_key.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    got = http.get(
        preset_url(sandbox, sandbox.video_id), params={"token": f"{signing_input}.{b64u(mac)}"}
    )
    assert rejection(got) == "alg_not_allowed"


def test_unknown_kid(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    header = {"alg": "RS256", "typ": "JWT", "kid": "no-such-key"}
    token = rs256(header, claims_for(sandbox.video_id), hand_key.private)
    got = http.get(preset_url(sandbox, sandbox.video_id), params={"token": token})
    assert rejection(got) == "unknown_kid"


def test_bad_signature(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header = {"alg": "RS256", "typ": "JWT", "kid": hand_key.kid}
    token = rs256(header, claims_for(sandbox.video_id), other)
    got = http.get(preset_url(sandbox, sandbox.video_id), params={"token": token})
    assert rejection(got) == "bad_signature"
    # tampering with the claims of a good token breaks the signature too
    good = hand_key.token(sandbox.video_id).split(".")
    forged = f"{good[0]}.{jpart(claims_for(sandbox.video_id, exp=4102444800))}.{good[2]}"
    got = http.get(preset_url(sandbox, sandbox.video_id), params={"token": forged})
    assert rejection(got) == "bad_signature"


def test_wrong_audience(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    token = hand_key.token(sandbox.video_id, aud="api")
    got = http.get(preset_url(sandbox, sandbox.video_id), params={"token": token})
    assert rejection(got) == "wrong_audience"


def test_wrong_subject(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    token_for_a = hand_key.token(sandbox.video_id)
    b_preset = preset_url(sandbox, sandbox.no_originals_video_id)
    assert rejection(http.get(b_preset, params={"token": token_for_a})) == "wrong_subject"
    b_token = hand_key.token(sandbox.no_originals_video_id)
    assert http.get(b_preset, params={"token": b_token}).status_code == 200


def test_expired_and_not_yet_valid(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    url = preset_url(sandbox, sandbox.video_id)
    now = int(time.time())
    expired = hand_key.token(sandbox.video_id, exp=now - 3600)
    assert rejection(http.get(url, params={"token": expired})) == "expired"
    no_exp = rs256(
        {"alg": "RS256", "kid": hand_key.kid},
        {"sub": sandbox.video_id, "aud": "v"},
        hand_key.private,
    )
    assert rejection(http.get(url, params={"token": no_exp})) == "expired"
    early = hand_key.token(sandbox.video_id, nbf=now + 3600, exp=now + 7200)
    assert rejection(http.get(url, params={"token": early})) == "not_yet_valid"
    # within the 30 s leeway both are still accepted
    edge = hand_key.token(sandbox.video_id, nbf=now + 5, exp=now + 60)
    assert http.get(url, params={"token": edge}).status_code == 200


def test_revoked_key(sandbox: Sandbox, http: httpx.Client) -> None:
    key = HandKey(f"revoke-me-{uuid.uuid4().hex[:6]}")
    sandbox.register_public_key(key.kid, key.public_pem)
    url = preset_url(sandbox, sandbox.video_id)
    token = key.token(sandbox.video_id)
    assert http.get(url, params={"token": token}).status_code == 200
    sandbox.revoke_signing_key(key.kid)
    assert rejection(http.get(url, params={"token": token})) == "revoked_key"
    listed = {k["key_id"]: k for k in sandbox.list_signing_keys()}
    assert listed[key.kid]["revoked"] is True
    assert listed[sandbox.signing_key.key_id]["revoked"] is False
    with pytest.raises(InvalidArgument):
        sandbox.revoke_signing_key("never-registered")


def test_created_signing_key_exported_private_half_signs_by_hand(
    sandbox: Sandbox, http: httpx.Client
) -> None:
    key = sandbox.create_signing_key()
    pem = base64.b64decode(key.private_key_base64())
    private = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    token = rs256({"alg": "RS256", "kid": key.key_id}, claims_for(sandbox.video_id), private)
    assert (
        http.get(preset_url(sandbox, sandbox.video_id), params={"token": token}).status_code == 200
    )


def test_kid_in_claims_fallback_is_accepted_with_warning(
    sandbox: Sandbox, hand_key: HandKey, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    token = rs256(
        {"alg": "RS256", "typ": "JWT"},
        claims_for(sandbox.video_id, kid=hand_key.kid),
        hand_key.private,
    )
    with caplog.at_level(logging.WARNING, logger="hs_notebook.sandbox"):
        got = http.get(preset_url(sandbox, sandbox.video_id), params={"token": token})
    assert got.status_code == 200, got.text
    warnings = [r for r in caplog.records if r.name == "hs_notebook.sandbox"]
    assert any("kid" in r.getMessage() and hand_key.kid in r.getMessage() for r in warnings)
    assert all(token not in r.getMessage() for r in warnings)
    # no kid anywhere: nothing to look the key up by
    bare = rs256({"alg": "RS256"}, claims_for(sandbox.video_id), hand_key.private)
    got = http.get(preset_url(sandbox, sandbox.video_id), params={"token": bare})
    assert rejection(got) == "unknown_kid"


def test_originals_not_kept(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    video = sandbox.no_originals_video_id
    assert sandbox.videos[video].project_id == sandbox.no_originals_project_id
    url = sandbox.url("original", video)
    assert f"/dlo/{sandbox.no_originals_project_id}/" in url
    assert rejection(http.get(url)) == "missing_token"
    assert rejection(http.get(url, params={"token": hand_key.token(video)})) == "originals_not_kept"
    # the rest of that video is served normally
    assert http.get(
        sandbox.url("master", video), params={"token": hand_key.token(video)}
    ).is_success


# ---------------------------------------------------------------------------- 404s


def test_unknown_ids_are_404_json(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    token = hand_key.token(sandbox.video_id)
    v = sandbox.videos[sandbox.video_id]
    preset = next(iter(v.presets.values()))
    noorig_preset = next(iter(sandbox.videos[sandbox.no_originals_video_id].presets.values()))
    paths = [
        "/mmpl/1/v-nope/",
        "/mmpl/99/v-demo/",
        "/mmpl/abc/v-demo/",
        "/mpl/1/nope-360p/",
        f"/mpl/1/{noorig_preset}/",  # exists, but in project 2
        f"/mpl/1/{preset}/seg-99999.ts",
        "/pstv/1/nope/",
        "/mplt/1/nope/",
        f"/mplt/1/{next(iter(v.text_tracks.values()))}/xx.vtt",
        "/sbt/1/999999/",
        "/sbt/1/abc/",
        f"/sbt/1/{v.storyboard_id}/sprite-999.jpg",
        "/dlo/1/v-nope/",
        "/nothing/here/",
    ]
    for path in paths:
        got = http.get(f"{sandbox.base_url}{path}", params={"token": token})
        assert got.status_code == 404, path
        assert got.json()["error"] == "not_found", path
        assert got.json()["detail"]


# ---------------------------------------------------------------------------- HTTP details


def test_range_requests(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    top = sandbox.media.renditions[-1]
    data = top.mp4.read_bytes()
    url = sandbox.url("mp4", sandbox.videos[sandbox.video_id].presets[top.name])
    token = {"token": hand_key.token(sandbox.video_id)}
    got = http.get(url, params=token, headers={"Range": "bytes=100-1099"})
    assert got.status_code == 206
    assert got.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert got.content == data[100:1100]
    assert got.headers["accept-ranges"] == "bytes"
    tail = http.get(url, params=token, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    open_end = http.get(url, params=token, headers={"Range": f"bytes={len(data) - 10}-"})
    assert open_end.content == data[-10:]
    beyond = http.get(url, params=token, headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"
    # a refused token is refused before any range handling
    assert http.get(url, headers={"Range": "bytes=0-9"}).status_code == 403


def test_cors_headers(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    url = preset_url(sandbox, sandbox.video_id)
    origin = {"Origin": "http://notebook.example"}
    got = http.get(url, params={"token": hand_key.token(sandbox.video_id)}, headers=origin)
    assert got.status_code == 200
    assert got.headers["access-control-allow-origin"] == "*"
    exposed = got.headers["access-control-expose-headers"].lower()
    assert "content-range" in exposed and "content-length" in exposed
    refused = http.get(url, headers=origin)
    assert refused.status_code == 403
    assert refused.headers["access-control-allow-origin"] == "*"
    preflight = http.options(
        url,
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["access-control-allow-methods"]


def test_redirects_and_request_log(
    sandbox_factory: Callable[..., Sandbox], http: httpx.Client
) -> None:
    sb = sandbox_factory()
    target = sb.url("master", sb.public_video_id)
    sb.add_redirect("/moved/", target, status=307)
    got = http.get(f"{sb.base_url}/moved/", params={"token": "abc"})
    assert got.status_code == 307
    assert got.headers["location"] == target
    followed = http.get(f"{sb.base_url}/moved/", follow_redirects=True)
    assert followed.status_code == 200 and followed.text.startswith("#EXTM3U")
    records = sb.requests
    assert [(r.method, r.path, r.status) for r in records] == [
        ("GET", "/moved/", 307),
        ("GET", "/moved/", 307),
        ("GET", f"/mmpl/1/{sb.public_video_id}/", 200),
    ]
    assert records[0].query == {"token": "abc"}
    assert records[0].headers["host"] == urlsplit(sb.base_url).netloc
    sb.clear_requests()
    assert sb.requests == []


# ---------------------------------------------------------------------------- playlists


def fetch(http: httpx.Client, url: str) -> httpx.Response:
    got = http.get(url)
    assert got.status_code == 200, (url, got.text)
    return got


def test_master_and_media_playlists_match_the_served_segments(
    sandbox: Sandbox, hand_key: HandKey, http: httpx.Client, tiny_media: MediaSet
) -> None:
    token = hand_key.token(sandbox.video_id)
    master_url = sandbox.url("master", sandbox.video_id, token)
    text = fetch(http, master_url).text
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in lines
    playlist = m3u8.loads(text, uri=master_url)
    assert playlist.is_variant
    variants = playlist.playlists
    assert len(variants) == 4
    bandwidths = [v.stream_info.bandwidth for v in variants]
    assert bandwidths == sorted(bandwidths)
    subs = [m for m in playlist.media if m.type == "SUBTITLES"]
    assert [m.language for m in subs] == [t.language for t in tiny_media.text_tracks]
    assert [m.default for m in subs] == ["YES", "NO"]
    for media in subs:
        assert parse_qs(urlsplit(media.uri).query)["token"] == [token]
    for variant, rendition in zip(variants, tiny_media.renditions, strict=True):
        info = variant.stream_info
        assert parse_qs(urlsplit(variant.uri).query)["token"] == [token]
        assert variant.uri.startswith(sandbox.base_url + "/mpl/1/")
        assert info.resolution == (rendition.width, rendition.height)
        assert info.codecs == rendition.codecs
        assert info.subtitles == "subs"
        assert math.isclose(info.frame_rate, rendition.frame_rate)
        media_text = fetch(http, variant.uri).text
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in media_text
        assert "#EXT-X-ENDLIST" in media_text
        assert "#EXT-X-MEDIA-SEQUENCE:0" in media_text
        assert "#EXT-X-INDEPENDENT-SEGMENTS" in media_text
        assert re.findall(r"#EXTINF:(\d+\.\d{6}),", media_text)
        media_pl = m3u8.loads(media_text, uri=variant.uri)
        durations = [s.duration for s in media_pl.segments]
        assert math.isclose(sum(durations), tiny_media.duration, abs_tol=1e-3)
        assert media_pl.target_duration == math.ceil(max(durations))
        sizes = []
        for seg in media_pl.segments:
            assert parse_qs(urlsplit(seg.uri).query)["token"] == [token]
            body = fetch(http, seg.uri)
            assert body.headers["content-type"] == "video/mp2t"
            assert body.content[:1] == b"\x47"  # MPEG-TS sync byte
            sizes.append(len(body.content))
        peak = max(s * 8 / d for s, d in zip(sizes, durations, strict=True))
        average = sum(sizes) * 8 / sum(durations)
        assert abs(info.bandwidth - peak) <= 1, (info.bandwidth, peak)
        assert abs(info.average_bandwidth - average) <= 1, (info.average_bandwidth, average)


def test_text_track_and_storyboard_playlists(
    sandbox: Sandbox, hand_key: HandKey, http: httpx.Client, tiny_media: MediaSet
) -> None:
    token = hand_key.token(sandbox.video_id)
    v = sandbox.videos[sandbox.video_id]
    for track in tiny_media.text_tracks:
        url = sandbox.url("text_track", v.text_tracks[track.language], token)
        pl = m3u8.loads(fetch(http, url).text, uri=url)
        assert pl.playlist_type == "vod" and pl.is_endlist
        assert len(pl.segments) == 1
        assert math.isclose(pl.segments[0].duration, track.duration, abs_tol=1e-6)
        vtt = fetch(http, pl.segments[0].uri)
        assert vtt.headers["content-type"].startswith("text/vtt")
        assert vtt.content == track.path.read_bytes()
        assert vtt.text.startswith("WEBVTT")
    sb_url = sandbox.url("storyboard", v.storyboard_id, token)
    text = fetch(http, sb_url).text
    assert text.startswith("WEBVTT")
    cue_re = re.compile(
        r"^(\d{2}:\d{2}:\d{2}\.\d{3}) --> (\d{2}:\d{2}:\d{2}\.\d{3})\n"
        r"(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$",
        re.M,
    )
    cues = cue_re.findall(text)
    assert len(cues) == len(tiny_media.storyboard.cues)
    sprites = {p.name: p.read_bytes() for p in tiny_media.storyboard.sprites}
    for (_, _, uri, _x, _y, w, h), cue in zip(cues, tiny_media.storyboard.cues, strict=True):
        assert (int(w), int(h)) == (cue.w, cue.h)
        assert parse_qs(urlsplit(uri).query)["token"] == [token]
        image = fetch(http, uri)
        assert image.content == sprites[Path(urlsplit(uri).path).name]


def test_child_tokens_false_needs_client_side_propagation(
    sandbox_factory: Callable[..., Sandbox], http: httpx.Client
) -> None:
    sb = sandbox_factory(child_tokens=False)
    token = sb.mint(sb.video_id)
    master_url = sb.url("master", sb.video_id, token)
    master = m3u8.loads(fetch(http, master_url).text, uri=master_url)
    assert "token=" not in master.dumps()
    children: list[str] = [master.playlists[0].uri, master.media[0].uri]
    assert all(c.startswith(sb.base_url) for c in children)
    preset_pl = m3u8.loads(fetch(http, f"{children[0]}?token={token}").text)
    relative = [s.uri for s in preset_pl.segments]
    assert relative and all("/" not in u and "token" not in u for u in relative)
    text_pl = m3u8.loads(fetch(http, f"{children[1]}?token={token}").text)
    storyboard = fetch(http, sb.url("storyboard", sb.videos[sb.video_id].storyboard_id, token)).text
    sprite_rel = re.search(r"^(sprite-\d+\.jpg)#xywh=", storyboard, re.M)
    assert sprite_rel is not None
    grandchildren = [
        urljoin(children[0], relative[0]),
        urljoin(children[1], text_pl.segments[0].uri),
        urljoin(sb.url("storyboard", sb.videos[sb.video_id].storyboard_id), sprite_rel.group(1)),
    ]
    for url in [*children, *grandchildren]:
        assert rejection(http.get(url)) == "missing_token", url
        assert http.get(url, params={"token": token}).status_code == 200, url


# ---------------------------------------------------------------------------- player page


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse_tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(text)
    return parser.tags


def test_player_page(sandbox: Sandbox, hand_key: HandKey, http: httpx.Client) -> None:
    token = hand_key.token(sandbox.video_id)
    url = sandbox.url("embed", sandbox.video_id, token)
    page = fetch(http, url)
    assert page.headers["content-type"].startswith("text/html")
    tags = parse_tags(page.text)
    video = next(a for t, a in tags if t == "video")
    assert "controls" in video and "playsinline" in video
    assert "autoplay" not in video and "muted" not in video
    sources = [a for t, a in tags if t == "source"]
    tracks = [a for t, a in tags if t == "track"]
    # the master playlist first (browsers that play HLS natively pick it), the MP4 second
    assert [s["type"] for s in sources] == ["application/vnd.apple.mpegurl", "video/mp4"]
    assert "/mmpl/1/" in (sources[0]["src"] or "") and "/stcr4/1/" in (sources[1]["src"] or "")
    overlay = next(a for t, a in tags if t == "div" and a.get("id") == "rendition")
    assert overlay is not None and "videoWidth" in page.text and "videoHeight" in page.text
    assert [t["srclang"] for t in tracks] == [t.language for t in sandbox.media.text_tracks]
    assert all(t["kind"] == "subtitles" and t["label"] for t in tracks)
    assert "default" in tracks[0] and "default" not in tracks[1]
    for src, ctype in [
        (sources[0]["src"], M3U8_TYPE),
        (sources[1]["src"], "video/mp4"),
        (video["poster"], "image/jpeg"),
        *[(t["src"], "text/vtt") for t in tracks],
    ]:
        assert src is not None
        absolute = urljoin(url, src)
        assert parse_qs(urlsplit(absolute).query)["token"] == [token]
        got = fetch(http, absolute)
        assert got.headers["content-type"].startswith(ctype)
    for flag in ("1", "true"):
        auto = fetch(http, f"{url}&autoplay={flag}").text
        attrs = next(a for t, a in parse_tags(auto) if t == "video")
        assert "autoplay" in attrs and "muted" in attrs


# ---------------------------------------------------------------------------- lifecycle


def test_repr_never_shows_key_material(sandbox: Sandbox) -> None:
    secret = sandbox.signing_key.private_key_base64()
    pem_body = base64.b64decode(secret).decode().splitlines()[1]
    for text in (repr(sandbox), str(sandbox), sandbox._repr_html_()):
        assert secret not in text and pem_body not in text
    assert sandbox.base_url in repr(sandbox) and "tiny" in repr(sandbox)


def test_invalid_arguments() -> None:
    with pytest.raises(InvalidArgument, match="profile"):
        Sandbox("huge")
    with pytest.raises(InvalidArgument):
        Sandbox("tiny", port=70000)
    with pytest.raises(InvalidArgument):
        Sandbox("tiny", catalog_size=-1)
    with pytest.raises(SandboxError, match="start"):
        _ = Sandbox("tiny").base_url


def test_port_in_use_raises_sandbox_error(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="port"):
        Sandbox("tiny", port=sandbox.port).start()


def test_start_inside_a_running_event_loop_and_stop(hs_cache_dir: Path) -> None:
    sb = Sandbox("tiny", cache_dir=hs_cache_dir)

    async def notebook_cell() -> int:
        loop = asyncio.get_running_loop()
        sb.start()  # synchronous, like a Jupyter cell; must not touch this loop
        assert asyncio.get_running_loop() is loop
        async with httpx.AsyncClient(trust_env=False) as client:
            got = await client.get(sb.url("master", sb.public_video_id))
        return got.status_code

    try:
        assert asyncio.run(notebook_cell()) == 200
    finally:
        sb.stop()
    assert not sb.running
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as client:
        client.get(sb.url("master", sb.public_video_id))


def test_two_sandboxes_starting_at_once_on_an_empty_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    boxes = [Sandbox("tiny", cache_dir=cache), Sandbox("tiny", cache_dir=cache)]
    errors: list[BaseException] = []

    def start(sb: Sandbox) -> None:
        try:
            sb.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(sb,)) for sb in boxes]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert all(sb.running for sb in boxes)
        with httpx.Client(trust_env=False, timeout=10) as client:
            bodies = []
            for sb in boxes:
                v = sb.videos[sb.public_video_id]
                top = sb.media.renditions[-1]
                preset = v.presets[top.name]
                seg = top.segments[-1].name
                bodies.append(
                    (
                        fetch(client, sb.url("mp4", preset)).content,
                        fetch(client, f"{sb.base_url}/mpl/1/{preset}/{seg}").content,
                        fetch(client, sb.url("poster", v.poster_id)).content,
                    )
                )
        assert bodies[0] == bodies[1]
        assert all(len(b) > 0 for b in bodies[0])
    finally:
        for sb in boxes:
            sb.stop()


def test_serve_prints_a_usable_key_and_stops(hs_cache_dir: Path, tiny_media: MediaSet) -> None:
    out = io.StringIO()
    seen: dict[str, Any] = {}

    def wait() -> None:
        text = out.getvalue()
        base = re.search(r"running at (http://\S+)", text)
        kid = re.search(r"signing key id:\s+(\S+)", text)
        key = re.search(r"keep it secret\):\n\s+(\S+)", text)
        assert base and kid and key, text
        private = serialization.load_pem_private_key(base64.b64decode(key.group(1)), None)
        assert isinstance(private, rsa.RSAPrivateKey)
        token = rs256({"alg": "RS256", "kid": kid.group(1)}, claims_for("v-demo"), private)
        with httpx.Client(trust_env=False) as client:
            seen["status"] = client.get(f"{base.group(1)}/mmpl/1/v-demo/?token={token}").status_code
        seen["base"] = base.group(1)

    serve(port=0, profile="tiny", out=out, cache_dir=hs_cache_dir, wait=wait)
    assert seen["status"] == 200
    # the listing names every rendition preset of the demo video (v-demo-360p, ...)
    for rendition in tiny_media.renditions:
        assert f"v-demo-{rendition.name}" in out.getvalue()
    assert out.getvalue().rstrip().endswith("Sandbox stopped.")
    with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as client:
        client.get(f"{seen['base']}/mmpl/1/v-public/")


# ---------------------------------------------------------------------------- faults


@pytest.fixture(scope="module")
def faulty(hs_cache_dir: Path, tiny_media: MediaSet) -> Any:
    sb = Sandbox("tiny", cache_dir=hs_cache_dir)
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def fsb(faulty: Sandbox) -> Any:
    faulty.faults = None
    yield faulty
    faulty.faults = None


def public_master(sb: Sandbox) -> str:
    return sb.url("master", sb.public_video_id)


def test_faults_validation() -> None:
    for bad in (
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"latency": -1},
        {"error_status": 404},
        {"paths": "("},
        {"retry_after": float("nan")},
    ):
        with pytest.raises(InvalidArgument):
            Faults(**bad)
    assert not Faults().active and Faults(latency=0.1).active


def test_fault_latency(fsb: Sandbox, http: httpx.Client) -> None:
    fsb.faults = Faults(latency=0.25)
    start = time.perf_counter()
    got = http.get(public_master(fsb))
    elapsed = time.perf_counter() - start
    assert got.status_code == 200
    assert elapsed >= 0.25


def test_fault_errors_and_retry_after(fsb: Sandbox, http: httpx.Client) -> None:
    fsb.faults = Faults(error_rate=1.0)
    for _ in range(3):
        got = http.get(public_master(fsb))
        assert got.status_code == 503
        assert "retry-after" not in got.headers
    fsb.faults = Faults(error_rate=1.0, retry_after=2)
    got = http.get(public_master(fsb), headers={"Origin": "http://x.example"})
    assert got.status_code == 503 and got.headers["retry-after"] == "2"
    assert got.headers["access-control-allow-origin"] == "*"
    fsb.faults = Faults(error_rate=1.0, error_status=500, retry_after=0.5)
    got = http.get(public_master(fsb))
    assert got.status_code == 500 and got.headers["retry-after"] == "0.5"
    assert fsb.requests[-1].status == 500
    fsb.faults = None
    assert http.get(public_master(fsb)).status_code == 200


def test_fault_error_fraction_and_determinism(fsb: Sandbox, http: httpx.Client) -> None:
    def run(seed: int, n: int) -> list[int]:
        fsb.faults = Faults(error_rate=0.3, seed=seed)
        return [http.get(public_master(fsb)).status_code for _ in range(n)]

    first = run(7, 200)
    assert set(first) == {200, 503}
    fraction = first.count(503) / len(first)
    assert 0.18 <= fraction <= 0.42, fraction  # 4 standard deviations around 0.3
    assert run(7, 200) == first  # same seed, same sequence (counters restart on set)
    assert run(8, 200) != first


def test_fault_paths_filter(fsb: Sandbox, http: httpx.Client) -> None:
    fsb.faults = Faults(error_rate=1.0, paths=r"^/mpl/")
    assert http.get(public_master(fsb)).status_code == 200
    preset = next(iter(fsb.videos[fsb.public_video_id].presets.values()))
    assert http.get(fsb.url("preset", preset)).status_code == 503


def test_fault_drop(fsb: Sandbox, http: httpx.Client) -> None:
    fsb.faults = Faults(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(public_master(fsb))
    assert fsb.requests[-1].status == 0
    fsb.faults = None
    assert http.get(public_master(fsb)).status_code == 200  # the server is fine afterwards


def test_fault_truncate(fsb: Sandbox, http: httpx.Client) -> None:
    fsb.faults = Faults(truncate_rate=1.0)
    top = fsb.media.renditions[-1]
    data = top.mp4.read_bytes()
    url = fsb.url("mp4", fsb.videos[fsb.public_video_id].presets[top.name])
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), http.stream("GET", url) as response:
        assert response.status_code == 200
        promised = int(response.headers["content-length"])
        for chunk in response.iter_raw():
            received += chunk
    assert promised == len(data)
    assert 0 < len(received) < promised
    assert bytes(received) == data[: len(received)]
    head = http.head(url)  # HEAD has no body to cut
    assert head.status_code == 200


def test_fault_slow_body(fsb: Sandbox, http: httpx.Client) -> None:
    seg = fsb.media.renditions[0].segments[0]
    preset = fsb.videos[fsb.public_video_id].presets[fsb.media.renditions[0].name]
    chunks = math.ceil(seg.size / 16384)
    fsb.faults = Faults(slow_body=0.05)
    start = time.perf_counter()
    got = http.get(f"{fsb.base_url}/mpl/1/{preset}/{seg.name}")
    elapsed = time.perf_counter() - start
    assert got.content == seg.path.read_bytes()
    assert elapsed >= chunks * 0.05


# ---------------------------------------------------------------------------- media defects
#
# Each defect is checked in what the sandbox *serves*: the playlists over HTTP, and ffmpeg's
# own reading of the served segment bytes (stream info, and showinfo with the streams' own
# timestamps), never the sandbox's manifest.  The clean ladder must show no problem, and
# each defect video exactly the one problem it is named for.

#: Defect -> the problem ``ladder_problems`` must find in its video (wasted_rung: none that
#: the playlist and bitstream show; its VMAF is checked in a slow test below).
DEFECT_PROBLEM = {
    "no_idr": {"segment_starts_without_idr"},
    "codecs": {"codecs"},
    "resolution": {"resolution"},
    "frame_rate": {"frame_rate"},
    "misaligned": {"misaligned_segments"},
    "no_timestamp_map": {"timestamp_map"},
    "extinf_drift": {"extinf"},
    "wasted_rung": set(),
}
PROFILE_NAMES = {"42": "Baseline", "4d": "Main", "64": "High"}


@pytest.fixture(scope="module")
def dsb(hs_cache_dir: Path, tiny_media: MediaSet) -> Iterator[Sandbox]:
    """A tiny sandbox serving every media defect (its media made once, in the session cache)."""
    sb = Sandbox("tiny", cache_dir=hs_cache_dir, media_defects="all")
    sb.start()
    yield sb
    sb.stop()


def ffmpeg_readings(paths: list[Path]) -> list[dict[str, Any]]:
    """ffmpeg's reading of each MPEG-TS file (one ffmpeg run): profile name, frame size, frame
    rate, and ``frames`` = [(pts in 90 kHz, keyframe, picture type)].  ``showall`` makes the
    decoder show the frames before the first keyframe too (it drops them by default)."""
    args: list[str] = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-copyts"]
    for p in paths:
        args += ["-flags2", "+showall", "-i", str(p)]
    graph = ";".join(f"[{i}:v:0]showinfo[o{i}]" for i in range(len(paths)))
    args += ["-filter_complex", graph]
    for i in range(len(paths)):
        args += ["-map", f"[o{i}]", "-f", "null", "-"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out: list[dict[str, Any]] = []
    for i in range(len(paths)):
        stream = re.search(
            rf"Stream #{i}:\d+\[0x[0-9a-f]+\]: Video: h264 \((\w+)\).*?, (\d+)x(\d+).*?, "
            r"([\d.]+) fps",
            proc.stderr,
        )
        assert stream, proc.stderr[-2000:]
        frames = [
            (int(pts), key == "1", kind)
            for pts, key, kind in re.findall(
                rf"Parsed_showinfo_{i} @ \w+\] n:\s*\d+ pts:\s*(\d+) .*?iskey:(\d) type:(\w)",
                proc.stderr,
            )
        ]
        assert frames, f"no frames read from {paths[i]}"
        profile, width, height, fps = stream.groups()
        out.append(
            {"profile": profile, "width": int(width), "height": int(height),
             "fps": float(fps), "frames": frames}
        )  # fmt: skip
    return out


def ladder_problems(sb: Sandbox, video_id: str, http: httpx.Client, tmp: Path) -> set[str]:
    """What is wrong in the ladder the sandbox serves for ``video_id``, as the media shows it."""
    problems: set[str] = set()
    master_url = sb.signed_url("master", video_id)
    master = m3u8.loads(fetch(http, master_url).text, uri=master_url)
    starts: list[list[int]] = []
    first_pts = None
    for n, variant in enumerate(master.playlists):
        info = variant.stream_info
        media = m3u8.loads(fetch(http, variant.uri).text, uri=variant.uri)
        paths = []
        for k, seg in enumerate(media.segments):
            path = tmp / f"{video_id}-{n}-{k}.ts"
            path.write_bytes(fetch(http, seg.uri).content)
            paths.append(path)
        readings = ffmpeg_readings(paths)
        first = readings[0]
        declared_video = info.codecs.split(",")[0]
        if PROFILE_NAMES.get(declared_video[5:7]) != first["profile"]:
            problems.add("codecs")
        if info.resolution != (first["width"], first["height"]):
            problems.add("resolution")
        if not math.isclose(info.frame_rate, first["fps"], abs_tol=0.01):
            problems.add("frame_rate")
        for seg, reading in zip(media.segments, readings, strict=True):
            frames = reading["frames"]
            if not (frames[0][1] and frames[0][2] == "I"):
                problems.add("segment_starts_without_idr")
            media_duration = len(frames) / reading["fps"]
            if abs(seg.duration - media_duration) > 0.1:
                problems.add("extinf")
        starts.append([r["frames"][0][0] for r in readings])
        first_pts = starts[0][0]
    if any(s != starts[0] for s in starts[1:]):
        problems.add("misaligned_segments")
    for track in master.media:
        if track.type != "SUBTITLES":
            continue
        playlist = m3u8.loads(fetch(http, track.uri).text, uri=track.uri)
        for seg in playlist.segments:
            header = fetch(http, seg.uri).text.split("\n\n", 1)[0].splitlines()
            if f"X-TIMESTAMP-MAP=MPEGTS:{first_pts},LOCAL:00:00:00.000" not in header:
                problems.add("timestamp_map")
    return problems


def test_defect_sandbox_lists_one_private_video_per_defect(
    dsb: Sandbox, http: httpx.Client
) -> None:
    assert list(dsb.defect_video_ids) == list(MEDIA_DEFECTS)
    assert list(dsb.defect_video_ids.values()) == [
        "v-defect-" + d.replace("_", "-") for d in MEDIA_DEFECTS
    ]
    for defect, video_id in dsb.defect_video_ids.items():
        video = dsb.videos[video_id]
        assert video.private and video.defect == defect and video.project_id == dsb.project_id
        assert dsb.media_of(video_id).defect == defect
        assert rejection(http.get(dsb.url("master", video_id))) == "missing_token"
    assert dsb.media_of(dsb.video_id).defect == ""
    with pytest.raises(InvalidArgument, match=r"unknown media defect.*nope"):
        Sandbox("tiny", media_defects=["codecs", "nope"])
    with pytest.raises(InvalidArgument):
        Sandbox("tiny", media_defects=3)  # type: ignore[arg-type]
    assert Sandbox("tiny", media_defects="codecs").media_defects == ("codecs",)


@pytest.mark.slow
def test_clean_ladder_is_clean(dsb: Sandbox, http: httpx.Client, tmp_path: Path) -> None:
    assert ladder_problems(dsb, dsb.video_id, http, tmp_path) == set()


@pytest.mark.slow
@pytest.mark.parametrize("defect", list(DEFECT_PROBLEM))
def test_each_defect_is_in_the_served_media(
    dsb: Sandbox, http: httpx.Client, tmp_path: Path, defect: str
) -> None:
    video_id = dsb.defect_video_ids[defect]
    assert ladder_problems(dsb, video_id, http, tmp_path) == DEFECT_PROBLEM[defect]


def test_timestamp_map_is_the_first_segment_pts(
    sandbox: Sandbox, http: httpx.Client, tmp_path: Path
) -> None:
    """Cue time 0 of every served WebVTT is the first video PTS of the first segment (ffmpeg's
    reading of the served bytes), so cues show on time over MPEG-TS."""
    video = sandbox.videos[sandbox.video_id]
    seg = sandbox.media.renditions[0].segments[0]
    url = sandbox.signed_url("preset", video.presets[sandbox.media.renditions[0].name])
    path = tmp_path / "first.ts"
    path.write_bytes(fetch(http, url.replace("/?token", f"/{seg.name}?token")).content)
    (reading,) = ffmpeg_readings([path])
    pts = reading["frames"][0][0]
    assert 1.0 < pts / 90_000 < 2.0  # ffmpeg's MPEG-TS start offset, about 1.4 s
    for lang, track_id in video.text_tracks.items():
        vtt = fetch(
            http,
            sandbox.signed_url("text_track", track_id).replace("/?token", f"/{lang}.vtt?token"),
        ).text
        header = vtt.split("\n\n", 1)[0].splitlines()
        assert header[0] == "WEBVTT"
        assert header[1] == f"X-TIMESTAMP-MAP=MPEGTS:{pts},LOCAL:00:00:00.000"


def _vmaf(distorted: Path, reference: Path, size: tuple[int, int]) -> float:
    graph = (f"[0:v]scale={size[0]}:{size[1]}:flags=bicubic,setpts=PTS-STARTPTS[d];"
             "[1:v]setpts=PTS-STARTPTS[r];[d][r]libvmaf=n_threads=2")  # fmt: skip
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(distorted), "-i", str(reference),
         "-lavfi", graph, "-f", "null", "-"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    found = re.search(r"VMAF score: ([0-9.]+)", proc.stderr)
    assert found, proc.stderr[-2000:]
    return float(found.group(1))


@pytest.mark.slow
def test_wasted_rung_scores_below_the_rung_beneath(
    dsb: Sandbox, http: httpx.Client, tmp_path: Path
) -> None:
    """The wasted rung costs more bits than the rung beneath it and looks worse: VMAF of the
    served MP4s against the served original (ffmpeg libvmaf, every frame)."""
    video_id = dsb.defect_video_ids["wasted_rung"]
    video = dsb.videos[video_id]
    media = dsb.media_of(video_id)
    original = tmp_path / "original.mp4"
    original.write_bytes(fetch(http, dsb.signed_url("original", video_id)).content)
    size = (media.renditions[-1].width, media.renditions[-1].height)
    master_url = dsb.signed_url("master", video_id)
    variants = m3u8.loads(fetch(http, master_url).text, uri=master_url).playlists
    wasted = len(media.renditions) - 2
    scores, rates = [], []
    for index in (wasted - 1, wasted):
        rendition = media.renditions[index]
        path = tmp_path / f"{rendition.name}.mp4"
        path.write_bytes(fetch(http, dsb.signed_url("mp4", video.presets[rendition.name])).content)
        scores.append(_vmaf(path, original, size))
        rates.append(variants[index].stream_info.average_bandwidth)
    assert rates[1] > 1.3 * rates[0], rates
    assert scores[1] < scores[0] - 5, scores


def test_two_token_parameters_are_refused(sandbox: Sandbox, http: httpx.Client) -> None:
    token = str(sandbox.mint(sandbox.video_id))
    url = sandbox.url("master", sandbox.video_id, token)
    assert http.get(url).status_code == 200
    for twice in (f"{url}&token={token}", f"{url}&token=", f"{url}&token=junk"):
        got = http.get(twice)
        assert rejection(got) == "malformed_token"
        assert "2 token parameters" in got.json()["detail"]
        assert token not in got.text


def test_deeply_nested_token_is_403_never_500(sandbox: Sandbox, http: httpx.Client) -> None:
    """A header or payload of deeply nested JSON is refused as malformed, never a 500 (which
    our client would retry)."""
    header = b64u(json.dumps({"alg": "RS256", "kid": sandbox.signing_key.key_id}).encode())
    deep_array = b64u(b"[" * 3000 + b"]" * 3000)  # deeper than Python's recursion limit,
    deep_object = b64u(('{"a":' * 1500 + "1" + "}" * 1500).encode())  # shorter than h11's line
    for token in (f"{header}.{deep_array}.c2ln", f"{header}.{deep_object}.c2ln",
                  f"{deep_array}.{b64u(b'{}')}.c2ln"):  # fmt: skip
        got = http.get(sandbox.url("master", sandbox.video_id, token))
        assert rejection(got) == "malformed_token", got.text[:300]


@pytest.mark.browser
def test_player_overlay_shows_the_playing_rendition_in_chromium(sandbox: Sandbox) -> None:
    """In a real Chromium the page plays the master playlist when the browser plays HLS
    natively (the MP4 otherwise), and the overlay names what plays at its decoded size."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no Chromium on this machine (tests/test_browser.py installs it)")
    url = sandbox.signed_url("embed", sandbox.video_id) + "&autoplay=1"
    sizes = {(r.width, r.height) for r in sandbox.media.renditions}
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_function(
                "() => { const v = document.querySelector('video');"
                " return v.readyState >= 2 && v.currentTime > 0.5; }",
                timeout=60_000,
            )
            got = page.evaluate(
                """() => { const v = document.querySelector('video');
                const l = document.getElementById('rendition');
                return {src: v.currentSrc, w: v.videoWidth, h: v.videoHeight, text: l.textContent,
                        kind: l.dataset.kind, lw: +l.dataset.width, lh: +l.dataset.height,
                        hls: v.canPlayType('application/vnd.apple.mpegurl')}; }"""
            )
        finally:
            browser.close()
    assert errors == []
    assert (got["w"], got["h"]) in sizes, got
    assert (got["lw"], got["lh"]) == (got["w"], got["h"]), got
    expected = "HLS" if got["hls"] else "MP4"
    assert got["kind"] == expected and got["text"] == f"{expected} {got['w']}\u00d7{got['h']}"
    assert ("/mmpl/1/" if got["hls"] else "/stcr4/1/") in got["src"], got
