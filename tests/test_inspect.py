"""hs_notebook.ladder: inspecting ladders against the real sandbox (both child-token
modes, redirects, on-demand storyboard / cues / sprites / sizes), and ladders built from
text with no HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pandas as pd
import pytest

from hs_notebook.errors import HeapStreamError, InvalidArgument, PlaylistError, TokenRejected
from hs_notebook.http import AsyncClient, Client, token_of
from hs_notebook.ladder import (
    COLUMNS,
    Ladder,
    fetch_ladder,
    fetch_ladder_async,
    fetch_ladder_url,
    fetch_ladder_url_async,
    ladder_from_text,
    propagate_tokens,
)
from hs_notebook.sandbox.faults import Faults
from hs_notebook.vtt import cues_table

# ---------------- pure


def test_propagate_tokens_matches_child_url_rules() -> None:
    parent = "http://127.0.0.1:8000/mpl/1/p/?token=T.K"
    uris = [
        "http://127.0.0.1:8000/mpl/1/p/seg-0.ts",  # same origin, fast path
        "http://127.0.0.1:8000/mpl/1/p/seg-1.ts?x=1",  # keeps its query
        "http://127.0.0.1:8000/sbt/1/2/sprite-0.jpg#xywh=0,0,4,4",  # fragment stays last
        "http://127.0.0.1:8000/mpl/1/p/seg-2.ts?token=OWN",  # own token kept
        "http://127.0.0.1:8001/seg.ts",  # other port
        "http://localhost:8000/seg.ts",  # other host
        "https://127.0.0.1:8000/seg.ts",  # other scheme
        None,
    ]
    got = propagate_tokens(parent, uris)
    assert got[0] == "http://127.0.0.1:8000/mpl/1/p/seg-0.ts?token=T.K"
    assert got[1] == "http://127.0.0.1:8000/mpl/1/p/seg-1.ts?x=1&token=T.K"
    assert got[2] == "http://127.0.0.1:8000/sbt/1/2/sprite-0.jpg?token=T.K#xywh=0,0,4,4"
    assert token_of(got[3]) == "OWN"
    assert got[4:7] == uris[4:7] and all("T.K" not in u for u in got[4:7])
    assert got[7] is None
    assert propagate_tokens(None, ["a.ts"]) == ["a.ts"]
    assert propagate_tokens("http://h/x/", ["http://h/y.ts"]) == ["http://h/y.ts"]


MASTER = """#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES,URI="/mplt/7/vid-en/"
#EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",SUBTITLES="subs"
/mpl/7/vid-360p/
#EXT-X-STREAM-INF:BANDWIDTH=2400000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",SUBTITLES="subs"
/mpl/7/vid-720p/
"""


def _media(n: int, last: float = 4.0) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:6", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for i in range(n):
        lines += [f"#EXTINF:{6.0 if i < n - 1 else last:.3f},", f"seg-{i}.ts"]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def test_ladder_from_text_needs_no_http() -> None:
    base = "https://app.example.com/mmpl/7/vid/?token=T.K.S"
    ladder = ladder_from_text(MASTER, {"vid-360p": _media(4), "vid-720p": _media(3, 2.5)}, base)
    r = ladder.renditions
    assert list(r["preset_id"]) == ["vid-360p", "vid-720p"]
    assert list(r["segment_count"]) == [4, 3]
    assert list(r["duration"]) == [22.0, 14.5]
    assert list(r["max_segment_duration"]) == [6.0, 6.0]
    assert r["mean_segment_duration"].iloc[1] == pytest.approx(14.5 / 3)
    assert list(r["target_duration"]) == [6, 6]
    assert list(r["playlist_type"]) == ["VOD", "VOD"]
    assert list(r["endlist"]) == [True, True]
    for column in COLUMNS["renditions"]:
        assert column in r.columns
    # effective URIs: resolved and carrying the master's token on its origin
    assert r["uri"].iloc[0] == "https://app.example.com/mpl/7/vid-360p/?token=T.K.S"
    seg = ladder.segments("vid-720p")
    assert list(seg["uri"]) == [
        f"https://app.example.com/mpl/7/vid-720p/seg-{i}.ts?token=T.K.S" for i in range(3)
    ]
    assert "size" not in seg.columns
    assert ladder.text_tracks["uri"].iloc[0] == "https://app.example.com/mplt/7/vid-en/?token=T.K.S"
    assert ladder.media_texts["vid-360p"] == _media(4)
    assert ladder.summary() == "2 renditions 360p–720p, 1 text track, 22.0 s, H.264"
    assert "T.K.S" not in repr(ladder) and "T.K.S" not in ladder._repr_html_()
    for fetch in (
        lambda: ladder.storyboard(1),
        lambda: ladder.cues("vid-en"),
        lambda: ladder.sprite_bytes("https://app.example.com/sbt/7/1/sprite-0.jpg"),
        lambda: ladder.measure_segment_sizes(),
    ):
        with pytest.raises(HeapStreamError, match="built from text; no origin to fetch from"):
            fetch()


def test_ladder_from_text_keys_and_gaps() -> None:
    # media keyed by the variant URI as written; the other rendition has no media
    ladder = ladder_from_text(MASTER, {"/mpl/7/vid-720p/": _media(2)})
    r = ladder.renditions
    assert pd.isna(r["segment_count"].iloc[0]) and r["segment_count"].iloc[1] == 2
    assert ladder.segments("vid-720p")["uri"].tolist() == ["seg-0.ts", "seg-1.ts"]
    with pytest.raises(InvalidArgument, match="no preset"):
        ladder.segments("vid-360p")
    with pytest.raises(InvalidArgument, match="match no variant"):
        ladder_from_text(MASTER, {"nope": _media(1)})
    with pytest.raises(PlaylistError, match="vid-360p"):
        ladder_from_text(MASTER, {"vid-360p": MASTER})  # a master where a media is due


# ---------------- sandbox


def _check_demo_ladder(sb: Any, ladder: Ladder, video_id: str) -> None:
    info = sb.videos[video_id]
    media = sb.media
    r = ladder.renditions
    assert len(r) == len(media.renditions) == 4
    assert list(r["bandwidth"]) == sorted(r["bandwidth"])  # ascending
    assert list(r["preset_id"]) == list(info.presets.values())
    assert list(r["height"]) == [m.height for m in media.renditions]
    assert list(r["segment_count"]) == [len(m.segments) for m in media.renditions]
    for row, m in zip(r.itertuples(), media.renditions, strict=True):
        assert row.duration == pytest.approx(sum(s.duration for s in m.segments))
        assert row.max_segment_duration == pytest.approx(max(s.duration for s in m.segments))
        assert row.target_duration == m.target_duration
        assert row.codecs == m.codecs
        assert row.bandwidth == m.bandwidth
    tt = ladder.text_tracks
    assert list(tt["text_track_id"]) == list(info.text_tracks.values())
    assert list(tt["language"]) == [t.language for t in media.text_tracks]
    assert set(ladder.media_texts) == set(info.presets.values())


def test_inspect_the_demo_ladder(sandbox: Any) -> None:
    sandbox.clear_requests()
    ladder = fetch_ladder(
        sandbox.video_id, sandbox.signing_key, sandbox.project_id, sandbox.base_url
    )
    _check_demo_ladder(sandbox, ladder, sandbox.video_id)
    # one master + one request per preset: no N+1, no extra round trips
    paths = [r.path for r in sandbox.requests]
    assert len(paths) == 5 and paths[0].startswith("/mmpl/")
    assert ladder.token is not None and ladder.token.video_id == sandbox.video_id
    assert token_of(ladder.master_url) == str(ladder.token)
    pid = ladder.renditions["preset_id"].iloc[0]
    seg = ladder.segments(pid)
    assert len(seg) == len(sandbox.media.renditions[0].segments)
    assert all(token_of(u) == str(ladder.token) for u in seg["uri"])
    # displays redact, tables keep the real URLs
    m = sandbox.media
    expected = (
        f"4 renditions {m.renditions[0].height}p–{m.renditions[-1].height}p, "
        f"2 text tracks, {m.duration:.1f} s, H.264"
    )
    assert ladder.summary() == expected
    html, text = ladder._repr_html_(), repr(ladder)
    assert expected in html and expected in text
    assert str(ladder.token) not in html and str(ladder.token) not in text
    assert str(ladder.token) in ladder.renditions["uri"].iloc[0]


def test_inspect_url_and_sync_inside_a_running_loop(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)

    async def cell() -> Ladder:  # as a Jupyter cell would: a loop is running
        return fetch_ladder_url(url)

    _check_demo_ladder(sandbox, asyncio.run(cell()), sandbox.video_id)


def test_inspect_with_a_ready_token_and_a_public_video(sandbox: Any) -> None:
    token = sandbox.mint(sandbox.video_id)
    with Client() as c:
        ladder = fetch_ladder(
            sandbox.video_id, None, sandbox.project_id, sandbox.base_url, token=token, client=c
        )
        assert ladder.token == token
        public = fetch_ladder_url(sandbox.url("master", sandbox.public_video_id), client=c)
    assert public.token is None and len(public.renditions) == 4
    with pytest.raises(InvalidArgument, match="SigningKey"):
        fetch_ladder(sandbox.video_id, "not a key", sandbox.project_id, sandbox.base_url)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="AsyncClient"):
        fetch_ladder_url(sandbox.url("master", sandbox.public_video_id), client=AsyncClient())  # type: ignore[arg-type]


def test_inspect_refusals_and_non_playlists(sandbox: Any) -> None:
    with pytest.raises(TokenRejected) as info:
        fetch_ladder(
            sandbox.catalog_video_ids[0],
            None,
            sandbox.project_id,
            sandbox.base_url,
            token=sandbox.mint(sandbox.video_id),
        )
    assert info.value.reason == "wrong_subject"
    with pytest.raises(PlaylistError, match="HTML"):
        fetch_ladder_url(sandbox.signed_url("embed", sandbox.video_id))


def test_inspect_async_many_videos_on_one_client(sandbox: Any) -> None:
    ids = [sandbox.video_id, *sandbox.catalog_video_ids]

    async def audit() -> list[Ladder]:
        async with AsyncClient() as ac:
            ladders = await asyncio.gather(
                *(
                    fetch_ladder_async(
                        v, sandbox.signing_key, sandbox.project_id, sandbox.base_url, client=ac
                    )
                    for v in ids
                )
            )
            sizes = await ladders[0].measure_segment_sizes_async(client=ac)
            return [*ladders, sizes]

    *ladders, sizes = asyncio.run(audit())
    for vid, ladder in zip(ids, ladders, strict=True):
        _check_demo_ladder(sandbox, ladder, vid)
    assert list(sizes["size"]) == [s.size for m in sandbox.media.renditions for s in m.segments]
    # the temporary-client path of the async API
    alone = asyncio.run(fetch_ladder_url_async(sandbox.signed_url("master", sandbox.video_id)))
    _check_demo_ladder(sandbox, alone, sandbox.video_id)


def test_measure_segment_sizes_equals_the_files(sandbox: Any) -> None:
    ladder = fetch_ladder(
        sandbox.video_id, sandbox.signing_key, sandbox.project_id, sandbox.base_url
    )
    sizes = ladder.measure_segment_sizes(concurrency=4)
    expected = [s.size for m in sandbox.media.renditions for s in m.segments]
    assert list(sizes["size"]) == expected
    assert list(sizes.columns) == list(COLUMNS["segment_sizes"])
    first = sandbox.media.renditions[0].segments[0]
    assert sizes["bitrate"].iloc[0] == round(first.size * 8 / first.duration)
    pid = ladder.renditions["preset_id"].iloc[-1]
    seg = ladder.segments(pid)
    assert list(seg["size"]) == [s.size for s in sandbox.media.renditions[-1].segments]
    # only the named presets are measured
    one = ladder.measure_segment_sizes([pid])
    assert set(one["preset_id"]) == {pid}


def test_on_demand_storyboard_sprites_and_cues(sandbox: Any) -> None:
    ladder = fetch_ladder(
        sandbox.video_id, sandbox.signing_key, sandbox.project_id, sandbox.base_url
    )
    info = sandbox.videos[sandbox.video_id]
    board = ladder.storyboard(info.storyboard_id)
    sb_media = sandbox.media.storyboard
    assert len(board) == len(sb_media.cues)
    assert list(board["x"]) == [c.x for c in sb_media.cues]
    first = board["image_uri"].iloc[0]
    assert token_of(first) == str(ladder.token)
    by_name = {p.name: p for p in sb_media.sprites}
    assert ladder.sprite_bytes(first) == by_name[sb_media.cues[0].sprite].read_bytes()
    for track, lang in zip(sandbox.media.text_tracks, info.text_tracks, strict=True):
        cues = ladder.cues(info.text_tracks[lang])
        expected = cues_table(track.path.read_text(encoding="utf-8"))
        assert len(cues) == len(expected) > 0
        pd.testing.assert_frame_equal(cues.drop(columns="segment"), expected)


def test_child_tokens_false_works_through_propagation(sandbox_factory: Any) -> None:
    sb = sandbox_factory(child_tokens=False)
    ladder = fetch_ladder(sb.video_id, sb.signing_key, sb.project_id, sb.base_url)
    _check_demo_ladder(sb, ladder, sb.video_id)
    assert "token=" not in ladder.media_texts[ladder.preset_ids[0]]  # relative, no token
    sizes = ladder.measure_segment_sizes()
    assert list(sizes["size"]) == [s.size for m in sb.media.renditions for s in m.segments]
    info = sb.videos[sb.video_id]
    board = ladder.storyboard(info.storyboard_id)
    assert (
        ladder.sprite_bytes(board["image_uri"].iloc[0])
        == sb.media.storyboard.sprites[0].read_bytes()
    )
    # a relative sprite reference resolves against the storyboard that was fetched
    assert (
        ladder.sprite_bytes(sb.media.storyboard.sprites[0].name)
        == sb.media.storyboard.sprites[0].read_bytes()
    )
    cues = ladder.cues(next(iter(info.text_tracks.values())))
    assert len(cues) > 0
    refused = [r for r in sb.requests if r.status == 403]
    assert refused == []


def test_inspect_through_faults(sandbox_factory: Any) -> None:
    sb = sandbox_factory(
        faults=Faults(error_rate=0.3, drop_rate=0.1, seed=5, paths=r"^/(mmpl|mpl)/")
    )
    with Client(retries=8, backoff=0.01) as c:
        ladder = fetch_ladder(sb.video_id, sb.signing_key, sb.project_id, sb.base_url, client=c)
    _check_demo_ladder(sb, ladder, sb.video_id)
    assert any(r.status in (0, 503) for r in sb.requests)


def test_redirected_master_to_another_origin_never_leaks_the_token(
    sandbox: Any, sandbox_factory: Any
) -> None:
    other = sandbox_factory()
    token = sandbox.mint(sandbox.video_id)
    path = f"/mmpl/{sandbox.project_id}/moved/"
    sandbox.add_redirect(path, other.url("master", other.public_video_id))
    try:
        ladder = fetch_ladder_url(f"{sandbox.base_url}{path}?token={token}")
        ladder.measure_segment_sizes()
    finally:
        sandbox.remove_redirect(path)
    assert len(ladder.renditions) == 4
    assert all(u.startswith(other.base_url) for u in ladder.renditions["uri"])
    assert len(other.requests) > 5
    for r in other.requests:
        assert "token" not in r.query and str(token) not in repr(r)


# ---------------- bad arguments of ladder_from_text, propagate_tokens, measure_segment_sizes


def _quoted_part_is_clean(message: str) -> None:
    """No binary garbage: every character printable, no replacement characters, no JPEG
    markers, no escaped control bytes."""
    assert message.isprintable(), repr(message)
    assert "\ufffd" not in message and "JFIF" not in message and "\\x" not in message


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
