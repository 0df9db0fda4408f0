"""hs_notebook.download against the real sandbox: static MP4s and originals, streamed to
``.part`` files, resumed with Range after cut connections, never overwriting by accident."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _loopback import RawOrigin, dribble_time, trickle

from hs_notebook.download import download, filename_for
from hs_notebook.errors import DownloadError, InvalidArgument, NotFound, TokenRejected
from hs_notebook.http import Client, token_of
from hs_notebook.sandbox.faults import Faults

# ---------------- pure


def test_filename_for() -> None:
    url = "http://h.example/stcr4/1/v-demo-360p/?token=T"
    assert (
        filename_for(url, {"content-disposition": 'attachment; filename="clip.mp4"'}) == "clip.mp4"
    )
    assert (
        filename_for(url, {"content-disposition": "attachment; filename*=UTF-8''caf%C3%A9.mp4"})
        == "café.mp4"
    )
    # a hostile name cannot climb out of the directory
    assert (
        filename_for(url, {"content-disposition": 'attachment; filename="../../x.mp4"'}) == "x.mp4"
    )
    assert filename_for(url, {"content-type": "video/mp4"}) == "mp4-v-demo-360p.mp4"
    assert filename_for("http://h.example/dlo/1/v-demo/?token=T") == "original-v-demo.mp4"
    assert filename_for("http://h.example/files/a.bin") == "a.bin"


# ---------------- sandbox


def _sent(sandbox: Any, prefix: str) -> int:
    return sum(1 for r in sandbox.requests if r.path.startswith(prefix))


def _mp4(sb: Any, index: int = 0) -> tuple[str, Path]:
    rendition = sb.media.renditions[index]
    preset = sb.videos[sb.video_id].presets[rendition.name]
    return sb.signed_url("mp4", preset), rendition.mp4


def test_download_mp4_matches_the_served_file(sandbox: Any, tmp_path: Path) -> None:
    url, source = _mp4(sandbox, 1)
    dest = tmp_path / "clip.mp4"
    got = download(url, dest, progress=False)
    assert got == dest
    assert dest.read_bytes() == source.read_bytes()
    assert not (tmp_path / "clip.mp4.part").exists()


def test_download_original_into_a_directory(sandbox: Any, tmp_path: Path) -> None:
    url = sandbox.signed_url("original", sandbox.video_id)
    got = download(url, tmp_path, progress=False)
    assert got.parent == tmp_path
    assert got.name == f"{sandbox.video_id}.mp4"  # from Content-Disposition
    assert got.read_bytes() == sandbox.media.original.read_bytes()


def test_refused_original_says_so_and_leaves_nothing(sandbox: Any, tmp_path: Path) -> None:
    url = sandbox.signed_url("original", sandbox.no_originals_video_id)
    with pytest.raises(TokenRejected) as info:
        download(url, tmp_path / "o.mp4", progress=False)
    assert info.value.reason == "originals_not_kept"
    assert "does not keep originals" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_unknown_preset_is_not_found(sandbox: Any, tmp_path: Path) -> None:
    url = sandbox.url("mp4", "nope", sandbox.mint(sandbox.video_id), project_id=sandbox.project_id)
    with pytest.raises(NotFound):
        download(url, tmp_path / "x.mp4", progress=False)


def test_never_overwrites_without_overwrite(sandbox: Any, tmp_path: Path) -> None:
    url, source = _mp4(sandbox)
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"precious")
    before = len(sandbox.requests)
    with pytest.raises(DownloadError, match="overwrite=True"):
        download(url, dest, progress=False)
    assert dest.read_bytes() == b"precious"
    assert len(sandbox.requests) == before  # refused before any request
    download(url, dest, overwrite=True, progress=False)
    assert dest.read_bytes() == source.read_bytes()
    # into a directory, the existing file is found after the name is known
    named = download(sandbox.signed_url("original", sandbox.video_id), tmp_path, progress=False)
    with pytest.raises(DownloadError, match="already exists"):
        download(sandbox.signed_url("original", sandbox.video_id), tmp_path, progress=False)
    assert named.read_bytes() == sandbox.media.original.read_bytes()


def test_resume_requests_only_the_rest(sandbox: Any, tmp_path: Path) -> None:
    url, source = _mp4(sandbox, 2)
    data = source.read_bytes()
    half = len(data) // 2
    dest = tmp_path / "clip.mp4"
    (tmp_path / "clip.mp4.part").write_bytes(data[:half])
    sandbox.clear_requests()
    download(url, dest, progress=False)
    assert dest.read_bytes() == data
    gets = [r for r in sandbox.requests if r.method == "GET" and r.path.startswith("/stcr4/")]
    assert len(gets) == 1
    assert gets[0].headers.get("range") == f"bytes={half}-" and gets[0].status == 206


def test_complete_or_oversized_part_files(sandbox: Any, tmp_path: Path) -> None:
    url, source = _mp4(sandbox)
    data = source.read_bytes()
    (tmp_path / "full.mp4.part").write_bytes(data)  # already complete: 416, then rename
    assert download(url, tmp_path / "full.mp4", progress=False).read_bytes() == data
    (tmp_path / "big.mp4.part").write_bytes(data + b"junk")  # longer than the file: restart
    assert download(url, tmp_path / "big.mp4", progress=False).read_bytes() == data


def test_resume_after_cut_connections(sandbox: Any, tmp_path: Path) -> None:
    url, source = _mp4(sandbox, 3)
    data = source.read_bytes()
    dest = tmp_path / "clip.mp4"
    # every answer is cut in half: each attempt gets half of what is left, then we give up
    sandbox.faults = Faults(truncate_rate=1.0, paths="^/stcr4/")
    with Client(retries=2, backoff=0.01) as c, pytest.raises(DownloadError, match="resume"):
        download(url, dest, client=c, progress=False)
    part = tmp_path / "clip.mp4.part"
    kept = part.stat().st_size
    assert 0 < kept < len(data) and part.read_bytes() == data[:kept]
    assert not dest.exists()
    # the next call resumes from the .part and asks only for the rest
    sandbox.faults = None
    sandbox.clear_requests()
    download(url, dest, progress=False)
    assert dest.read_bytes() == data and not part.exists()
    gets = [r for r in sandbox.requests if r.path.startswith("/stcr4/")]
    assert [g.headers.get("range") for g in gets] == [f"bytes={kept}-"]


def test_resume_within_one_call_after_drops(sandbox: Any, tmp_path: Path) -> None:
    url, source = _mp4(sandbox, 3)
    path = url.split("?")[0].split(sandbox.base_url, 1)[1]
    # a seed whose first GET is cut (the draws are a public, deterministic function)
    seed = next(
        s
        for s in range(1000)
        if Faults(truncate_rate=0.5, drop_rate=0.2, seed=s)
        .decide("GET", path, 0, salt=sandbox.seed)
        .truncate
    )
    sandbox.faults = Faults(truncate_rate=0.5, drop_rate=0.2, seed=seed, paths="^/stcr4/")
    sandbox.clear_requests()
    with Client(retries=10, backoff=0.01) as c:
        got = download(url, tmp_path / "clip.mp4", client=c, progress=False, chunk_size=4096)
    assert got.read_bytes() == source.read_bytes()
    ranges = [r.headers.get("range") for r in sandbox.requests if r.path.startswith("/stcr4/")]
    assert any(r and r.startswith("bytes=") for r in ranges), "at least one resume happened"


def test_progress_bar_only_when_asked(sandbox: Any, tmp_path: Path, capsys: Any) -> None:
    url, _ = _mp4(sandbox)
    download(url, tmp_path / "quiet.mp4", progress=False)
    assert "quiet.mp4" not in capsys.readouterr().err
    download(url, tmp_path / "loud.mp4", progress=True)
    assert "loud.mp4" in capsys.readouterr().err


def test_bad_arguments(sandbox: Any, tmp_path: Path) -> None:
    url, _ = _mp4(sandbox)
    with pytest.raises(InvalidArgument):
        download("not a url", tmp_path / "x")
    with pytest.raises(InvalidArgument, match="does not exist"):
        download(url, tmp_path / "missing-dir" / "x.mp4", progress=False)


# ---------------- arguments


@pytest.mark.parametrize("dest", [None, 5, b"clip.mp4", "", "   "])
def test_download_with_a_bad_destination_says_so(sandbox: Any, dest: Any) -> None:
    preset = sandbox.videos[sandbox.video_id].presets["360p"]
    url = sandbox.signed_url("mp4", preset)
    before = _sent(sandbox, "/stcr4/")
    with pytest.raises(InvalidArgument, match="dest must be a file path"):
        download(url, dest, progress=False)
    assert _sent(sandbox, "/stcr4/") == before, "nothing was downloaded"


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


def test_an_impossible_destination_is_a_download_error(sandbox: Any, tmp_path: Path) -> None:
    url, _ = _mp4(sandbox)
    with pytest.raises(DownloadError, match="cannot write"):
        download(url, tmp_path / ("x" * 300 + ".mp4"), progress=False)


# ---------------- resume


def test_downloads_ask_for_identity_encoding(sandbox: Any, tmp_path: Path) -> None:
    """Byte ranges count stored bytes; a gzip-decoded body would never match them."""
    url, source = _mp4(sandbox)
    sandbox.clear_requests()
    assert download(url, tmp_path / "a.mp4", progress=False).read_bytes() == source.read_bytes()
    gets = [r for r in sandbox.requests if r.path.startswith("/stcr4/")]
    assert gets and all(r.headers.get("accept-encoding") == "identity" for r in gets)


def test_resume_never_mixes_two_files(sandbox: Any, tmp_path: Path) -> None:
    first, _ = _mp4(sandbox, 0)
    second, source = _mp4(sandbox, 2)
    dest = tmp_path / "clip.mp4"
    sandbox.faults = Faults(truncate_rate=1.0, paths="^/stcr4/")
    with Client(retries=0) as c, pytest.raises(DownloadError):
        download(first, dest, client=c, progress=False)
    sandbox.faults = None
    kept = sorted(tmp_path.glob("clip.mp4.part*"))
    assert kept and (tmp_path / "clip.mp4.part").stat().st_size > 0
    for path in kept:  # the token never goes to disk
        assert str(token_of(first)).encode() not in path.read_bytes()
    # the same destination, another file: the .part of the first must not be completed
    got = download(second, dest, progress=False)
    assert got.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


@pytest.mark.parametrize("changed", ["validator", "total"])
def test_resume_starts_over_when_the_file_changed(
    sandbox: Any, tmp_path: Path, changed: str
) -> None:
    url, source = _mp4(sandbox, 1)
    data = source.read_bytes()
    dest = tmp_path / "clip.mp4"
    with Client() as c:
        head = c.head(url)
    # a .part of an older version of the same URL (other bytes, as long as a real prefix)
    (tmp_path / "clip.mp4.part").write_bytes(b"\0" * (len(data) // 2))
    meta = {
        "url": url.split("?")[0],
        "validator": head.headers["etag"] if changed == "total" else '"an-older-version"',
        "total": len(data) + 1000 if changed == "total" else len(data),
    }
    (tmp_path / "clip.mp4.part.json").write_text(json.dumps(meta))
    sandbox.clear_requests()
    assert download(url, dest, progress=False).read_bytes() == data
    first = next(r for r in sandbox.requests if r.path.startswith("/stcr4/"))
    assert first.headers.get("if-range") == meta["validator"]


@pytest.mark.timeout(60)
def test_a_416_to_every_request_is_an_error_not_an_endless_loop(
    tmp_path: Path,
) -> None:
    def always_416(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(416)
        h.send_header("Content-Range", "bytes */5")
        h.send_header("Content-Length", "0")
        h.end_headers()

    with RawOrigin(always_416) as origin, pytest.raises(DownloadError, match="416") as info:
        download(f"{origin.base_url}/stcr4/1/p/?token=SECRET", tmp_path / "x.mp4", progress=False)
    assert "SECRET" not in str(info.value) and "SECRET" not in str(info.value.url)
    assert origin.hits <= 2


# ---------------- one download per destination at a time


def _wait_for(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    ends = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > ends:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


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
    assert dribble_time(source, slow) > 1.0  # the first is still running when we try
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
    assert dribble_time(source, slow) > 1.0
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


# ---------------- an origin that stalls or trickles (issue 10)


def test_a_trickling_download_stops_at_the_idle_timeout(tmp_path: Path) -> None:
    secret = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2In0.U0VDUkVULXNpZ25hdHVyZQ"
    with RawOrigin(trickle(0.1)) as origin, Client(retries=1, backoff=0.01) as c:
        started = time.monotonic()
        with pytest.raises(DownloadError) as info:
            download(
                f"{origin.base_url}/stcr4/1/p/?token={secret}",
                tmp_path / "clip.mp4",
                client=c,
                progress=False,
                chunk_size=4096,
                idle_timeout=0.5,
            )
        elapsed = time.monotonic() - started
    # one stall, one resume that stalls again (retries=1), then our error: bounded time
    assert origin.hits == 2
    assert elapsed < 2 * 0.5 + 3.0
    msg = str(info.value)
    assert "kept being cut off" in msg and "stalled" in msg and "idle_timeout=0.5 s" in msg
    assert secret not in msg and secret not in str(info.value.url)
    assert (tmp_path / "clip.mp4.part").exists()  # kept: a later call resumes
    assert not (tmp_path / "clip.mp4").exists()


@pytest.mark.slow
def test_the_sandbox_slow_body_fault_trips_the_idle_timeout(
    sandbox_factory: Callable[..., Any], tmp_path: Path
) -> None:
    # 16 KiB every 0.5 s: each read is quick, but a 64 KiB chunk takes 2 s to come
    sb = sandbox_factory(faults=Faults(slow_body=0.5, paths=r"^/stcr4/"))
    url, source = _mp4(sb)
    assert dribble_time(source, 0.5) > 3.0
    with Client(retries=0) as c, pytest.raises(DownloadError, match="stalled"):
        download(url, tmp_path / "clip.mp4", client=c, progress=False, idle_timeout=1.0)
    assert (tmp_path / "clip.mp4.part").exists()
    # a body that is slow but keeps coming (a chunk every 0.2 s) completes, resuming
    sb.faults = Faults(slow_body=0.05, paths=r"^/stcr4/")
    got = download(url, tmp_path / "clip.mp4", progress=False, idle_timeout=1.0)
    assert got.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "30", True])
def test_a_bad_idle_timeout_is_refused(sandbox: Any, tmp_path: Path, bad: Any) -> None:
    url, _ = _mp4(sandbox)
    before = _sent(sandbox, "/stcr4/")
    with pytest.raises(InvalidArgument, match="idle_timeout"):
        download(url, tmp_path, progress=False, idle_timeout=bad)
    assert _sent(sandbox, "/stcr4/") == before


def test_download_errors_that_quote_input_never_quote_a_token(sandbox: Any, tmp_path: Path) -> None:
    url, _ = _mp4(sandbox)
    token = str(token_of(url))
    (tmp_path / "there.mp4").write_bytes(b"x")
    calls: list[Callable[[], object]] = [
        lambda: download(url.replace("http://", "ftp://"), tmp_path, progress=False),
        lambda: download(f"http://[::1/x?token={token}", tmp_path, progress=False),
        lambda: download(url, tmp_path / "there.mp4", progress=False),
        lambda: download(url, tmp_path / "no-such-dir" / "x.mp4", progress=False),
        lambda: download(url, tmp_path / ("x" * 300 + ".mp4"), progress=False),
        lambda: download(url + "&token=again", tmp_path, progress=False),
        lambda: filename_for(f"http://[::1/x?token={token}"),
    ]
    for call in calls:
        with pytest.raises((InvalidArgument, DownloadError)) as info:
            call()
        assert token not in str(info.value), str(info.value)
        assert token not in str(getattr(info.value, "url", "") or "")
