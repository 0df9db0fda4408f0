"""The Inspector app as a person sees it: Voilà serving notebooks/app.ipynb (against the
sandbox, profile "tiny" unless $HS_NOTEBOOK_SANDBOX_PROFILE says otherwise), driven in
Debian's headless Chromium by Playwright.

Chromium must be at /usr/bin/chromium; when it is not, tools/ensure_chromium.sh installs it
(as root, with apt-get).  If that fails the test FAILS: it is never skipped.

Screenshots are written to artifacts/screenshots/: inspector.png (the Embed tab, video
loaded), ladder.png (the Ladder tab after fetching, wide enough for the whole renditions
table), storyboard.png (the Storyboard tab: contact sheet and cues) and quality.png (the
Quality tab after scoring: rate-quality plot, table, VMAF over time, frame comparison).  With
HS_NOTEBOOK_UPDATE_SCREENSHOTS=1 they go to docs/images/, the README's pictures, which are
taken with the demo profile::

    HS_NOTEBOOK_UPDATE_SCREENSHOTS=1 HS_NOTEBOOK_SANDBOX_PROFILE=demo pytest tests/test_browser.py

Every expectation about the media (ladder, player rendition, tiles) is derived from the
profile's generated media, so the test holds for either profile.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hs_notebook.app_demo import (
    APP_NOTEBOOK,
    free_port,
    start_voila,
    stop_process,
    wait_for_server,
)
from hs_notebook.env import ENV_KEY, ENV_KEY_ID, ENV_PREFIX
from hs_notebook.errors import HeapStreamError
from hs_notebook.sandbox.media import MediaSet, ensure_media

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
IMAGES = (
    ROOT / "docs" / "images"
    if os.environ.get("HS_NOTEBOOK_UPDATE_SCREENSHOTS") == "1"
    else ROOT / "artifacts" / "screenshots"
)
#: The sandbox media profile the app runs on ("tiny" by default: quick to generate).
PROFILE = os.environ.get("HS_NOTEBOOK_SANDBOX_PROFILE", "").strip() or "tiny"
SCREENSHOTS = ("inspector.png", "ladder.png", "storyboard.png", "quality.png")
VIDEO_READY = """() => {
  const v = document.querySelector('video');
  return v !== null && v.readyState >= 2;
}"""


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium, installed by tools/ensure_chromium.sh when missing."""
    if not os.access(CHROMIUM, os.X_OK):
        script = ROOT / "tools" / "ensure_chromium.sh"
        result = subprocess.run(
            ["bash", str(script)], capture_output=True, text=True, timeout=1200, check=False
        )
        if result.returncode != 0 or not os.access(CHROMIUM, os.X_OK):
            pytest.fail(
                f"Chromium is required at {CHROMIUM} and {script} could not install it "
                f"(exit {result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
    return CHROMIUM


@pytest.fixture(scope="module")
def app_media(hs_cache_dir: Path) -> MediaSet:
    """The media of :data:`PROFILE` (generated before the servers start, so the app's
    first Sandbox finds it cached)."""
    return ensure_media(PROFILE, cache_dir=hs_cache_dir)


@pytest.fixture(scope="module")
def app_env(
    tmp_path_factory: pytest.TempPathFactory, hs_cache_dir: Path, app_media: MediaSet
) -> dict[str, str]:
    """The environment of the servers: no credentials, the sandbox of :data:`PROFILE`, and a
    kernel spec for this interpreter."""
    tmp = tmp_path_factory.mktemp("jupyter")
    spec = tmp / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3",
                "language": "python",
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in (ENV_KEY_ID, ENV_KEY, ENV_PREFIX)}
    env.update(
        HS_NOTEBOOK_SANDBOX_PROFILE=PROFILE,
        HS_NOTEBOOK_CACHE=str(hs_cache_dir),
        JUPYTER_PATH=str(tmp),
        MPLBACKEND="Agg",
    )
    return env


@contextlib.contextmanager
def _serve(
    cmd_or_notebook: Path | list[str],
    port: int,
    env: dict[str, str],
    probe: str,
    log_path: Path,
) -> Iterator[None]:
    with log_path.open("wb") as log:
        if isinstance(cmd_or_notebook, Path):
            proc = start_voila(cmd_or_notebook, port, env=env, log=log)
        else:
            proc = subprocess.Popen(
                cmd_or_notebook,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for_server(probe, proc, timeout=90)
        except HeapStreamError as exc:
            stop_process(proc)
            pytest.fail(f"{exc}\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            yield
        finally:
            stop_process(proc)


@pytest.fixture(scope="module")
def voila_url(app_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Voilà serving app.ipynb on 127.0.0.1 (as `make demo` does)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    with _serve(APP_NOTEBOOK, port, app_env, url, log):
        yield url


@pytest.fixture(scope="module")
def hub_url(app_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Jupyter server laid out as on JupyterHub/Binder: base URL /user/ann/, the same in
    $JUPYTERHUB_SERVICE_PREFIX, with Voilà and jupyter-server-proxy as server extensions.
    Returns the app's URL (``…/voila/render/app.ipynb``, logged in with a token)."""
    port = free_port()
    prefix = "/user/ann/"
    env = dict(app_env, **{ENV_PREFIX: prefix})
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "server",
        f"--ServerApp.base_url={prefix}",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=hs-test-login",
        "--no-browser",
        f"--ServerApp.root_dir={APP_NOTEBOOK.parent}",
        "--allow-root",
    ]
    base = f"http://127.0.0.1:{port}{prefix}"
    log = tmp_path_factory.mktemp("hub") / "server.log"
    with _serve(cmd, port, env, f"{base}api/status?token=hs-test-login", log):
        yield f"{base}voila/render/app.ipynb?token=hs-test-login"


#: (box width, content width) of an element, and of the Ladder tab's panel around it
_WIDTHS = """(sel) => {
  const box = document.querySelector(sel);
  const panel = box.closest('.jupyter-widget-TabPanel-tabContents > .widget-container');
  return {box: box.clientWidth, content: box.scrollWidth,
          panel: panel.clientWidth, panel_content: panel.scrollWidth};
}"""


#: how tall the page must be to show the whole app (the shell scrolls inside, so the
#: document's own height does not tell)
_APP_BOTTOM = """() => Math.ceil(
  document.querySelector('.jupyter-widget-TabPanel').getBoundingClientRect().bottom + 24)"""


def test_inspector_in_voila_in_chromium(chromium: str, voila_url: str, app_media: MediaSet) -> None:
    from playwright.sync_api import expect, sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page_errors: list[str] = []
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            # the page works offline: no console errors, no request leaving this machine
            console_errors: list[str] = []
            page.on(
                "console",
                lambda m: console_errors.append(m.text) if m.type == "error" else None,
            )
            outside: list[str] = []
            page.on(
                "request",
                lambda r: (
                    None
                    if r.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
                    else outside.append(r.url)
                ),
            )
            page.goto(voila_url, wait_until="domcontentloaded", timeout=90_000)

            # the app comes up on the sandbox, says so, and offers Mint
            mint = page.get_by_role("button", name="Mint")
            mint.wait_for(state="visible", timeout=90_000)
            expect(page.get_by_text("Using the local sandbox at http://127.0.0.1:")).to_be_visible()
            key_field = page.locator("input[type=password]")
            expect(key_field).to_have_value("")  # the sandbox key is never put on screen

            mint.click()
            token_area = page.locator(".widget-textarea textarea").first
            expect(token_area).to_have_value(
                re.compile(r"^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$"), timeout=30_000
            )
            token = token_area.input_value()
            expect(page.get_by_text(re.compile(r"expires in 59m"))).to_be_visible()
            expect(page.get_by_text("no problems found")).to_be_visible()
            links = page.locator("table.hs-urls a[target=_blank]")
            # embed, master, poster, 2 text tracks, 4 presets, 4 MP4s, storyboard, original
            expect(links).to_have_count(15)
            assert token in (links.first.get_attribute("href") or "")

            # the Embed tab: the player iframe, with this token, and its video loads
            page.get_by_role("tab", name="Embed").click()
            iframe = page.locator("iframe[src*='/e/1/v-demo/']")
            expect(iframe).to_be_visible(timeout=30_000)
            assert token in (iframe.get_attribute("src") or "")
            page.get_by_label("autoplay (muted)").check()
            playing = page.locator("iframe[src*='autoplay=true']")
            expect(playing).to_be_visible(timeout=30_000)
            frame = playing.element_handle().content_frame()
            assert frame is not None
            frame.wait_for_function(VIDEO_READY, timeout=45_000)
            video = frame.evaluate(
                """() => { const v = document.querySelector('video');
                return {state: v.readyState, width: v.videoWidth, height: v.videoHeight,
                        error: v.error ? v.error.code : null, src: v.currentSrc}; }"""
            )
            assert video["state"] >= 2 and video["error"] is None, video
            # the player plays the master playlist where the browser has native HLS (recent
            # Chromium does), else the middle rendition's MP4: either way one of the ladder's
            # frame sizes, and the overlay names what is playing
            sizes = {(r.width, r.height) for r in app_media.renditions}
            assert (video["width"], video["height"]) in sizes, video
            if "/mmpl/1/v-demo/" in video["src"]:
                kind = "HLS"
            else:
                middle = app_media.renditions[len(app_media.renditions) // 2]
                assert "/stcr4/1/" in video["src"], video
                assert (video["width"], video["height"]) == (middle.width, middle.height)
                kind = "MP4"
            overlay = frame.locator("#rendition")
            expect(overlay).to_have_text(f"{kind} {video['width']}\u00d7{video['height']}")
            frame.evaluate("() => document.querySelector('video').pause()")
            page.wait_for_timeout(300)
            bottom = min(1000, page.evaluate(_APP_BOTTOM))  # no empty page below the app
            page.screenshot(
                path=str(IMAGES / "inspector.png"),
                clip={"x": 0, "y": 0, "width": 1280, "height": bottom},
            )

            # the Ladder tab: fetch, then the renditions table and the plot
            page.get_by_role("tab", name="Ladder").click()
            page.get_by_role("button", name="Fetch ladder").click()
            expect(page.get_by_text(re.compile(r"fetched master and 4 presets"))).to_be_visible(
                timeout=30_000
            )
            renditions = page.locator("table.hs-table").first
            for rendition in app_media.renditions:
                expect(renditions).to_contain_text(f"v-demo-{rendition.name}")
            expect(renditions).to_contain_text("token=…")
            assert token not in renditions.inner_html()
            first_segment = app_media.renditions[0].segments[0].name
            expect(page.locator("table.hs-table", has_text=first_segment)).to_be_visible()
            expect(page.locator(".widget-output img")).to_have_count(2)  # ladder + segments
            # narrow: the wide renditions table scrolls inside its own box, the panel does not
            scroll = ".hs-table-box .hs-table-scroll"
            narrow = page.evaluate(_WIDTHS, scroll)
            assert narrow["panel_content"] <= narrow["panel"], narrow
            assert narrow["box"] <= narrow["panel"], narrow
            # the screenshot: wide enough for the whole table, tall enough for the whole tab
            extra = max(0, narrow["content"] - narrow["box"])
            tall = page.evaluate(_APP_BOTTOM)
            page.set_viewport_size({"width": 1280 + extra + 16, "height": max(1000, tall)})
            page.wait_for_timeout(300)
            wide = page.evaluate(_WIDTHS, scroll)
            assert wide["content"] <= wide["box"], wide  # nothing cut off on the right
            page.screenshot(path=str(IMAGES / "ladder.png"))
            page.set_viewport_size({"width": 1280, "height": 1000})

            # the Storyboard tab: tiles cut in the kernel, shown as data: URIs; before they
            # are loaded no image is drawn (an empty one would be a broken-image box)
            page.get_by_role("tab", name="Storyboard & text").click()
            page.get_by_role("button", name="Load storyboard").wait_for(state="visible")
            visible_images = page.locator(".jupyter-widget-TabPanel-tabContents img:visible")
            expect(visible_images).to_have_count(0)
            page.get_by_role("button", name="Load storyboard").click()
            tiles = page.locator(".hs-contact-sheet img")
            expect(tiles).to_have_count(len(app_media.storyboard.cues), timeout=30_000)
            assert (tiles.first.get_attribute("src") or "").startswith("data:image/jpeg;base64,")
            expect(page.get_by_text("Welcome to the HeapStream sandbox.")).to_be_visible()
            page.wait_for_timeout(300)
            tall = page.evaluate(_APP_BOTTOM)
            page.set_viewport_size({"width": 1280, "height": max(1000, tall)})
            page.wait_for_timeout(300)
            page.screenshot(path=str(IMAGES / "storyboard.png"))
            page.set_viewport_size({"width": 1280, "height": 1000})

            # the Quality tab: score (progress while it runs), then every view
            page.get_by_role("tab", name="Quality").click()
            page.get_by_label("sample").select_option("3 windows of 2 s")
            page.get_by_role("button", name="Score").click()
            bar = page.locator(".jupyter-widget-TabPanel-tabContents .widget-hprogress").last
            expect(bar).to_be_visible(timeout=30_000)  # progress while scoring
            expect(page.get_by_text(re.compile(r"(fetching|scoring|loudness).*…"))).to_be_visible()
            expect(page.get_by_text(re.compile(r"^scored in "))).to_be_visible(timeout=300_000)
            heading = page.get_by_text("Perceptual quality (VMAF, PSNR, SSIM)")
            quality_tab = page.locator(".widget-vbox", has=heading).last
            for rendition in app_media.renditions:
                expect(quality_tab.locator("table.hs-table").first).to_contain_text(
                    f"v-demo-{rendition.name}"
                )
            expect(quality_tab).to_contain_text("quality_reference")
            # rate-quality, VMAF over time, the frame comparison
            expect(quality_tab.locator(".widget-output img")).to_have_count(3, timeout=60_000)
            assert token not in quality_tab.inner_html()
            page.wait_for_timeout(300)
            tall = page.evaluate(_APP_BOTTOM)
            page.set_viewport_size({"width": 1280, "height": max(1000, tall)})
            page.wait_for_timeout(300)
            page.screenshot(path=str(IMAGES / "quality.png"))
            assert page_errors == []
            assert console_errors == [], console_errors
            assert outside == [], outside
        finally:
            browser.close()
    for name in SCREENSHOTS:
        data = (IMAGES / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000, name


def test_embed_goes_through_jupyter_server_proxy_behind_a_hub(chromium: str, hub_url: str) -> None:
    """On Binder the browser is not on the kernel's machine: the iframe must load the
    sandbox through <prefix>proxy/<port>/, and the video must still play."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(hub_url, wait_until="domcontentloaded", timeout=90_000)
            page.get_by_role("button", name="Mint").click(timeout=90_000)
            page.get_by_role("tab", name="Embed").click()
            page.get_by_label("autoplay (muted)").check()
            iframe = page.wait_for_selector("iframe[src*='autoplay=true']", timeout=30_000)
            src = iframe.get_attribute("src") or ""
            assert re.match(r"^/user/ann/proxy/\d+/e/1/v-demo/\?token=eyJ", src), src
            frame = iframe.content_frame()
            assert frame is not None
            frame.wait_for_function(VIDEO_READY, timeout=45_000)
            current = frame.evaluate("() => document.querySelector('video').currentSrc")
            assert "/user/ann/proxy/" in current and "/stcr4/1/" in current, current
        finally:
            browser.close()
