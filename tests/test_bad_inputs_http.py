"""Bad input to the HTTP layer (client, download, ladder) raises one of the project's own
exceptions with a message a person can act on, before anything is sent; and answers that
are not what was asked for (a poster instead of a playlist, a refusal after a redirect to
another origin) are explained, never dumped.

Everything runs against the real sandbox (fixtures ``sandbox``, ``sandbox_factory``,
``http`` of conftest.py).
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from hs_notebook.client import AsyncClient, Client, child_url, redirect_url, with_token
from hs_notebook.download import download, filename_for
from hs_notebook.errors import (
    InvalidArgument,
    PlaylistError,
    TokenRejected,
    VTTError,
)
from hs_notebook.ladder import fetch_ladder_url, ladder_from_text, propagate_tokens


def _count(sandbox: Any, prefix: str) -> int:
    return sum(1 for r in sandbox.requests if r.path.startswith(prefix))


def _quoted_part_is_clean(message: str) -> None:
    """No binary garbage: every character printable, no replacement characters, no JPEG
    markers, no escaped control bytes."""
    assert message.isprintable(), repr(message)
    assert "\ufffd" not in message and "JFIF" not in message and "\\x" not in message


# ---------------------------------------------------------------- 1. Client arguments


@pytest.mark.parametrize(
    "timeout",
    ["x", -1, 0, -0.5, math.nan, math.inf, True, b"5", [5], httpx.Timeout(5.0, connect=-1)],
    ids=["str", "neg-int", "zero", "neg-float", "nan", "inf", "bool", "bytes", "list", "part"],
)
def test_a_bad_timeout_is_refused_when_the_client_is_made(sandbox: Any, timeout: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    before = _count(sandbox, "/mmpl/")
    with pytest.raises(InvalidArgument, match="timeout"):
        client = Client(timeout=timeout)
        try:  # before the fix the mistake only surfaced here, as a TypeError or a timeout
            client.get_text(url)
        finally:
            client.close()
    with pytest.raises(InvalidArgument, match="timeout"):
        AsyncClient(timeout=timeout)
    assert _count(sandbox, "/mmpl/") == before, "nothing is sent with a bad timeout"


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
    before = _count(sandbox, "/mmpl/")
    with pytest.raises(InvalidArgument, match=word):
        client = Client(**kwargs)
        try:
            client.get_text(url)
        finally:
            client.close()
    assert _count(sandbox, "/mmpl/") == before


def test_bad_request_arguments_are_refused_before_sending(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    before = _count(sandbox, "/mmpl/")
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
        assert _count(sandbox, "/mmpl/") == before, "nothing was sent"
        # a good request on the same client still works afterwards
        assert c.get_text(url, headers={"X-Trace": "1"}).startswith("#EXTM3U")
        with c.stream(url) as s, pytest.raises(InvalidArgument, match="chunk_size"):
            list(s.iter_bytes(b"64"))  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [None, 5, b"https://h.example/"])
def test_url_helpers_refuse_non_string_urls(bad: Any) -> None:
    with pytest.raises(InvalidArgument):
        child_url(bad, "seg-0.ts")
    with pytest.raises(InvalidArgument):
        child_url("https://h.example/mpl/1/p/?token=T", bad)
    with pytest.raises(InvalidArgument):
        redirect_url("https://h.example/a/", bad)
    with pytest.raises(InvalidArgument):
        with_token(bad, "T")
    if bad is not None:
        with pytest.raises(InvalidArgument):
            with_token("https://h.example/a/", bad)


# ---------------------------------------------------------------- 2. download arguments


@pytest.mark.parametrize("dest", [None, 5, b"clip.mp4", "", "   "])
def test_download_with_a_bad_destination_says_so(sandbox: Any, dest: Any) -> None:
    preset = sandbox.videos[sandbox.video_id].presets["360p"]
    url = sandbox.signed_url("mp4", preset)
    before = _count(sandbox, "/stcr4/")
    with pytest.raises(InvalidArgument, match="dest must be a file path"):
        download(url, dest, progress=False)
    assert _count(sandbox, "/stcr4/") == before, "nothing was downloaded"


@pytest.mark.parametrize("url", [None, 5, b"http://127.0.0.1/stcr4/1/p/"])
def test_download_with_a_non_string_url_says_so(tmp_path: Path, url: Any) -> None:
    with pytest.raises(InvalidArgument, match="url must be an absolute http"):
        download(url, tmp_path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_download_still_works_into_a_directory(sandbox: Any, tmp_path: Path) -> None:
    preset = sandbox.videos[sandbox.video_id].presets["360p"]
    path = download(sandbox.signed_url("mp4", preset), tmp_path, progress=False)
    assert path.parent == tmp_path and path.stat().st_size > 0


@pytest.mark.parametrize(
    ("url", "headers"),
    [(None, None), (5, None), ("http://[::1", None), ("http://h/a.mp4", "x"), ("http://h/", [1])],
)
def test_filename_for_refuses_bad_arguments(url: Any, headers: Any) -> None:
    with pytest.raises(InvalidArgument):
        filename_for(url, headers)


# ---------------------------------------------------------------- 3. ladder_from_text


def _texts(sandbox: Any, http: httpx.Client) -> tuple[str, dict[str, str]]:
    video = sandbox.videos[sandbox.video_id]
    master = http.get(sandbox.signed_url("master", sandbox.video_id)).text
    media = {
        pid: http.get(sandbox.signed_url("preset", pid)).text for pid in video.presets.values()
    }
    return master, media


@pytest.mark.parametrize("media", ["x", 5, [("p", "#EXTM3U")]])
def test_ladder_from_text_with_media_not_a_mapping(
    sandbox: Any, http: httpx.Client, media: Any
) -> None:
    master, _ = _texts(sandbox, http)
    with pytest.raises(
        InvalidArgument,
        match=r"media must be a mapping \{preset_id or variant URI: media playlist text\}",
    ):
        ladder_from_text(master, media=media)


def test_ladder_from_text_other_bad_arguments(sandbox: Any, http: httpx.Client) -> None:
    master, media = _texts(sandbox, http)
    with pytest.raises(InvalidArgument, match="decode it first"):
        ladder_from_text(master.encode())  # type: ignore[arg-type]
    for bad in (None, 5):
        with pytest.raises(InvalidArgument, match="master_text"):
            ladder_from_text(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="base_uri"):
        ladder_from_text(master, media, base_uri=5)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="media keys"):
        ladder_from_text(master, {5: next(iter(media.values()))})  # type: ignore[dict-item]
    pid = next(iter(media))
    with pytest.raises(InvalidArgument, match="media playlist text"):
        ladder_from_text(master, {pid: media[pid].encode()})  # type: ignore[dict-item]
    # the good call still builds the whole ladder
    ladder = ladder_from_text(master, media)
    assert ladder.preset_ids == list(media)


def test_propagate_tokens_refuses_bad_arguments() -> None:
    with pytest.raises(InvalidArgument, match="uris"):
        propagate_tokens("https://h.example/?token=T", "seg-0.ts")
    with pytest.raises(InvalidArgument, match="uris"):
        propagate_tokens("https://h.example/?token=T", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="parent_url"):
        propagate_tokens(b"https://h.example/", ["seg-0.ts"])  # type: ignore[arg-type]


# ---------------------------------------------------------------- 4. one preset id


def test_measure_segment_sizes_takes_one_preset_id(sandbox: Any) -> None:
    ladder = fetch_ladder_url(sandbox.signed_url("master", sandbox.video_id))
    pid = ladder.preset_ids[0]
    one = ladder.measure_segment_sizes(pid)
    assert set(one["preset_id"]) == {pid}
    assert len(one) == len(ladder.segments(pid))
    assert (one["size"] > 0).all()
    as_list = ladder.measure_segment_sizes([pid])
    assert one["size"].tolist() == as_list["size"].tolist()

    async def run_async() -> Any:
        return await ladder.measure_segment_sizes_async(pid)

    got = asyncio.run(run_async())
    assert set(got["preset_id"]) == {pid} and got["size"].tolist() == one["size"].tolist()


def test_measure_segment_sizes_refuses_bad_preset_ids(sandbox: Any) -> None:
    ladder = fetch_ladder_url(sandbox.signed_url("master", sandbox.video_id))
    before = len(sandbox.requests)
    for bad in (5, b"v", [5], [None]):
        with pytest.raises(InvalidArgument, match="preset"):
            ladder.measure_segment_sizes(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="concurrency"):
        ladder.measure_segment_sizes(None, True)
    with pytest.raises(InvalidArgument, match="no preset 'nope'"):
        ladder.measure_segment_sizes("nope")
    with pytest.raises(InvalidArgument, match="preset id must be a str"):
        ladder.segments(None)  # type: ignore[arg-type]
    assert len(sandbox.requests) == before, "nothing was measured"


# ---------------------------------------------------------------- 5. not a playlist


def test_inspect_url_of_a_poster_names_the_content_type(sandbox: Any, http: httpx.Client) -> None:
    video = sandbox.videos[sandbox.video_id]
    url = sandbox.signed_url("poster", video.poster_id)
    answer = http.get(url)
    assert answer.headers["content-type"].startswith("image/jpeg")
    with pytest.raises(PlaylistError) as info:
        fetch_ladder_url(url)
    msg = str(info.value)
    assert f"got image/jpeg ({len(answer.content)} bytes)" in msg
    assert "expected an HLS playlist from" in msg and "poster" in msg
    _quoted_part_is_clean(msg)
    token = url.partition("token=")[2]
    assert token not in msg


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


# ---------------------------------------------------------------- 6. withheld token


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
