"""Tests of hs_notebook.sandbox.media: real ffmpeg output for the ``tiny`` profile.

The media is generated once per module into a temporary cache directory; every check
reads the real files (MPEG-TS packets, MP4 boxes, JPEG markers, WebVTT text) or decodes
them with the same bundled ffmpeg binary.  Only the ``tiny`` profile is used here.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hs_notebook.errors import SandboxError
from hs_notebook.sandbox import ffmpeg as ffmpeg_mod
from hs_notebook.sandbox._media_mp4 import avc_codec_from_avcc, mp4_codecs, mp4a_codec_from_esds
from hs_notebook.sandbox.cache import load_media
from hs_notebook.sandbox.media import (
    GENERATOR_VERSION,
    PROFILES,
    LadderStep,
    MediaSet,
    Profile,
    cache_root,
    ensure_media,
    ffmpeg_exe,
    media_dir,
)
from hs_notebook.sandbox.tsinfo import first_video_pts

TINY = PROFILES["tiny"]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[MediaSet, list[str], Path]:
    cache = tmp_path_factory.mktemp("media-cache")
    lines: list[str] = []
    media = ensure_media("tiny", cache_dir=cache, progress=lines.append)
    return media, lines, cache


@pytest.fixture(scope="module")
def tiny(generated: tuple[MediaSet, list[str], Path]) -> MediaSet:
    return generated[0]


# ----------------------------------------------------------------------------- helpers


def run_ffmpeg(*args: str) -> str:
    """Run the bundled ffmpeg (info log level) and return its stderr."""
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return proc.stderr


def jpeg_size(path: Path) -> tuple[int, int]:
    """(width, height) from the SOFn marker of a JPEG file."""
    data = path.read_bytes()
    assert data[:2] == b"\xff\xd8", f"{path} has no SOI marker"
    assert data[-2:] == b"\xff\xd9", f"{path} has no EOI marker"
    pos = 2
    while pos < len(data):
        assert data[pos] == 0xFF, f"lost marker sync in {path} at {pos}"
        marker = data[pos + 1]
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack_from(">HH", data, pos + 5)
            return width, height
        pos += 2 + length
    raise AssertionError(f"no SOF marker in {path}")


def top_level_boxes(path: Path) -> list[bytes]:
    out = []
    with open(path, "rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            out.append(kind)
            if size == 1:
                (size,) = struct.unpack(">Q", f.read(8))
                f.seek(size - 16, 1)
            else:
                f.seek(size - 8, 1)
    return out


def vtt_cues(text: str) -> list[tuple[float, float, str]]:
    def secs(stamp: str) -> float:
        h, m, s = stamp.split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    cues = []
    blocks = text.split("\n\n")
    for block in blocks:
        lines = block.strip().splitlines()
        for i, line in enumerate(lines):
            if "-->" in line:
                start, end = (p.strip().split()[0] for p in line.split("-->"))
                cues.append((secs(start), secs(end), "\n".join(lines[i + 1 :])))
    return cues


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


# ----------------------------------------------------------------------------- structure


def test_progress_lines_name_each_rendition(generated: tuple[MediaSet, list[str], Path]) -> None:
    _, lines, _ = generated
    top = TINY.ladder[-1]
    assert f"encoding the original upload ({top.width}x{top.height})" in lines
    names = ", ".join(step.name for step in TINY.ladder)
    assert f"encoding renditions {names} from the original" in lines
    assert lines.index(f"encoding renditions {names} from the original") > lines.index(
        f"encoding the original upload ({top.width}x{top.height})"
    )
    assert all(isinstance(line, str) and "\n" not in line and len(line) < 100 for line in lines)


def test_layout_and_ladder(tiny: MediaSet, generated: tuple[MediaSet, list[str], Path]) -> None:
    cache = generated[2]
    assert tiny.root == cache / "media" / f"tiny-v{GENERATOR_VERSION}"
    assert tiny.root == media_dir("tiny", cache)
    assert (tiny.root / "manifest.json").is_file()
    assert tiny.profile == "tiny" and tiny.duration == TINY.duration
    assert [(r.name, r.width, r.height) for r in tiny.renditions] == [
        (s.name, s.width, s.height) for s in TINY.ladder
    ]
    widths = [r.width for r in tiny.renditions]
    assert widths == sorted(widths) and len(set(widths)) == 4
    aspects = [r.width / r.height for r in tiny.renditions]
    assert max(aspects) / min(aspects) < 1.01
    for r in tiny.renditions:
        assert r.width % 2 == 0 and r.height % 2 == 0
        assert r.frame_rate == TINY.frame_rate <= 30


def test_segments_exist_and_durations_add_up(tiny: MediaSet) -> None:
    for r in tiny.renditions:
        assert len(r.segments) == round(TINY.duration / TINY.segment_duration)
        assert [s.name for s in r.segments] == [f"seg-{i:05d}.ts" for i in range(len(r.segments))]
        for s in r.segments:
            assert s.path.is_absolute() and s.path.name == s.name
            assert s.path.stat().st_size == s.size > 0
            assert abs(s.duration - TINY.segment_duration) < 0.1
        assert abs(sum(s.duration for s in r.segments) - TINY.duration) < 0.1
        assert r.target_duration == math.ceil(max(s.duration for s in r.segments))
        assert r.target_duration >= round(max(s.duration for s in r.segments))


def test_segments_are_mpeg_ts(tiny: MediaSet) -> None:
    for r in tiny.renditions:
        for s in r.segments:
            data = s.path.read_bytes()
            assert len(data) % 188 == 0, s.path
            assert all(data[i] == 0x47 for i in range(0, len(data), 188)), s.path


def test_mp4s_are_faststart_and_original_differs(tiny: MediaSet) -> None:
    for r in tiny.renditions:
        assert r.mp4.stat().st_size == r.mp4_size
        boxes = top_level_boxes(r.mp4)
        assert boxes[0] == b"ftyp"
        assert boxes.index(b"moov") < boxes.index(b"mdat"), f"{r.mp4} is not faststart"
    top = tiny.renditions[-1]
    original = tiny.original.read_bytes()
    assert original[4:8] == b"ftyp"
    assert original != top.mp4.read_bytes()
    info = run_ffmpeg("-i", str(tiny.original))
    assert f"{top.width}x{top.height}" in info
    assert "Video: h264" in info and "Audio: aac" in info


def test_poster_and_storyboard_jpegs(tiny: MediaSet) -> None:
    top = tiny.renditions[-1]
    assert jpeg_size(tiny.poster) == (top.width, top.height)
    sb = tiny.storyboard
    assert sb.interval == TINY.storyboard_interval
    assert [p.name for p in sb.sprites] == [f"sprite-{i}.jpg" for i in range(len(sb.sprites))]
    for sprite in sb.sprites:
        assert jpeg_size(sprite) == (sb.columns * sb.tile_width, sb.rows * sb.tile_height)
    sizes = {p.name: jpeg_size(p) for p in sb.sprites}
    # cues tile [0, duration) without gaps, one tile per interval, inside their sprite
    assert sb.cues[0].start == 0.0
    assert sb.cues[-1].end == pytest.approx(tiny.duration)
    assert len(sb.cues) == math.ceil(tiny.duration / sb.interval)
    for prev, cue in itertools.pairwise(sb.cues):
        assert cue.start == pytest.approx(prev.end)
    seen = set()
    for cue in sb.cues:
        assert cue.end - cue.start == pytest.approx(sb.interval)
        assert (cue.w, cue.h) == (sb.tile_width, sb.tile_height)
        assert cue.x % sb.tile_width == 0 and cue.y % sb.tile_height == 0
        width, height = sizes[cue.sprite]
        assert cue.x + cue.w <= width and cue.y + cue.h <= height
        seen.add((cue.sprite, cue.x, cue.y))
    assert len(seen) == len(sb.cues), "two cues point at the same tile"


def psnr_to_frame(image: Path, video: Path, at: float) -> float:
    """PSNR (dB) of ``image`` against the frame of ``video`` at ``at`` seconds."""
    err = run_ffmpeg(
        "-i", str(image), "-ss", f"{at:g}", "-i", str(video),
        "-lavfi", "[1:v]trim=end_frame=1,format=yuvj420p[f];[0:v]format=yuvj420p[p];[p][f]psnr",
        "-f", "null", "-",
    )  # fmt: skip
    found = re.search(r"PSNR .*?average:([0-9.]+|inf)", err)
    assert found, err[-1500:]
    return float(found.group(1))


def test_poster_is_the_first_frame_the_player_shows(tiny: MediaSet) -> None:
    top = tiny.renditions[-1]
    first = psnr_to_frame(tiny.poster, top.mp4, 0)
    later = psnr_to_frame(tiny.poster, top.mp4, tiny.duration / 2)
    assert first > 30, first
    assert first > later + 5, (first, later)


def test_text_tracks(tiny: MediaSet) -> None:
    assert [(t.language, t.name, t.default) for t in tiny.text_tracks] == [
        ("en", "English", True),
        ("fr", "Français", False),
    ]
    for track in tiny.text_tracks:
        raw = track.path.read_bytes()
        text = raw.decode("utf-8")  # strict: must be valid UTF-8
        assert text.startswith("WEBVTT")
        cues = vtt_cues(text)
        assert len(cues) >= 3 and len(cues) == track.cue_count
        assert cues[0][0] == 0.0
        assert cues[-1][1] == pytest.approx(track.duration) and track.duration == tiny.duration
        for (_, end, _), (start, _, _) in itertools.pairwise(cues):
            assert start == pytest.approx(end)
        assert all(body.strip() for _, _, body in cues)
    fr = tiny.text_tracks[1].path.read_text(encoding="utf-8")
    assert re.search("[éèàçœ]", fr)


def video_frames(data: bytes, *, limit: int = 0) -> list[tuple[int, bool, str]]:
    """``(pts in 90 kHz, is keyframe, picture type)`` of the video frames of MPEG-TS ``data``,
    as ffmpeg's showinfo reports them with the stream's own timestamps (``-copyts``)."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-copyts", "-f", "mpegts", "-i", "pipe:0",
            "-map", "0:v:0", "-vf", "showinfo", "-f", "null", "-"]  # fmt: skip
    if limit:
        args[-3:-3] = ["-frames:v", str(limit)]
    proc = subprocess.run(args, input=data, capture_output=True, timeout=120, check=False)
    err = proc.stderr.decode("utf-8", "replace")
    found = re.findall(r"n:\s*\d+ pts:\s*(\d+) .*?iskey:(\d) type:(\w)", err)
    assert found, err[-1500:]
    return [(int(pts), key == "1", kind) for pts, key, kind in found]


def test_text_tracks_map_cue_zero_to_the_first_video_pts(tiny: MediaSet) -> None:
    """RFC 8216 3.5: every WebVTT file says which MPEG-TS time its cue time 0 is; that is the
    first video PTS of the first segment (ffmpeg's reading), the same in every rendition."""
    starts = {r.name: video_frames(r.segments[0].path.read_bytes(), limit=1)[0][0]
              for r in tiny.renditions}  # fmt: skip
    assert len(set(starts.values())) == 1, starts
    (first,) = set(starts.values())
    assert first == first_video_pts(tiny.renditions[0].segments[0].path.read_bytes())
    assert 90_000 <= first <= 2 * 90_000  # ffmpeg's MPEG-TS offset, about 1.4 s
    for track in tiny.text_tracks:
        header = track.path.read_text(encoding="utf-8").split("\n\n", 1)[0].splitlines()
        assert header[0] == "WEBVTT"
        assert f"X-TIMESTAMP-MAP=MPEGTS:{first},LOCAL:00:00:00.000" in header[1:]
        assert track.timestamp_map == first


def vmaf(distorted: Path, reference: Path, width: int, height: int) -> float:
    """Mean VMAF (ffmpeg libvmaf, every frame) of ``distorted`` upscaled bicubic to the
    reference size, both from their first frame."""
    graph = (f"[0:v]scale={width}:{height}:flags=bicubic,setpts=PTS-STARTPTS[d];"
             "[1:v]setpts=PTS-STARTPTS[r];[d][r]libvmaf=n_threads=2")  # fmt: skip
    err = run_ffmpeg("-i", str(distorted), "-i", str(reference), "-lavfi", graph, "-f", "null", "-")
    found = re.search(r"VMAF score: ([0-9.]+)", err)
    assert found, err[-1500:]
    return float(found.group(1))


@pytest.mark.slow
def test_renditions_are_encodes_of_the_original_and_score_in_ladder_order(tiny: MediaSet) -> None:
    """Every rung is an encode of the original upload (no drawn label), so VMAF against it
    rises strictly along the ladder, with a spread a rate-quality curve can show."""
    info = run_ffmpeg("-i", str(tiny.original))
    width, height = (int(v) for v in re.search(r", (\d{3,4})x(\d{3,4})", info).groups())
    scores = [vmaf(r.mp4, tiny.original, width, height) for r in tiny.renditions]
    assert all(low < high for low, high in itertools.pairwise(scores)), scores
    assert scores[-1] - scores[0] >= 15, scores
    assert scores[-1] >= 90, scores


# ----------------------------------------------------------------------------- real media


def test_each_segment_decodes_to_its_duration_and_starts_with_a_keyframe(tiny: MediaSet) -> None:
    frame = re.compile(r"n:\s*(\d+) .*?pts_time:(\S+).*?iskey:(\d) type:(\w)")
    samples = re.compile(r"nb_samples:(\d+)")
    for r in tiny.renditions:
        for s in r.segments:
            video = run_ffmpeg(
                "-i", str(s.path), "-map", "0:v:0", "-vf", "showinfo", "-f", "null", "-"
            )
            frames = frame.findall(video)
            assert frames, f"no decoded video frames in {s.path}:\n{video[-1500:]}"
            assert frames[0][0] == "0" and frames[0][2:] == ("1", "I"), (
                f"{s.path} does not start with a keyframe: {frames[0]}"
            )
            assert len(frames) / r.frame_rate == pytest.approx(s.duration, abs=0.1)
            span = float(frames[-1][1]) - float(frames[0][1]) + 1 / r.frame_rate
            assert span == pytest.approx(s.duration, abs=0.1)
            audio = run_ffmpeg(
                "-i", str(s.path), "-map", "0:a:0", "-af", "ashowinfo", "-f", "null", "-"
            )
            decoded = sum(int(n) for n in samples.findall(audio)) / 48000
            assert decoded == pytest.approx(s.duration, abs=0.1), f"audio of {s.path}"


def test_keyframes_only_at_segment_starts(tiny: MediaSet) -> None:
    """Closed GOPs aligned to segments: the static MP4 has keyframes exactly every segment."""
    r = tiny.renditions[0]
    out = run_ffmpeg("-i", str(r.mp4), "-map", "0:v:0", "-vf", "showinfo", "-f", "null", "-")
    keys = [int(n) for n, key in re.findall(r"n:\s*(\d+) .*?iskey:(\d)", out) if key == "1"]
    per_segment = round(TINY.segment_duration * TINY.frame_rate)
    assert keys == list(range(0, round(TINY.duration * TINY.frame_rate), per_segment))


def test_codecs_are_read_from_the_stream(tiny: MediaSet) -> None:
    names = {0x42: "Baseline", 0x4D: "Main", 0x64: "High"}
    for r in tiny.renditions:
        assert re.fullmatch(r"avc1\.[0-9a-f]{6},mp4a\.40\.2", r.codecs), r.codecs
        assert r.codecs == f"{r.video_codec},{r.audio_codec}"
        assert mp4_codecs(r.mp4) == (r.video_codec, r.audio_codec)
        profile_idc = int(r.video_codec[5:7], 16)
        assert profile_idc in (0x4D, 0x64), "expected Main or High profile"
        info = run_ffmpeg("-i", str(r.mp4))
        assert re.search(rf"Video: h264 \({names[profile_idc]}\)", info), info
        assert "Audio: aac (LC)" in info
        level_idc = int(r.video_codec[9:11], 16)
        assert 10 <= level_idc <= 52


def test_ladder_bitrates_are_sane(tiny: MediaSet) -> None:
    for r in tiny.renditions:
        sizes = sum(s.size for s in r.segments)
        assert r.average_bandwidth == round(sizes * 8 / sum(s.duration for s in r.segments))
        assert r.bandwidth == max(round(s.size * 8 / s.duration) for s in r.segments)
        assert r.bandwidth >= r.average_bandwidth
        assert r.bandwidth <= 1.1 * r.average_bandwidth  # near-CBR: no inflated 1st segment
        target = r.video_bitrate_target + r.audio_bitrate_target
        assert 0.8 * target <= r.average_bandwidth <= 1.5 * target
    for low, high in itertools.pairwise(tiny.renditions):
        assert 1.3 <= high.average_bandwidth / low.average_bandwidth <= 2.5, (low, high)


# ----------------------------------------------------------------------------- cache


def _no_ffmpeg(*args: object, **kwargs: object) -> str:
    raise AssertionError("ffmpeg must not run when the media is cached")


def test_second_call_loads_from_cache_without_ffmpeg(
    tiny: MediaSet, generated: tuple[MediaSet, list[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = generated[2]
    before = snapshot(cache)

    monkeypatch.setattr(ffmpeg_mod, "run_ffmpeg", _no_ffmpeg)
    monkeypatch.setattr(ffmpeg_mod, "ffmpeg_exe", _no_ffmpeg)
    monkeypatch.setattr(subprocess, "run", _no_ffmpeg)
    lines: list[str] = []
    again = ensure_media("tiny", cache_dir=cache, progress=lines.append)
    assert again == tiny
    assert not any(line.startswith("encoding") for line in lines)
    assert snapshot(cache) == before


def test_env_var_selects_the_cache(
    tiny: MediaSet, generated: tuple[MediaSet, list[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = generated[2]
    monkeypatch.setenv("HS_NOTEBOOK_CACHE", str(cache))
    monkeypatch.setattr(ffmpeg_mod, "run_ffmpeg", _no_ffmpeg)
    assert cache_root() == cache
    assert ensure_media("tiny") == tiny
    monkeypatch.delenv("HS_NOTEBOOK_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache / "xdg"))
    assert cache_root() == cache / "xdg" / "hs_notebook"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(cache / "home"))
    assert cache_root() == cache / "home" / ".cache" / "hs_notebook"
    assert cache_root(cache / "explicit") == cache / "explicit"


def test_manifest_is_relocatable_and_validated(tiny: MediaSet, tmp_path: Path) -> None:
    manifest = json.loads((tiny.root / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generator_version"] == GENERATOR_VERSION
    assert not any(Path(p).is_absolute() for p in manifest["files"])
    copy = tmp_path / "moved"
    shutil.copytree(tiny.root, copy)
    moved = load_media(copy, TINY)
    assert moved is not None and moved.root == copy
    assert moved.renditions[0].segments[0].path == copy / tiny.renditions[0].segments[
        0
    ].path.relative_to(tiny.root)
    # a truncated segment makes the cached set invalid (it would be regenerated)
    seg = copy / tiny.renditions[1].segments[1].path.relative_to(tiny.root)
    seg.write_bytes(seg.read_bytes()[:188])
    assert load_media(copy, TINY) is None


def _child_script(cache: Path) -> str:
    return (
        "import json, sys\n"
        "from hs_notebook.sandbox.media import ensure_media\n"
        "lines = []\n"
        f"m = ensure_media('tiny', cache_dir={str(cache)!r}, progress=lines.append)\n"
        "print(json.dumps({'root': str(m.root),\n"
        "  'generated': any(l.startswith('encoding') for l in lines),\n"
        "  'manifest': (m.root / 'manifest.json').read_text(encoding='utf-8')}))\n"
    )


@pytest.mark.slow
def test_two_processes_share_one_generation(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _child_script(cache)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert results[0]["root"] == results[1]["root"]
    assert results[0]["manifest"] == results[1]["manifest"]
    assert sorted(r["generated"] for r in results) == [False, True]
    media_root = cache / "media"
    assert sorted(p.name for p in media_root.iterdir()) == [
        f"tiny-v{GENERATOR_VERSION}",
        f"tiny-v{GENERATOR_VERSION}.lock",
    ]
    loaded = load_media(Path(results[0]["root"]), TINY)
    assert loaded is not None and len(loaded.renditions) == 4


@pytest.mark.slow
def test_threads_and_crash_leftovers(tmp_path: Path) -> None:
    """Leftovers of a crashed run are removed; two threads get one generation."""
    cache = tmp_path / "cache"
    final = media_dir("tiny", cache)
    crashed = final.parent / f".{final.name}.tmp-crashed"
    (crashed / "renditions").mkdir(parents=True)
    (crashed / "renditions" / "seg-00000.ts").write_bytes(b"\x47" * 188)
    final.mkdir()
    (final / "half-written.ts").write_bytes(b"junk")  # a final dir without manifest.json

    results: list[MediaSet] = []
    errors: list[BaseException] = []
    generated: list[bool] = []

    def worker() -> None:
        lines: list[str] = []
        try:
            results.append(ensure_media("tiny", cache_dir=cache, progress=lines.append))
            generated.append(any(line.startswith("encoding") for line in lines))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert len(results) == 2 and results[0] == results[1]
    assert sorted(generated) == [False, True]
    assert not crashed.exists()
    assert not (final / "half-written.ts").exists()
    assert sorted(p.name for p in final.parent.iterdir()) == [final.name, f"{final.name}.lock"]
    media = results[0]
    assert all(s.path.is_file() for r in media.renditions for s in r.segments)


# ----------------------------------------------------------------------------- errors


def test_unknown_profile_raises(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match=r"unknown media profile 'huge'.*demo, tiny"):
        ensure_media("huge", cache_dir=tmp_path)
    with pytest.raises(SandboxError):
        media_dir("", tmp_path)
    assert not (tmp_path / "media").exists()


def test_ffmpeg_failure_quotes_stderr() -> None:
    with pytest.raises(SandboxError) as info:
        ffmpeg_mod.run_ffmpeg(
            ["-f", "lavfi", "-i", "no_such_source_xyz", "-f", "null", "-"], what="testing errors"
        )
    message = str(info.value)
    assert "while testing errors" in message
    assert "no_such_source_xyz" in message.split("stderr tail:", 1)[1]


def test_profile_validation() -> None:
    ladder = TINY.ladder
    with pytest.raises(SandboxError, match="frame_rate"):
        Profile("p", 6.0, 2.0, 60, ladder)
    with pytest.raises(SandboxError, match="whole number of segments"):
        Profile("p", 7.0, 2.0, 15, ladder)
    with pytest.raises(SandboxError, match="even"):
        Profile("p", 6.0, 2.0, 15, (LadderStep("odd", 255, 144, 1, 1),))
    with pytest.raises(SandboxError, match="aspect"):
        Profile("p", 6.0, 2.0, 15, (ladder[0], LadderStep("sq", 400, 400, 1, 1)))
    with pytest.raises(SandboxError, match=r"256x144 is outside HeapStream's 360p-2160p"):
        Profile("p", 6.0, 2.0, 15, (LadderStep("144p", 256, 144, 1, 1), *ladder))
    with pytest.raises(SandboxError, match=r"3872x2178 is outside"):
        Profile("p", 6.0, 2.0, 15, (*ladder, LadderStep("big", 3872, 2178, 1, 1)))
    for prof in PROFILES.values():
        assert prof.frame_rate <= 30 and len(prof.ladder) == 4
        assert all(360 <= min(s.width, s.height) <= 2160 for s in prof.ladder), prof.name


# ----------------------------------------------------------------------------- box parsing


def test_codec_strings_from_box_payloads() -> None:
    # AVCDecoderConfigurationRecord: version 1, High (100), constraints 0, level 4.0
    assert avc_codec_from_avcc(bytes([1, 0x64, 0x00, 0x28, 0xFF, 0xE1])) == "avc1.640028"
    assert avc_codec_from_avcc(bytes([1, 0x4D, 0x40, 0x1F])) == "avc1.4d401f"

    # esds FullBox: ES_Descriptor(ES_ID 1) > DecoderConfigDescriptor(0x40) > ASC(AOT 2 / 5)
    def esds(asc: bytes) -> bytes:
        dsi = bytes([0x05, len(asc)]) + asc
        dcd = bytes([0x04, 13 + len(dsi), 0x40, 0x15]) + bytes(11) + dsi
        es = bytes([0x03, 3 + len(dcd), 0x00, 0x01, 0x00]) + dcd
        return bytes(4) + es

    assert mp4a_codec_from_esds(esds(bytes([0x11, 0x90]))) == "mp4a.40.2"
    assert mp4a_codec_from_esds(esds(bytes([0x2B, 0x92, 0x08, 0x00]))) == "mp4a.40.5"
    with pytest.raises(SandboxError):
        avc_codec_from_avcc(b"\x00\x64")
    with pytest.raises(SandboxError):
        mp4a_codec_from_esds(bytes(4) + b"\x04\x02\x40\x15")
