"""The client's overall per-call ``deadline`` and the download lock, against the real
sandbox: a body dribbled by ``Faults(slow_body=...)`` fails at the deadline (not at the
end of the body), retries stop there, streams are exempt; two downloads to one file at
once cannot share (and corrupt) one ``.part``."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hs_notebook.download import download
from hs_notebook.errors import DownloadError, FetchError, InvalidArgument
from hs_notebook.http import DEFAULT_DEADLINE, AsyncClient, Client
from hs_notebook.sandbox.faults import SLOW_BODY_CHUNK, Faults

#: Slack (seconds) allowed past a deadline for the loop to notice it and unwind.
SLACK = 1.0


def _mp4(sb: Any, index: int = 0) -> tuple[str, Path]:
    rendition = sb.media.renditions[index]
    preset = sb.videos[sb.video_id].presets[rendition.name]
    return sb.signed_url("mp4", preset), rendition.mp4


def _dribble_time(source: Path, slow_body: float) -> float:
    """Seconds the sandbox takes to send ``source`` under ``Faults(slow_body=...)``."""
    return math.ceil(source.stat().st_size / SLOW_BODY_CHUNK) * slow_body


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    ends = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > ends:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# ---------------------------------------------------------------- arguments


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


# ---------------------------------------------------------------- deadline


def test_a_dribbled_body_fails_at_the_deadline(sandbox_factory: Callable[..., Any]) -> None:
    slow = 0.2
    sb = sandbox_factory(faults=Faults(slow_body=slow, paths=r"^/stcr4/"))
    url, source = _mp4(sb)
    deadline = 1.0
    # without a deadline the body would take several times longer (each read is quick,
    # so the per-read timeout never fires)
    assert _dribble_time(source, slow) > 3 * deadline
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
    assert _dribble_time(source, slow) > 3 * 0.8

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


def test_streams_and_downloads_are_exempt(
    sandbox_factory: Callable[..., Any], tmp_path: Path
) -> None:
    slow = 0.05
    sb = sandbox_factory(faults=Faults(slow_body=slow, paths=r"^/stcr4/"))
    url, source = _mp4(sb)
    deadline = 0.5
    assert _dribble_time(source, slow) > 2 * deadline
    with Client(deadline=deadline) as client:
        started = time.monotonic()
        with client.stream(url) as stream:
            body = b"".join(stream.iter_bytes())
        assert time.monotonic() - started > deadline  # it ran past the deadline ...
        assert body == source.read_bytes()  # ... and completed
        got = download(url, tmp_path / "clip.mp4", progress=False, client=client)
    assert got.read_bytes() == source.read_bytes()


# ---------------------------------------------------------------- download lock


def _first_download(url: str, dest: Path, out: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        try:
            out["path"] = download(url, dest, progress=False)
        except BaseException as exc:  # reported by the test
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_second_download_to_the_same_file_is_refused(
    sandbox_factory: Callable[..., Any], tmp_path: Path
) -> None:
    slow = 0.08
    sb = sandbox_factory(faults=Faults(slow_body=slow, paths=r"^/stcr4/"))
    url, source = _mp4(sb)
    assert _dribble_time(source, slow) > 1.0  # the first is still running when we try
    dest = tmp_path / "clip.mp4"
    part = tmp_path / "clip.mp4.part"
    lock = tmp_path / "clip.mp4.part.lock"
    out: dict[str, Any] = {}
    thread = _first_download(url, dest, out)
    _wait_for(part.exists, "the first download's .part")
    assert lock.exists()
    with pytest.raises(DownloadError, match=r"another download to .*clip\.mp4 is in progress"):
        download(url, dest, progress=False)
    with pytest.raises(DownloadError, match="is in progress"):
        download(url, dest, progress=False, overwrite=True)
    assert part.exists()  # the refused calls did not touch the first one's .part
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert "error" not in out, out.get("error")
    assert out["path"] == dest
    assert dest.read_bytes() == source.read_bytes()  # not corrupted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]  # lock file gone
    # the lock is released: the next download runs
    sb.faults = None
    assert download(url, dest, progress=False, overwrite=True).read_bytes() == source.read_bytes()


def test_a_second_download_into_the_same_directory_is_refused(
    sandbox_factory: Callable[..., Any], tmp_path: Path
) -> None:
    slow = 0.08
    sb = sandbox_factory(faults=Faults(slow_body=slow, paths=r"^/stcr4/"))
    url, source = _mp4(sb)
    assert _dribble_time(source, slow) > 1.0
    out: dict[str, Any] = {}
    thread = _first_download(url, tmp_path, out)
    _wait_for(lambda: any(p.suffix == ".part" for p in tmp_path.iterdir()), "a .part")
    with pytest.raises(DownloadError, match="is in progress"):
        download(url, tmp_path, progress=False)
    thread.join(timeout=30)
    assert "error" not in out, out.get("error")
    got: Path = out["path"]
    assert got.parent == tmp_path
    assert got.read_bytes() == source.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [got.name]
