"""hs_notebook.download against the real sandbox: static MP4s and originals, streamed to
``.part`` files, resumed with Range after cut connections, never overwriting by accident."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hs_notebook.download import download, filename_for
from hs_notebook.errors import DownloadError, InvalidArgument, NotFound, TokenRejected
from hs_notebook.http import Client
from hs_notebook.sandbox.faults import Faults

# ---------------------------------------------------------------- pure


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


# ---------------------------------------------------------------- sandbox


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
