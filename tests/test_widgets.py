"""The widgets, driven in-process against the real sandbox: set values, click, read traits
and the HTML/outputs they render.  No kernel or browser is involved (see test_notebooks.py
and test_browser.py for those)."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import ipywidgets as W
import numpy as np
import pytest
from ipywidgets.widgets.widget import _instances
from PIL import Image

from hs_notebook.env import ENV_KEY, ENV_KEY_ID, ENV_PREFIX
from hs_notebook.errors import InvalidArgument
from hs_notebook.sandbox.media import MediaSet
from hs_notebook.sandbox.server import Sandbox
from hs_notebook.tokens import SigningKey, generate_signing_key, verify_token
from hs_notebook.urls import HeapStream
from hs_notebook.widgets import (
    EmbedPanel,
    Inspector,
    LadderPanel,
    StoryboardPanel,
    TokenPanel,
    browser_url,
    cut_tiles,
    has_credentials,
    missing_credentials,
)
from hs_notebook.widgets._common import Ticker

# ------------------------------------------------------------------ helpers


def _walk(widget: W.Widget) -> Iterator[W.Widget]:
    """The widget and every widget below it (children, tab pages, widget-valued traits)."""
    seen: set[int] = set()
    stack = [widget]
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        yield w
        for name in w.keys:
            value = getattr(w, name, None)
            items = value if isinstance(value, list | tuple) else [value]
            stack.extend(v for v in items if isinstance(v, W.Widget))


def _state_text(widget: W.Widget) -> str:
    """Everything the front end could see of ``widget`` and its subtree, as one string."""

    def default(o: Any) -> str:
        if isinstance(o, bytes | bytearray | memoryview):
            return bytes(o).decode("latin-1")
        return str(o)

    parts = [repr(widget)]
    for w in _walk(widget):
        parts.append(json.dumps(w.get_state(), default=default, ensure_ascii=False))
        parts.append(str(getattr(w, "description", "")))
        parts.append(str(getattr(w, "tooltip", "")))
    return "\n".join(parts)


#: a PEM private key block's armour followed by key data (error messages may name the armour)
_PEM_ARMOUR = re.compile(r"PRIVATE KEY-----(\s|\\n)*[A-Za-z0-9+/]{16}")


def _secret_slices(key: SigningKey) -> list[str]:
    """24-character windows, every 8 characters, of the key in both shapes it can be pasted
    in (base64 of the PEM, and the PEM body): any leaked run of 32+ characters of either
    contains one of them whole."""
    b64 = key.private_key_base64()
    pem = key.private_key_pem()
    body = "".join(ln for ln in pem.splitlines() if ln and not ln.startswith("-----"))
    return [s[i : i + 24] for s in (b64, body) for i in range(0, len(s) - 24, 8)]


def _assert_no_secret(text: str, key: SigningKey) -> None:
    for piece in _secret_slices(key):
        assert piece not in text, "private key material is visible"
    assert not _PEM_ARMOUR.search(text), "a PEM private key is visible"


def _panel(sandbox: Sandbox, **kwargs: Any) -> TokenPanel:
    info = sandbox.videos[sandbox.video_id]
    kwargs.setdefault("key", sandbox.signing_key)
    return TokenPanel(
        video_id=sandbox.video_id,
        project_id=sandbox.project_id,
        base_url=sandbox.base_url,
        preset_ids=list(info.presets.values()),
        poster_id=info.poster_id,
        text_track_ids=list(info.text_tracks.values()),
        storyboard_id=info.storyboard_id,
        use_env=False,
        **kwargs,
    )


def _hrefs(html_text: str) -> dict[str, str]:
    rows = re.findall(r"<tr><td>([a-z0-9_]+)</td>.*?<a href='([^']+)' target='_blank'", html_text)
    out: dict[str, str] = {}
    for kind, href in rows:
        out.setdefault(kind, href.replace("&amp;", "&"))
    return out


def _png_size(data_b64: str) -> tuple[int, int]:
    raw = base64.b64decode(data_b64)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(raw)).size


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_KEY_ID, ENV_KEY, "HEAPSTREAM_PROJECT_ID", "HEAPSTREAM_VIDEO_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(ENV_PREFIX, raising=False)
    monkeypatch.setenv("HS_NOTEBOOK_SANDBOX_PROFILE", "tiny")


@pytest.fixture
def panels() -> Iterator[list[W.Widget]]:
    """Panels made by a test are closed after it (stops their countdown tickers)."""
    made: list[W.Widget] = []
    yield made
    for p in made:
        p.close()


# ------------------------------------------------------------------ browser_url


def test_browser_url_rewrites_loopback_behind_a_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "http://127.0.0.1:8765/e/1/v-demo/?token=a.b.c&autoplay=true"
    monkeypatch.setenv(ENV_PREFIX, "/user/ann/")
    assert browser_url(url) == "/user/ann/proxy/8765/e/1/v-demo/?token=a.b.c&autoplay=true"
    assert browser_url("http://localhost:9/sbt/1/2/sprite-0.jpg#xywh=0,0,1,1") == (
        "/user/ann/proxy/9/sbt/1/2/sprite-0.jpg#xywh=0,0,1,1"
    )
    monkeypatch.setenv(ENV_PREFIX, "user/bob")  # normalised to /user/bob/
    assert browser_url("http://127.0.0.1:80/x") == "/user/bob/proxy/80/x"
    # not on loopback, not http, or no port: unchanged
    for other in (
        "https://app.heapstream.com/e/1/v/?token=t",
        "http://10.0.0.5:8765/e/1/v/",
        "https://127.0.0.1:8765/e/1/v/",
        "http://127.0.0.1/e/1/v/",
    ):
        assert browser_url(other) == other


def test_browser_url_unchanged_without_a_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_PREFIX, raising=False)
    url = "http://127.0.0.1:8765/e/1/v-demo/?token=a.b.c"
    assert browser_url(url) == url
    assert browser_url(url, prefix="/hub/") == "/hub/proxy/8765/e/1/v-demo/?token=a.b.c"
    monkeypatch.setenv(ENV_PREFIX, "/user/ann/")
    assert browser_url(url, prefix=None) == url


# ------------------------------------------------------------------ token panel


def test_mint_shows_a_verifying_token_claims_and_links(
    sandbox: Sandbox, http: httpx.Client, panels: list[W.Widget]
) -> None:
    panel = _panel(sandbox)
    panels.append(panel)
    assert panel.token == ""
    seen: list[str] = []
    panel.observe(lambda ch: seen.append(ch["new"]), names="token")
    panel.mint_button.click()

    assert panel.error_area.value == ""
    assert panel.token and seen == [panel.token]
    claims = verify_token(panel.token, sandbox.signing_key.public_key, sandbox.video_id)
    assert claims["aud"] == "v" and 3590 <= claims["exp"] - time.time() <= 3600
    assert panel.token_field.value == panel.token
    assert "&quot;RS256&quot;" in panel.header_claims.value
    assert sandbox.signing_key.key_id in panel.header_claims.value
    assert "UTC" in panel.header_claims.value  # human times for exp
    assert panel.expires_label.value.startswith("expires in 59m") or (
        panel.expires_label.value.startswith("expires in 1h")
    )
    assert "no problems found" in panel.diagnosis_area.value

    links = _hrefs(panel.links_area.value)
    assert set(links) == {
        "embed",
        "master",
        "poster",
        "text_track",
        "preset",
        "mp4",
        "storyboard",
        "original",
    }
    hs = HeapStream(sandbox.project_id, sandbox.base_url)
    assert links["embed"] == hs.embed_url(sandbox.video_id, panel.token)
    assert "target='_blank'" in panel.links_area.value
    for kind in ("embed", "master", "poster", "storyboard"):  # the links really open
        assert http.get(links[kind]).status_code == 200, kind

    # the read-only token field snaps back when edited
    panel.token_field.value = "tampered"
    assert panel.token_field.value == panel.token


def test_pasted_keys_base64_and_one_line_pem(sandbox: Sandbox, panels: list[W.Widget]) -> None:
    key = sandbox.create_signing_key()
    panel = TokenPanel(
        video_id=sandbox.video_id,
        project_id=sandbox.project_id,
        base_url=sandbox.base_url,
        use_env=False,
    )
    panels.append(panel)
    assert "no key loaded" in panel.key_status.value
    panel.mint_button.click()  # no key at all
    assert "no signing key" in panel.error_area.value and panel.token == ""

    panel.key_id_field.value = key.key_id
    panel.private_key_field.value = key.private_key_base64()
    panel.mint_button.click()
    assert panel.error_area.value == ""
    first = panel.token
    verify_token(first, key.public_key, sandbox.video_id)
    assert panel.private_key_field.value == ""  # cleared once the key is loaded
    assert panel.signing_key is not None and panel.signing_key.key_id == key.key_id
    assert key.key_id in panel.key_status.value

    # a PEM pasted into the one-line password field loses its line breaks: still accepted
    other = sandbox.create_signing_key()
    panel.key_id_field.value = other.key_id
    panel.private_key_field.value = other.private_key_pem().replace("\n", "")
    panel.ttl_field.value = 86400
    panel.mint_button.click()
    assert panel.error_area.value == ""
    claims = verify_token(panel.token, other.public_key, sandbox.video_id)
    assert 86390 <= claims["exp"] - time.time() <= 86400
    assert panel.token != first


def test_relabelled_key_and_a_bad_key_in_the_environment(
    sandbox: Sandbox, panels: list[W.Widget]
) -> None:
    key = sandbox.create_signing_key()
    panel = _panel(sandbox, key=key)
    panels.append(panel)
    panel.key_id_field.value = "sk-relabelled"  # same private key, another kid
    token = panel.mint()
    assert token is not None and token.key_id == "sk-relabelled"
    verify_token(token, key.public_key, sandbox.video_id)
    assert "sk-relabelled" in panel.key_status.value

    env = {ENV_KEY_ID: "sk-env", ENV_KEY: "bm90IGEga2V5"}
    broken = TokenPanel(environ=env)
    panels.append(broken)
    assert broken.signing_key is None
    assert "$HEAPSTREAM_SIGNING_KEY_ID/$HEAPSTREAM_SIGNING_KEY" in broken.error_area.value
    assert broken.key_id_field.value == "sk-env" and broken.private_key_field.value == ""


def test_bad_key_or_id_shows_the_error_and_keeps_the_token(
    sandbox: Sandbox, panels: list[W.Widget]
) -> None:
    panel = _panel(sandbox)
    panels.append(panel)
    panel.mint()
    before = (panel.token, panel.token_field.value, panel.links_area.value, panel.signing_key)

    panel.private_key_field.value = "bm90IGEga2V5"  # base64 of "not a key"
    panel.mint_button.click()
    assert "Could not mint" in panel.error_area.value
    assert "not to a PEM" in panel.error_area.value  # InvalidSigningKey's own message
    assert "paste the key again" in panel.error_area.value
    assert panel.private_key_field.value == ""  # cleared although the mint failed
    assert (panel.token, panel.token_field.value, panel.links_area.value) == before[:3]
    assert panel.signing_key is before[3]

    panel.private_key_field.value = ""
    panel.video_id_field.value = "bad/id"
    panel.mint_button.click()
    assert "contains &#x27;/&#x27;" in panel.error_area.value  # InvalidId, escaped
    assert panel.token == before[0]

    panel.video_id_field.value = sandbox.video_id
    panel.key_id_field.value = ""
    panel.mint_button.click()
    assert "signing key id is empty" in panel.error_area.value
    assert panel.token == before[0]

    panel.key_id_field.value = sandbox.signing_key.key_id
    panel.project_id_field.value = "twelve"
    panel.mint_button.click()
    assert "project_id must be an integer" in panel.error_area.value
    assert panel.token == before[0]

    panel.project_id_field.value = str(sandbox.project_id)
    panel.ttl_field.value = 86400  # (tokens minted in the same second with equal claims are equal)
    panel.mint_button.click()  # fixed: the error goes away, a new token comes
    assert panel.error_area.value == "" and panel.token != before[0]


def test_a_failed_mint_clears_the_pasted_key_and_keeps_it_when_it_parsed(
    sandbox: Sandbox, panels: list[W.Widget]
) -> None:
    key = sandbox.create_signing_key()
    panel = TokenPanel(
        project_id=sandbox.project_id, base_url=sandbox.base_url, use_env=False
    )  # no video id: the mint fails after the key was read
    panels.append(panel)
    panel.key_id_field.value = key.key_id
    panel.private_key_field.value = key.private_key_base64()
    assert panel.mint() is None
    assert "the video id is empty" in panel.error_area.value
    assert "paste the key again" not in panel.error_area.value  # it parsed: kept
    assert panel.private_key_field.value == ""
    assert panel.signing_key is not None and panel.signing_key.key_id == key.key_id
    assert "pasted" in panel.key_status.value and key.key_id in panel.key_status.value
    _assert_no_secret(_state_text(panel), key)

    # fixed: minting again needs no second paste, and signs with the pasted key
    panel.video_id_field.value = sandbox.video_id
    token = panel.mint()
    assert token is not None and panel.error_area.value == ""
    verify_token(str(token), key.public_key, sandbox.video_id)

    # an empty key id with a pasted key: refused, the field cleared, the old key kept
    other = sandbox.create_signing_key()
    panel.key_id_field.value = ""
    panel.private_key_field.value = other.private_key_base64()
    assert panel.mint() is None
    assert "signing key id is empty" in panel.error_area.value
    assert "paste the key again" in panel.error_area.value
    assert panel.private_key_field.value == ""
    assert panel.signing_key is not None and panel.signing_key.key_id == key.key_id
    assert panel.token == str(token)
    _assert_no_secret(_state_text(panel), other)


def test_custom_ttl_and_not_before(sandbox: Sandbox, panels: list[W.Widget]) -> None:
    panel = _panel(sandbox)
    panels.append(panel)
    assert panel.custom_ttl_field.layout.display == "none"
    panel.ttl_field.value = 0
    assert panel.custom_ttl_field.layout.display == ""
    panel.custom_ttl_field.value = 120
    panel.nbf_checkbox.value = True
    panel.nbf_offset_field.value = -30
    token = panel.mint()
    assert token is not None
    now = time.time()
    assert 110 <= token.claims["exp"] - now <= 120
    assert -40 <= token.claims["nbf"] - now <= -29
    assert "nbf" in panel.header_claims.value


@pytest.mark.slow
def test_countdown_ticks_without_an_event_loop(sandbox: Sandbox, panels: list[W.Widget]) -> None:
    panel = _panel(sandbox)
    panels.append(panel)
    panel.ttl_field.value = 0
    panel.custom_ttl_field.value = 2
    panel.mint()
    assert panel._ticker.mode == "thread"  # no running loop here
    first = panel.expires_label.value
    assert first.startswith("expires in ")
    deadline = time.monotonic() + 6
    while "expired" not in panel.expires_label.value and time.monotonic() < deadline:
        time.sleep(0.1)
    assert panel.expires_label.value.startswith("expired at ")
    time.sleep(1.2)
    assert not panel._ticker.running  # stops once the token has expired


def test_ticker_uses_a_running_event_loop() -> None:
    import asyncio

    ticks: list[float] = []

    async def main() -> str | None:
        t = Ticker(lambda: ticks.append(time.monotonic()) or len(ticks) < 3, interval=0.05)
        t.start()
        mode = t.mode
        await asyncio.sleep(0.4)
        assert not t.running
        return mode

    assert asyncio.run(main()) == "asyncio"
    assert len(ticks) == 3


def test_key_must_be_a_signing_key() -> None:
    with pytest.raises(InvalidArgument, match="SigningKey"):
        TokenPanel(key="a base64 string", use_env=False)  # type: ignore[arg-type]


# ------------------------------------------------------------------ embed panel


def test_embed_iframe_follows_the_token(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, panels: list[W.Widget]
) -> None:
    monkeypatch.delenv(ENV_PREFIX, raising=False)
    panel = _panel(sandbox)
    embed = EmbedPanel(panel, width=480, height=270)
    panels += [embed, panel]
    assert embed.src == "" and "Mint a token" in embed.frame.value

    panel.mint()
    hs = HeapStream(sandbox.project_id, sandbox.base_url)
    assert embed.src == hs.embed_url(sandbox.video_id, panel.token)
    assert f'<iframe src="{embed.src}"' in embed.frame.value.replace("&amp;", "&")
    assert 'width="480" height="270"' in embed.frame.value
    assert "allowFullScreen" in embed.frame.value

    old = embed.src
    panel.ttl_field.value = 86400  # same-second tokens with equal claims would be equal
    panel.mint()  # a new token re-renders the iframe
    assert embed.src != old and panel.token in embed.src and old not in embed.frame.value

    embed.width_field.value = 800
    embed.autoplay_checkbox.value = True
    assert 'width="800"' in embed.frame.value
    assert embed.src.endswith("&autoplay=true")

    # behind JupyterHub/Binder the browser goes through jupyter-server-proxy
    monkeypatch.setenv(ENV_PREFIX, "/user/ann/")
    embed.render()
    port = sandbox.base_url.rsplit(":", 1)[1]
    assert embed.src.startswith(f"/user/ann/proxy/{port}/e/{sandbox.project_id}/")
    assert panel.token in embed.src


# ------------------------------------------------------------------ ladder panel


@pytest.mark.slow
def test_ladder_tables_plots_and_segments(
    sandbox: Sandbox, tiny_media: MediaSet, panels: list[W.Widget]
) -> None:
    panel = _panel(sandbox)
    ladder_panel = LadderPanel(panel)
    panels += [ladder_panel, panel]
    assert ladder_panel.fetch_button.disabled  # nothing to fetch with yet
    panel.mint()
    assert not ladder_panel.fetch_button.disabled
    ladder_panel.fetch_button.click()

    assert ladder_panel.error_area.value == ""
    assert ladder_panel.status.value.startswith("fetched master and 4 presets")
    info = sandbox.videos[sandbox.video_id]
    renditions = ladder_panel.renditions_html.value
    for preset_id in info.presets.values():
        assert preset_id in renditions
    for step in tiny_media.renditions:
        assert f"<td>{step.width}</td>" in renditions and f"<td>{step.height}</td>" in renditions
    assert "token=…" in renditions and panel.token not in renditions
    assert "v-demo-en" in ladder_panel.text_tracks_html.value
    assert "Français" in ladder_panel.text_tracks_html.value
    assert ladder_panel.audio_html.value == "<i>none</i>"
    assert ladder_panel.iframes_html.value == "<i>none</i>"
    heights = [r.height for r in tiny_media.renditions]
    assert f"4 renditions {min(heights)}p–{max(heights)}p" in ladder_panel.summary.value

    (plot,) = ladder_panel.ladder_plot.outputs
    w, h = _png_size(plot["data"]["image/png"])
    assert w > 300 and h > 150

    assert [v for _, v in ladder_panel.rendition_dropdown.options] == list(info.presets.values())
    # the first rendition's segments, with sizes measured from the origin
    first = tiny_media.renditions[0]
    seg = ladder_panel.segments
    assert seg is not None and len(seg) == len(first.segments)
    assert seg["size"].tolist() == [s.size for s in first.segments]
    assert seg["duration"].tolist() == pytest.approx([s.duration for s in first.segments])
    assert first.segments[0].name in ladder_panel.segments_html.value

    top = tiny_media.renditions[-1]
    ladder_panel.rendition_dropdown.value = info.presets[top.name]
    assert ladder_panel.segments["size"].tolist() == [s.size for s in top.segments]
    (seg_plot,) = ladder_panel.segments_plot.outputs
    assert _png_size(seg_plot["data"]["image/png"])[1] > 250  # durations and sizes: 2 axes
    assert panel.token not in _state_text(ladder_panel)


def test_ladder_refusal_shows_reason_and_diagnosis(
    sandbox: Sandbox, panels: list[W.Widget]
) -> None:
    panel = _panel(sandbox)
    ladder_panel = LadderPanel(panel)
    panels += [ladder_panel, panel]
    panel.nbf_checkbox.value = True
    panel.nbf_offset_field.value = 600  # not valid for another 10 minutes
    panel.mint()
    assert ladder_panel.fetch() is None
    assert ladder_panel.status.value == "refused"
    err = ladder_panel.error_area.value
    assert "Token rejected" in err and "not_yet_valid" in err
    assert "Token diagnosis" in err and "not valid before" in err

    # a key the origin does not know: refused with unknown_kid
    stranger = generate_signing_key("sk-stranger")
    panel.key_id_field.value = stranger.key_id
    panel.private_key_field.value = stranger.private_key_base64()
    panel.nbf_checkbox.value = False
    panel.mint()
    ladder_panel.fetch_button.click()
    assert "unknown_kid" in ladder_panel.error_area.value


# ------------------------------------------------------------------ storyboard panel


def test_storyboard_tiles_are_cut_from_the_real_sprites(
    sandbox: Sandbox, tiny_media: MediaSet, panels: list[W.Widget]
) -> None:
    panel = _panel(sandbox)
    sb_panel = StoryboardPanel(panel)
    panels += [sb_panel, panel]
    assert sb_panel.storyboard_id_field.value == str(sandbox.videos[sandbox.video_id].storyboard_id)
    panel.mint()
    sb_panel.load_button.click()
    assert sb_panel.error_area.value == ""

    cues = tiny_media.storyboard.cues
    tiles = sb_panel.tiles
    assert len(tiles) == len(cues) == 6
    sheet = sb_panel.sheet.value
    assert sheet.count("data:image/jpeg;base64,") == len(cues)
    assert "token=" not in sheet and panel.token not in sheet
    sprites = {}
    for tile, cue in zip(tiles, cues, strict=True):
        assert tile.jpeg[:3] == b"\xff\xd8\xff"
        img = Image.open(io.BytesIO(tile.jpeg))
        assert img.format == "JPEG" and img.size == (cue.w, cue.h) == (160, 90)
        assert (tile.start, tile.end) == pytest.approx((cue.start, cue.end))
        # the pixels are those of the sprite file on disk at the cue's rectangle
        (path,) = [p for p in tiny_media.storyboard.sprites if p.name == Path(cue.sprite).name]
        if path not in sprites:
            sprites[path] = Image.open(path).convert("RGB")
        sprite = sprites[path]
        want = np.asarray(sprite.crop((cue.x, cue.y, cue.x + cue.w, cue.y + cue.h)), float)
        got = np.asarray(img.convert("RGB"), float)
        assert np.abs(got - want).mean() < 6  # JPEG re-encoding noise only
    first, last = (np.asarray(Image.open(io.BytesIO(t.jpeg)), float) for t in (tiles[0], tiles[-1]))
    assert np.abs(first - last).mean() > 3  # different moments, different pictures

    # the slider shows the tile for a time
    sb_panel.time_slider.value = 2.5
    assert sb_panel.tile_image.value == tiles[2].jpeg
    assert sb_panel.tile_label.value.startswith("0:02.0–0:03.0")
    sb_panel.time_slider.value = 0.2
    assert sb_panel.tile_image.value == tiles[0].jpeg
    assert "token=…" in sb_panel.tiles_html.value and panel.token not in sb_panel.tiles_html.value

    # cues beside it, per text track
    assert [v for _, v in sb_panel.track_dropdown.options] == ["v-demo-en", "v-demo-fr"]
    assert "Welcome to the HeapStream sandbox." in sb_panel.cues_html.value
    english = sb_panel.cues_html.value
    sb_panel.track_dropdown.value = "v-demo-fr"
    assert sb_panel.cues_html.value != english
    assert sb_panel.cues is not None and len(sb_panel.cues) == 6


def test_cut_tiles_rejects_tiles_outside_the_sprite(sandbox: Sandbox) -> None:
    ladder_key = sandbox.signing_key
    from hs_notebook.ladder import fetch_ladder

    ladder = fetch_ladder(sandbox.video_id, ladder_key, sandbox.project_id, sandbox.base_url)
    board = ladder.storyboard(sandbox.videos[sandbox.video_id].storyboard_id)
    board.loc[0, "x"] = 10_000
    with pytest.raises(InvalidArgument, match="outside its"):
        cut_tiles(board, ladder.sprite_bytes)
    with pytest.raises(InvalidArgument, match="not a readable image"):
        cut_tiles(board, lambda _uri: b"not an image")


# ------------------------------------------------------------------ secrets


@pytest.mark.slow
def test_private_key_never_appears_anywhere(
    sandbox: Sandbox, panels: list[W.Widget], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = sandbox.create_signing_key()
    panel = TokenPanel(
        video_id=sandbox.video_id,
        project_id=sandbox.project_id,
        base_url=sandbox.base_url,
        storyboard_id=sandbox.videos[sandbox.video_id].storyboard_id,
        use_env=False,
    )
    embed, ladder_panel, sb_panel = EmbedPanel(panel), LadderPanel(panel), StoryboardPanel(panel)
    app = W.Tab(children=[panel, embed, ladder_panel, sb_panel])
    panels += [sb_panel, ladder_panel, embed, panel, app]

    # a damaged copy of the key first: the error must not quote it
    damaged = key.private_key_base64()[:-300]
    panel.key_id_field.value = key.key_id
    panel.private_key_field.value = damaged
    panel.mint_button.click()
    assert "Could not mint" in panel.error_area.value
    assert damaged[100:160] not in panel.error_area.value
    assert panel.private_key_field.value == ""  # not left in the widget state either

    panel.private_key_field.value = key.private_key_base64()
    panel.mint_button.click()
    assert panel.error_area.value == "" and panel.token
    ladder_panel.fetch_button.click()
    sb_panel.load_button.click()
    assert ladder_panel.ladder is not None and sb_panel.tiles

    text = _state_text(app)
    assert panel.token in text  # the walk does reach the panels' content
    assert "data:image/jpeg;base64," in text
    _assert_no_secret(text, key)
    for w in list(_instances.values()):  # every live widget, not only this tree
        _assert_no_secret(json.dumps(w.get_state(), default=str), key)
    _assert_no_secret(repr(panel) + str(panel.__dict__.keys()), key)
    _assert_no_secret(caplog.text, key)


def test_inspector_without_credentials_uses_the_sandbox(no_credentials: None) -> None:
    app = Inspector()
    try:
        sb = app.sandbox
        assert sb is not None and sb.running
        assert f"Using the local sandbox at {sb.base_url}: no credentials set" in (app.banner.value)
        tp = app.token_panel
        assert tp.video_id_field.value == sb.video_id
        assert tp.key_id_field.value == sb.signing_key.key_id
        assert tp.private_key_field.value == ""  # the key is kept, never shown
        assert tp.signing_key is sb.signing_key
        assert isinstance(app.tabs, W.Tab) and len(app.tabs.children) == 5
        assert app.tabs.children == (
            app.token_panel,
            app.embed_panel,
            app.ladder_panel,
            app.storyboard_panel,
            app.quality_panel,
        )
        tp.mint_button.click()
        verify_token(tp.token, sb.signing_key.public_key, sb.video_id)
        assert app.embed_panel.src.startswith(f"{sb.base_url}/e/{sb.project_id}/{sb.video_id}/")
        app.ladder_panel.fetch_button.click()
        assert "fetched master and 4 presets" in app.ladder_panel.status.value
        app.storyboard_panel.load_button.click()
        assert len(app.storyboard_panel.tiles) == 6
        _assert_no_secret(_state_text(app), sb.signing_key)
    finally:
        app.close()
    assert not sb.running


@pytest.mark.parametrize("present", [ENV_KEY, ENV_KEY_ID])
def test_inspector_with_half_the_credentials_names_the_missing_one(
    no_credentials: None, monkeypatch: pytest.MonkeyPatch, present: str
) -> None:
    absent = ENV_KEY_ID if present == ENV_KEY else ENV_KEY
    key = generate_signing_key("sk-half")
    monkeypatch.setenv(present, key.private_key_base64() if present == ENV_KEY else "sk-half")
    monkeypatch.setenv(absent, "  ")  # blank counts as missing
    assert missing_credentials() == (absent,) and not has_credentials()
    app = Inspector()
    try:
        sb = app.sandbox
        assert sb is not None and sb.running  # still falls back to the sandbox ...
        banner = app.banner.value
        assert f"Using the local sandbox at {sb.base_url}" in banner
        # ... and says precisely why
        assert f"${present} is set but ${absent} is empty or unset" in banner
        assert "the sandbox is used instead" in banner and "hs-warning" in banner
        assert "no credentials set" not in banner
        assert app.token_panel.signing_key is sb.signing_key
        _assert_no_secret(_state_text(app), key)
    finally:
        app.close()


def test_missing_credentials_and_a_token_panel_with_half_of_them() -> None:
    assert missing_credentials({}) == (ENV_KEY_ID, ENV_KEY)
    assert missing_credentials({ENV_KEY_ID: "sk", ENV_KEY: "x"}) == ()
    assert has_credentials({ENV_KEY_ID: "sk", ENV_KEY: "x"})
    panel = TokenPanel(environ={ENV_KEY_ID: "sk-only-id"})
    try:
        assert panel.signing_key is None
        assert (
            "$HEAPSTREAM_SIGNING_KEY_ID is set but $HEAPSTREAM_SIGNING_KEY is empty or unset"
            in panel.error_area.value
        )
    finally:
        panel.close()
    panel = TokenPanel(environ={ENV_KEY: "c29tZXRoaW5n"})
    try:
        assert (
            "$HEAPSTREAM_SIGNING_KEY is set but $HEAPSTREAM_SIGNING_KEY_ID is empty or unset"
            in panel.error_area.value
        )
    finally:
        panel.close()


def test_inspector_with_credentials_in_the_environment(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = sandbox.create_signing_key()
    monkeypatch.setenv(ENV_KEY_ID, key.key_id)
    monkeypatch.setenv(ENV_KEY, key.private_key_base64())
    monkeypatch.setenv("HEAPSTREAM_PROJECT_ID", str(sandbox.project_id))
    monkeypatch.setenv("HEAPSTREAM_VIDEO_ID", sandbox.video_id)
    app = Inspector(base_url=sandbox.base_url)
    try:
        assert app.sandbox is None and app.banner.value == ""
        tp = app.token_panel
        assert tp.private_key_field.value == ""
        assert "from $HEAPSTREAM_SIGNING_KEY" in tp.key_status.value
        assert tp.project_id_field.value == str(sandbox.project_id)
        tok = tp.mint()
        assert tok is not None and tok.key_id == key.key_id
        assert app.ladder_panel.fetch() is not None
        _assert_no_secret(_state_text(app), key)
    finally:
        app.close()
