"""Segment probing (PyAV, in memory), the media tables and rules, and the fetch layer.

Media is real: encoded in the test with the imageio-ffmpeg binary, or the sandbox's own
segments.  The independent reading is the ffmpeg binary itself: its ``-i`` stream lines,
its ``trace_headers`` bitstream filter (the SPS fields), its ``framecrc`` packet list and the
CODECS its HLS muxer writes into a master playlist.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pytest

from hs_notebook.bitstream import codecs_differ
from hs_notebook.errors import HeapStreamError, MediaError
from hs_notebook.http import AsyncClient
from hs_notebook.ladder import fetch_ladder
from hs_notebook.media_rules import (
    MEDIA_RULES,
    findings_table,
    run_media_rules,
    timestamp_map,
)
from hs_notebook.media_tables import (
    COLUMNS,
    DeclaredRendition,
    ProbedLadder,
    ProbedSegment,
    TextTrackSample,
    peak_bitrate,
    segment_table,
    variant_overview,
)
from hs_notebook.probe import SegmentProbe, probe_segment
from hs_notebook.probe_fetch import probe_renditions_async, sample_indices, segment_refs

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg(*args: str, cwd: Path | None = None) -> str:
    """Run the ffmpeg binary; its stderr (where -i and trace_headers report)."""
    done = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostdin", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stderr + done.stdout


def _encode_hls(
    out: Path, name: str, *, fmp4: bool = False, video: list[str], seconds: int = 6
) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    seg = ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", f"{name}-init.mp4"]
    _ffmpeg(
        "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=s=640x360:r=25:d={seconds}",
        "-f", "lavfi", "-i", f"sine=f=440:r=48000:d={seconds}",
        *video,
        "-c:a", "aac", "-ac", "2", "-b:a", "64k",
        "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
        *(seg if fmp4 else []),
        "-master_pl_name", f"{name}-master.m3u8",
        "-hls_segment_filename", f"{name}-%d.{'m4s' if fmp4 else 'ts'}",
        f"{name}.m3u8",
        cwd=out,
    )  # fmt: skip
    return out


X264 = ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-g", "25"]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """H.264 High + AAC as MPEG-TS and as fMP4 segments, and open-GOP TS segments whose
    later segments start with keyframe-flagged I frames that are not IDR pictures."""
    out = tmp_path_factory.mktemp("made")
    _encode_hls(out, "ts", video=X264)
    _encode_hls(out, "fm", video=X264, fmp4=True)
    open_gop = [
        "-c:v", "libx264", "-preset", "veryfast", "-bf", "3",
        "-x264-params", "keyint=25:min-keyint=25:open-gop=1:scenecut=0",
    ]  # fmt: skip
    _encode_hls(out, "og", video=open_gop, seconds=4)
    return out


# ------------------------------------------------------------------ ffmpeg's own reading


def _ffmpeg_facts(path: Path) -> dict[str, Any]:
    """What the ffmpeg binary reports for a file: stream lines, SPS fields, packets."""
    info = _ffmpeg("-i", str(path))
    facts: dict[str, Any] = {}
    video = re.search(
        r"Video: (\w+) \(([^)]+)\).*?, (\d+)x(\d+) \[SAR (\d+):(\d+).*?, ([\d.]+) fps", info
    )
    assert video, info
    facts["video_codec"], facts["profile"] = video[1], video[2]
    facts["width"], facts["height"] = int(video[3]), int(video[4])
    facts["sar"] = f"{video[5]}:{video[6]}"
    facts["fps"] = float(video[7])
    audio = re.search(r"Audio: (\w+) \((\w+)\).*?, (\d+) Hz, (\w+)", info)
    assert audio, info
    facts["audio_codec"], facts["audio_profile"] = audio[1], audio[2]
    facts["sample_rate"] = int(audio[3])
    facts["channels"] = {"mono": 1, "stereo": 2, "5.1": 6}[audio[4]]
    trace = _ffmpeg(
        "-i", str(path), "-map", "0:v", "-c", "copy", "-bsf:v", "trace_headers", "-f", "null", "-"
    )  # fmt: skip

    def field(name: str) -> int:
        m = re.search(rf"\s{name}\s+[01]+ = (\d+)", trace)
        assert m, f"{name} not in trace_headers output"
        return int(m[1])

    flags = sum(field(f"constraint_set{i}_flag") << (7 - i) for i in range(6))
    facts["avc"] = f"avc1.{field('profile_idc'):02x}{flags:02x}{field('level_idc'):02x}"
    nal_types = [int(t) for t in re.findall(r"\snal_unit_type\s+[01]+ = (\d+)", trace)]
    first_slice = next(t for t in nal_types if t in (1, 5))
    facts["first_slice_is_idr"] = first_slice == 5
    crc = _ffmpeg(
        "-loglevel", "error", "-copyts", "-i", str(path), "-c", "copy", "-f", "framecrc", "-"
    )
    packets: dict[int, list[tuple[int, int, int, bool]]] = {0: [], 1: []}
    for line in crc.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        stream, _dts, pts, duration, size = (int(p) for p in parts[:5])
        flag = next((p for p in parts if p.startswith("F=")), None)
        key = flag is None or int(flag[2:], 16) & 1 == 1
        packets[stream].append((pts, duration, size, key))
    timebase = dict(re.findall(r"#tb (\d+): 1/(\d+)", crc))
    facts["packets"], facts["timebase"] = packets, {int(k): int(v) for k, v in timebase.items()}
    return facts


def _agrees_with_ffmpeg(probe: SegmentProbe, facts: dict[str, Any], media_bytes: int) -> None:
    assert probe.video_codec == facts["video_codec"] == "h264"
    assert probe.video_profile == facts["profile"]
    assert (probe.width, probe.height, probe.sar) == (facts["width"], facts["height"], facts["sar"])
    assert probe.frame_rate == pytest.approx(facts["fps"])
    assert probe.video_codecs == facts["avc"]
    assert probe.starts_with_idr is facts["first_slice_is_idr"]
    assert probe.audio_codec == facts["audio_codec"]
    assert probe.audio_codecs == {"LC": "mp4a.40.2", "HE-AAC": "mp4a.40.5"}[facts["audio_profile"]]
    assert (probe.audio_sample_rate, probe.audio_channels) == (
        facts["sample_rate"],
        facts["channels"],
    )
    video, audio = facts["packets"][0], facts["packets"][1]
    vtb, atb = facts["timebase"][0], facts["timebase"][1]
    assert probe.frame_count == len(video)
    assert probe.first_pts == pytest.approx(min(p[0] for p in video) / vtb, abs=1e-6)
    assert probe.last_pts == pytest.approx(max(p[0] for p in video) / vtb, abs=1e-6)
    keys = sorted(p[0] / vtb for p in video if p[3])
    assert probe.keyframe_times == pytest.approx(keys, abs=1e-6)
    assert probe.video_bytes == sum(p[2] for p in video)
    assert probe.audio_bytes == sum(p[2] for p in audio)
    assert probe.audio_first_pts == pytest.approx(min(p[0] for p in audio) / atb, abs=1e-6)
    end = max(p[0] + p[1] for p in video) / vtb
    assert probe.duration == pytest.approx(end - probe.first_pts, abs=1e-6)
    assert probe.video_bytes + probe.audio_bytes + probe.other_bytes == probe.size == media_bytes


def _master_codecs(master: Path) -> str:
    m = re.search(r'CODECS="([^"]+)"', master.read_text())
    assert m, master.read_text()
    return m[1]


def test_ts_segments_agree_with_ffmpeg(made: Path) -> None:
    declared = _master_codecs(made / "ts-master.m3u8")  # what ffmpeg's HLS muxer wrote
    for path in sorted(made.glob("ts-*.ts")):
        data = path.read_bytes()
        probe = probe_segment(data)
        assert probe.container == "mpegts"
        _agrees_with_ffmpeg(probe, _ffmpeg_facts(path), len(data))
        assert codecs_differ(declared, probe.codecs or "").kind == "same"
        assert probe.keyframe_count == 2  # a 25-frame GOP in a 2 s segment at 25 fps
        assert probe.max_keyframe_interval == pytest.approx(1.0)
        assert probe.pat_pmt_first is (probe.first_pids[:1] == (0,))


def test_fmp4_segments_with_their_init_agree_with_ffmpeg(made: Path, tmp_path: Path) -> None:
    init = (made / "fm-init.mp4").read_bytes()
    declared = _master_codecs(made / "fm-master.m3u8")
    for path in sorted(made.glob("fm-*.m4s")):
        data = path.read_bytes()
        probe = probe_segment(data, init=init)
        assert probe.container == "mp4"
        assert probe.pat_pmt_first is None
        joined = tmp_path / f"{path.stem}.mp4"  # ffmpeg reads files: give it init + segment
        joined.write_bytes(init + data)
        _agrees_with_ffmpeg(probe, _ffmpeg_facts(joined), len(data))
        assert codecs_differ(declared, probe.codecs or "").kind == "same"


@pytest.mark.slow
def test_sandbox_segments_agree_with_ffmpeg(tiny_media: Any) -> None:
    for rendition in tiny_media.renditions:
        for seg in (rendition.segments[0], rendition.segments[-1]):
            data = seg.path.read_bytes()
            probe = probe_segment(data)
            _agrees_with_ffmpeg(probe, _ffmpeg_facts(seg.path), len(data))
            assert (probe.width, probe.height) == (rendition.width, rendition.height)
            assert probe.frame_rate == pytest.approx(rendition.frame_rate)
            assert codecs_differ(rendition.codecs, probe.codecs or "").kind == "same"
            assert probe.duration == pytest.approx(seg.duration, abs=0.05)


def test_byte_range_slice_of_a_ts_file(made: Path) -> None:
    """A byte-range segment: one segment's bytes cut out of a longer file."""
    first, second = (made / "ts-0.ts").read_bytes(), (made / "ts-1.ts").read_bytes()
    joined = first + second
    probe = probe_segment(joined[len(first) :])
    assert probe == probe_segment(second)


def test_hevc_fmp4_codec_string_agrees_with_ffmpeg(tmp_path: Path) -> None:
    """hvc1 string from the hvcC: as ffmpeg's HLS muxer writes it and as its bitstream
    tracer reads the VPS/SPS; x265's open GOPs start later segments with a CRA, not an IDR."""
    _ffmpeg(
        "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=2",
        "-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1",
        "-x265-params", "log-level=error:keyint=25", "-f", "hls", "-hls_time", "1",
        "-hls_playlist_type", "vod", "-hls_segment_type", "fmp4",
        "-hls_fmp4_init_filename", "hv-init.mp4", "-master_pl_name", "hv-master.m3u8",
        "-hls_segment_filename", "hv-%d.m4s", "hv.m3u8",
        cwd=tmp_path,
    )  # fmt: skip
    init = (tmp_path / "hv-init.mp4").read_bytes()
    first = probe_segment((tmp_path / "hv-0.m4s").read_bytes(), init)
    assert first.video_codecs == _master_codecs(tmp_path / "hv-master.m3u8")
    joined = tmp_path / "hv.mp4"
    joined.write_bytes(init + (tmp_path / "hv-0.m4s").read_bytes())
    trace = _ffmpeg("-i", str(joined), "-map", "0:v", "-c", "copy", "-bsf:v", "trace_headers",
                    "-f", "null", "-")  # fmt: skip

    def field(name: str) -> int:
        m = re.search(rf"\s{name}\s+[01]+ = (\d+)", trace)
        assert m, name
        return int(m[1])

    tier = "H" if field("general_tier_flag") else "L"
    prefix = f"hvc1.{field('general_profile_idc')}"
    assert (first.video_codecs or "").startswith(prefix)
    assert (first.video_codecs or "").split(".")[3] == f"{tier}{field('general_level_idc')}"
    assert (first.width, first.height, first.video_profile) == (320, 180, "Main")
    assert first.starts_with_idr is True
    later = probe_segment((tmp_path / "hv-1.m4s").read_bytes(), init)
    assert later.keyframe_times and later.keyframe_times[0] == later.first_pts
    assert later.first_frame_nal_types[0] == 21  # CRA_NUT
    assert later.starts_with_idr is False


def test_hevc_ts_facts_agree_with_ffprobe(tmp_path: Path) -> None:
    """HEVC in MPEG-TS: no hvcC, so every fact comes from the in-band VPS/SPS and the
    parsers (the probe's stream-info pass runs no video decoder); ffprobe decodes."""
    _ffmpeg(
        "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=352x288:r=25:d=2",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=2",
        "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=25",
        "-c:a", "aac", "-ac", "1", "-f", "mpegts", "hevc.ts",
        cwd=tmp_path,
    )  # fmt: skip
    data = (tmp_path / "hevc.ts").read_bytes()
    probe = probe_segment(data)
    info = _ffmpeg("-i", str(tmp_path / "hevc.ts"))  # ffmpeg decodes to report these
    video = re.search(r"Video: (\w+) \((\w+)\).*?, (\d+)x(\d+)", info)
    audio = re.search(r"Audio: (\w+) .*?, (\d+) Hz, (\w+)", info)
    assert video and audio, info
    assert (probe.video_codec, probe.video_profile) == (video[1], video[2]) == ("hevc", "Main")
    assert (probe.width, probe.height) == (int(video[3]), int(video[4])) == (352, 288)
    assert (probe.video_codecs or "").startswith(("hev1.1.", "hvc1.1."))
    assert probe.frame_rate == pytest.approx(25)
    assert probe.starts_with_idr is True
    assert (probe.audio_codec, probe.audio_sample_rate, audio[3]) == ("aac", 44100, "mono")
    assert probe.audio_channels == 1 and int(audio[2]) == 44100


def test_pts_wrap_inside_a_segment(tmp_path: Path) -> None:
    """A TS segment whose 33-bit PTS wraps half way stays one continuous timeline."""
    wrap = tmp_path / "wrap.ts"
    offset = 95441.5  # 2**33 / 90000 = 95443.72 s; ffmpeg's TS muxer adds 1.4 s
    _ffmpeg("-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=2",
            "-f", "lavfi", "-i", "sine=d=2", "-c:v", "libx264", "-preset", "ultrafast",
            "-c:a", "aac", "-output_ts_offset", str(offset), "-f", "mpegts", str(wrap))  # fmt: skip
    probe = probe_segment(wrap.read_bytes())
    assert probe.first_pts == pytest.approx(offset + 1.4, abs=0.05)
    assert probe.last_pts == pytest.approx(probe.first_pts + 1.96, abs=1e-6)
    assert probe.duration == pytest.approx(2.0)
    assert probe.keyframe_times[0] == probe.first_pts
    assert probe.audio_first_pts == pytest.approx(probe.first_pts, abs=0.05)


# ------------------------------------------------------------------ our errors


def test_empty_garbage_and_truncated_bytes_raise_media_error(made: Path) -> None:
    ts = (made / "ts-1.ts").read_bytes()
    init = (made / "fm-init.mp4").read_bytes()
    m4s = (made / "fm-1.m4s").read_bytes()
    cases: dict[str, tuple[bytes, bytes | None, str]] = {
        "empty": (b"", None, "empty"),
        "garbage": (b"<html>no such segment</html>" * 40, None, "not a media segment"),
        "ts cut mid-packet": (ts[: 188 * 30 + 77], None, "truncated"),
        "ts with a bad sync byte": (ts[:188] + b"\x00" + ts[189:], None, "sync byte"),
        "fmp4 without init": (m4s, None, "init"),
        "fmp4 cut short": (m4s[:5000], init, "truncated"),
        "init that is not mp4": (m4s, b"\x47" * 376, "init segment is not MP4"),
        "empty init": (m4s, b"", "init segment is empty"),
        "sync bytes and noise": (bytes([0x47] + [0x1F] * 187) * 20, None, "not a media segment"),
    }
    for name, (data, init_bytes, words) in cases.items():
        with pytest.raises(MediaError) as caught:
            probe_segment(data, init=init_bytes)
        assert words in str(caught.value), (name, str(caught.value))
        assert isinstance(caught.value, HeapStreamError)
    with pytest.raises(MediaError, match="must be bytes"):
        probe_segment("text")  # type: ignore[arg-type]


def test_a_missing_pyav_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # "import av" now raises ImportError
    with pytest.raises(MediaError, match=re.escape('pip install "hs_notebook[media]"')):
        probe_segment(b"\x47" * 188)


# ------------------------------------------------------------------ IDR starts


def test_a_segment_not_starting_with_an_idr_is_reported(made: Path, tmp_path: Path) -> None:
    clean = probe_segment((made / "og-0.ts").read_bytes())
    assert clean.starts_with_idr is True
    later = probe_segment((made / "og-1.ts").read_bytes())
    # the open-GOP I frame is flagged as a keyframe, yet it is no IDR picture (NAL type 1)
    assert later.keyframe_times[0] == pytest.approx(later.first_pts)
    assert later.starts_with_idr is False
    assert 5 not in later.first_frame_nal_types
    assert _ffmpeg_first_slice_is_idr(made / "og-0.ts", made / "og-1.ts", tmp_path) is False
    assert _ffmpeg_first_slice_is_idr(made / "ts-0.ts", made / "ts-1.ts", tmp_path) is True

    cut = tmp_path / "cut.ts"  # a plain closed-GOP segment cut mid-GOP (stream copy)
    whole = probe_segment((made / "ts-1.ts").read_bytes())
    at = f"{(whole.first_pts or 0) + 0.5:.3f}"  # half way into its first 1 s GOP
    _ffmpeg("-loglevel", "error", "-y", "-copyts", "-i", str(made / "ts-1.ts"), "-ss", at,
            "-copyinkf", "-c", "copy", "-f", "mpegts", str(cut))  # fmt: skip
    mid = probe_segment(cut.read_bytes())
    assert mid.starts_with_idr is False
    assert mid.keyframe_count == 1  # the GOP after the cut
    # its SPS comes only with that later keyframe: the stream facts (read by the parsers,
    # no video decoder in the stream-info pass) are still those of the whole segment,
    # which test_ts_segments_agree_with_ffmpeg checks against ffmpeg
    facts = ("width", "height", "sar", "video_codecs", "video_profile", "video_level",
             "audio_codecs", "audio_sample_rate", "audio_channels")  # fmt: skip
    assert [getattr(mid, f) for f in facts] == [getattr(whole, f) for f in facts]
    assert mid.video_codecs and mid.width == 640 and mid.audio_sample_rate == 48000

    declared = DeclaredRendition("og", extinf=(2.0,) * 2, target_duration=2)
    media = ProbedLadder(
        (declared,),
        tuple(
            ProbedSegment("og", i, "probed", probe_segment((made / f"og-{i}.ts").read_bytes()))
            for i in range(2)
        ),
    )
    hits = [f for f in run_media_rules(media) if f.rule == "media_idr_start"]
    assert [(h.subject, h.severity) for h in hits] == [("og:1", "error")]
    assert "segment(s) 1 do not start with an IDR" in hits[0].message
    table = segment_table(media)
    assert table["starts_with_idr"].tolist() == [True, False]


def _ffmpeg_first_slice_is_idr(before: Path, segment: Path, tmp_path: Path) -> bool:
    """Whether ffmpeg's bitstream tracer sees an IDR slice in the first frame of ``segment``.

    The segment alone carries no SPS (x264 repeats it only before IDR pictures), so ffmpeg
    cannot open it by itself: trace ``before`` + ``segment`` and look at the access unit
    that follows the frames of ``before`` (each access unit starts with an AUD, type 9)."""
    joined = tmp_path / "joined.ts"
    joined.write_bytes(before.read_bytes() + segment.read_bytes())
    frames = len(_ffmpeg_facts(before)["packets"][0])
    trace = _ffmpeg("-i", str(joined), "-map", "0:v", "-c", "copy", "-bsf:v", "trace_headers",
                    "-f", "null", "-")  # fmt: skip
    types = [int(t) for t in re.findall(r"\snal_unit_type\s+[01]+ = (\d+)", trace)]
    units: list[list[int]] = []
    for t in types:  # the extradata's SPS/PPS come first, before any AUD: left out
        if t == 9:
            units.append([])
        if units:
            units[-1].append(t)
    return 5 in units[frames]


# ------------------------------------------------------------------ codecs rule


def _one_rendition(probe: SegmentProbe, codecs: str, **kw: Any) -> ProbedLadder:
    declared = DeclaredRendition("r", codecs=codecs, extinf=(2.0,), target_duration=2, **kw)
    return ProbedLadder((declared,), (ProbedSegment("r", 0, "probed", probe),))


def _rules(media: ProbedLadder, *ids: str) -> list[Any]:
    return [f for f in run_media_rules(media) if f.rule in ids]


def test_a_wrong_codecs_string_fires_the_codecs_rule(made: Path) -> None:
    probe = probe_segment((made / "ts-1.ts").read_bytes())
    video, audio = (probe.codecs or "").split(",")
    level = int(video[-2:], 16)
    ids = ("media_codecs_match", "media_codecs_level_higher")
    assert _rules(_one_rendition(probe, f"{video.upper()},{audio}"), *ids) == []
    baseline = _rules(_one_rendition(probe, f"avc1.42e01e,{audio}"), *ids)
    assert [(f.rule, f.severity, f.measured, f.expected) for f in baseline] == [
        ("media_codecs_match", "error", video, "avc1.42e01e")
    ]
    lower = _rules(_one_rendition(probe, f"{video[:-2]}{level - 1:02x},{audio}"), *ids)
    assert [(f.rule, f.severity) for f in lower] == [("media_codecs_match", "error")]
    assert "lower level" in lower[0].message
    higher = _rules(_one_rendition(probe, f"{video[:-2]}{level + 1:02x},{audio}"), *ids)
    assert [(f.rule, f.severity) for f in higher] == [("media_codecs_level_higher", "warning")]
    he_aac = _rules(_one_rendition(probe, f"{video},mp4a.40.5"), *ids)
    assert [(f.measured, f.expected) for f in he_aac] == [("mp4a.40.2", "mp4a.40.5")]
    no_audio = _rules(_one_rendition(probe, video), *ids)
    assert len(no_audio) == 1 and "lists no audio" in no_audio[0].message


def test_codec_strings_compare_by_meaning() -> None:
    assert codecs_differ("avc1.64001F", "avc1.64001f").kind == "same"
    assert codecs_differ("avc3.64001f", "avc1.64001f").kind == "sample_entry"
    assert codecs_differ("avc1.640028", "avc1.64001f").kind == "level_higher"
    assert codecs_differ("hvc1.1.6.L90.B0", "hvc1.1.6.L93.B0").kind == "level_lower"
    assert codecs_differ("hvc1.1.6.L93.B0.0.0", "hvc1.1.6.L93.b0").kind == "same"
    assert codecs_differ("hvc1.2.4.L93.B0", "hvc1.1.6.L93.B0").kind == "different"


def test_resolution_frame_rate_extinf_channels_and_av_rules(made: Path) -> None:
    probe = probe_segment((made / "ts-0.ts").read_bytes())
    right = _one_rendition(
        probe, probe.codecs or "", width=640, height=360, frame_rate=25.0, audio_channels=2
    )
    quiet = {f.rule for f in run_media_rules(right)} - {"media_ts_pat_pmt"}
    assert quiet == set()
    wrong = ProbedLadder(
        (
            DeclaredRendition(
                "r", codecs=probe.codecs, width=1280, height=720, frame_rate=30.0,
                extinf=(2.5,), target_duration=3, audio_channels=6,
            ),
        ),
        right.segments,
    )  # fmt: skip
    found = {f.rule: f for f in run_media_rules(wrong)}
    assert (found["media_resolution_match"].measured, found["media_resolution_match"].expected) == (
        "640x360",
        "1280x720",
    )
    assert found["media_resolution_match"].severity == "error"
    assert found["media_frame_rate_match"].severity == "warning"
    assert found["media_extinf_match"].subject == "r:0"
    assert found["media_audio_channels"].measured == "2"
    late = replace(probe, audio_first_pts=(probe.first_pts or 0) + 0.2)
    hits = _rules(_one_rendition(late, probe.codecs or ""), "media_av_start")
    assert [(h.subject, h.severity, h.measured) for h in hits] == [
        ("r:0", "warning", "+0.200 s (audio - video)")
    ]


def test_boundaries_aligned_across_renditions(made: Path) -> None:
    ts = [probe_segment((made / f"ts-{i}.ts").read_bytes()) for i in range(3)]
    fm_init = (made / "fm-init.mp4").read_bytes()
    fm = [probe_segment((made / f"fm-{i}.m4s").read_bytes(), fm_init) for i in range(3)]
    renditions = (
        DeclaredRendition("a", extinf=(2.0,) * 3),
        DeclaredRendition("b", extinf=(2.0,) * 3),
    )
    same = ProbedLadder(
        renditions,
        tuple(ProbedSegment(k, i, "probed", ts[i]) for k in ("a", "b") for i in range(3)),
    )
    assert _rules(same, "media_boundaries_aligned") == []
    # the fMP4 copy has other timestamps (no 1.4 s MPEG-TS offset): not aligned with "a"
    shifted = ProbedLadder(
        renditions,
        tuple(ProbedSegment("a", i, "probed", ts[i]) for i in range(3))
        + tuple(ProbedSegment("b", i, "probed", fm[i]) for i in range(3)),
    )
    hits = _rules(shifted, "media_boundaries_aligned")
    assert [(h.subject, h.severity) for h in hits] == [("b:0", "error")]
    assert float(hits[0].expected) == pytest.approx(ts[0].first_pts)


def test_vtt_timestamp_map_rule(made: Path) -> None:
    probe = probe_segment((made / "ts-0.ts").read_bytes())
    start = min(probe.first_pts or 0, probe.audio_first_pts or 0)
    segs = (ProbedSegment("r", 0, "probed", probe),)
    declared = (DeclaredRendition("r", extinf=(2.0,) * 3),)
    cue = "\n\n00:00:01.000 --> 00:00:02.000\nhello\n"

    def hits(vtt: str) -> list[Any]:
        media = ProbedLadder(declared, segs, (TextTrackSample("en", vtt),))
        return _rules(media, "media_vtt_timestamp_map")

    missing = hits("WEBVTT" + cue)
    assert len(missing) == 1 and missing[0].subject == "en:0"
    assert missing[0].expected == f"MPEGTS:{round(start * 90000)},LOCAL:00:00:00.000"
    assert hits(f"WEBVTT\nX-TIMESTAMP-MAP={missing[0].expected}" + cue) == []
    swapped = f"WEBVTT\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:{round(start * 90000)}"
    assert hits(swapped + cue) == []
    off = hits("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:900000,LOCAL:00:00:00.000" + cue)
    assert len(off) == 1 and "off" in off[0].message
    assert timestamp_map("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:90000,LOCAL:00:00:01.500\n") == (
        90000,
        1.5,
    )
    fm_only = ProbedLadder(
        declared,
        (
            ProbedSegment(
                "r",
                0,
                "probed",
                probe_segment(
                    (made / "fm-0.m4s").read_bytes(), (made / "fm-init.mp4").read_bytes()
                ),
            ),
        ),
        (TextTrackSample("en", "WEBVTT" + cue),),
    )
    assert _rules(fm_only, "media_vtt_timestamp_map") == []  # the rule is about MPEG-TS


# ------------------------------------------------------------------ bit rates


def test_peak_bitrate_with_a_short_last_segment() -> None:
    # three 6 s segments at 1 Mbit/s, then a 1 s segment of 250 kB (2 Mbit/s)
    sizes = [750_000, 750_000, 750_000, 250_000]
    durations = [6.0, 6.0, 6.0, 1.0]
    # window [3, 9.5] s: the 1 s segment alone is too short; with its neighbour it is
    # (750000 + 250000) * 8 / 7 s
    assert peak_bitrate(sizes, durations, 6) == round(1_000_000 * 8 / 7)
    assert max(s * 8 / d for s, d in zip(sizes, durations, strict=True)) == 2_000_000
    assert peak_bitrate([250_000], [1.0], 6) is None
    assert peak_bitrate(sizes, durations, 0) is None
    with pytest.raises(HeapStreamError):
        peak_bitrate([1, 2], [1.0], 6)


def test_tables_have_their_documented_columns(made: Path) -> None:
    probes = [probe_segment((made / f"ts-{i}.ts").read_bytes()) for i in range(3)]
    declared = DeclaredRendition(
        "r", bandwidth=10**6, average_bandwidth=9 * 10**5, extinf=(2.0,) * 4, target_duration=2
    )
    media = ProbedLadder(
        (declared,),
        (
            *(ProbedSegment("r", i, "probed", p) for i, p in enumerate(probes)),
            ProbedSegment("r", 3, "failed", error="404", http_status=404),
        ),
    )
    seg = segment_table(media)
    assert list(seg.columns) == list(COLUMNS["segments"])
    assert seg["size"].tolist()[:3] == [p.size for p in probes]
    assert seg["status"].tolist() == ["probed"] * 3 + ["failed"]
    over = variant_overview(media)
    assert list(over.columns) == list(COLUMNS["variants"])
    row = over.iloc[0]
    assert row["peak_bitrate"] == max(round(p.size * 8 / 2.0) for p in probes)
    assert row["average_bitrate"] == round(sum(p.size for p in probes) * 8 / 6.0)
    assert row["peak_diff"] == pytest.approx((row["peak_bitrate"] - 10**6) / 10**4)
    assert (row["probed"], row["failed"], row["processed"]) == (3, 1, pytest.approx(75.0))
    assert row["idr_interval"] == pytest.approx(1.0)
    assert set(findings_table(run_media_rules(media)).columns) == {
        "rule", "severity", "subject", "message", "measured", "expected",
    }  # fmt: skip
    assert len({r.id for r in MEDIA_RULES}) == len(MEDIA_RULES)
    assert all(r.source and r.severity in ("error", "warning", "info") for r in MEDIA_RULES)


# ------------------------------------------------------------------ fetching


def test_sample_indices() -> None:
    assert sample_indices(10, "sample") == [0, 5, 9]
    assert sample_indices(2, "sample") == [0, 1]
    assert sample_indices(0, "sample") == []
    assert sample_indices(4, "full") == [0, 1, 2, 3]
    with pytest.raises(HeapStreamError, match="depth"):
        sample_indices(4, "media")


@pytest.fixture
def ladder_plan(sandbox: Any) -> tuple[Any, list[tuple[DeclaredRendition, Any]]]:
    """The sandbox ladder and its (declared facts, segments table) pairs."""
    ladder = fetch_ladder(
        sandbox.video_id, sandbox.signing_key, sandbox.project_id, sandbox.base_url
    )
    plan = []
    for row in ladder.renditions.to_dict("records"):
        segments = ladder.segments(row["preset_id"])
        plan.append(
            (DeclaredRendition.from_row(row["preset_id"], row, segments["duration"]), segments)
        )
    return ladder, plan


def _probe_all(plan: list[tuple[DeclaredRendition, Any]], **kwargs: Any) -> ProbedLadder:
    """probe_renditions_async on a fresh client (no retries), without a progress bar."""

    async def run() -> ProbedLadder:
        async with AsyncClient(retries=0) as client:
            return await probe_renditions_async(client, plan, progress=False, **kwargs)

    return asyncio.run(run())


def _editable(plan: list[tuple[DeclaredRendition, Any]], i: int) -> tuple[DeclaredRendition, Any]:
    """Rendition ``i``'s declared facts and a copy of its segments table to break."""
    return plan[i][0], plan[i][1].copy()


def test_fetch_and_probe_with_refused_and_missing_segments(
    sandbox: Any, ladder_plan: tuple[Any, list[tuple[DeclaredRendition, Any]]]
) -> None:
    ladder, plan = ladder_plan
    declared, broken = _editable(plan, 1)
    broken.loc[1, "uri"] = broken.loc[1, "uri"].replace("seg-00001", "seg-09999")  # 404
    broken.loc[2, "uri"] = broken.loc[2, "uri"].split("?")[0] + "?token=not.a.token"  # 403
    plan[1] = (declared, broken)
    tracks = {str(t["text_track_id"]): str(t["uri"]) for t in ladder.text_tracks.to_dict("records")}
    vtt_urls = {k: _first_vtt_url(v) for k, v in tracks.items()}

    media = _probe_all(plan, depth="full", concurrency=4, text_tracks=vtt_urls)
    table = segment_table(media)
    keys = [d.rendition for d, _ in plan]
    assert sorted(set(table["rendition"])) == sorted(keys)  # no rendition lost
    bad = table[table["status"] == "failed"]
    assert bad[["rendition", "index", "http_status"]].values.tolist() == [
        [keys[1], 1, 404],
        [keys[1], 2, 403],
    ]
    assert "token=not.a.token" not in " ".join(bad["error"].tolist())
    assert (table["status"] == "probed").sum() == len(table) - 2
    over = variant_overview(media)
    assert over["rendition"].tolist() == keys
    assert over["probed"].tolist()[1] == 1 and over["failed"].tolist()[1] == 2
    readable = [f for f in run_media_rules(media) if f.rule == "media_segment_readable"]
    assert [(f.subject, f.measured) for f in readable] == [
        (f"{keys[1]}:1", "HTTP 404"),
        (f"{keys[1]}:2", "HTTP 403"),
    ]
    assert len(media.text_tracks) == len(tracks)
    assert all(s.vtt.startswith("WEBVTT") for s in media.text_tracks)
    for (d, _), (_, probe) in zip(plan, [media.probed(k)[0] for k in keys], strict=True):
        assert (probe.width, probe.height) == (d.width, d.height)


def _first_vtt_url(playlist_url: str) -> str:
    """The first WebVTT segment URL of a text-track playlist (fetched with httpx)."""
    import httpx

    from hs_notebook.hls import segments_table

    text = httpx.get(playlist_url, timeout=10, trust_env=False).text
    return str(segments_table(text, base_uri=playlist_url)["uri"].iloc[0])


def test_sample_depth_and_encrypted_segments(
    sandbox: Any, ladder_plan: tuple[Any, list[tuple[DeclaredRendition, Any]]]
) -> None:
    plan = ladder_plan[1]
    declared, locked = _editable(plan, 0)
    segments = plan[0][1]
    locked["key_method"] = "AES-128"
    locked.loc[0, "key_method"] = "NONE"
    sandbox.clear_requests()

    media = _probe_all([(declared, locked), *plan[1:]], depth="sample")
    n = len(segments)
    expected = sorted({0, n // 2, n - 1})
    rows = [s for s in media.segments if s.rendition == declared.rendition]
    assert [(s.index, s.status) for s in rows] == [
        (i, "probed" if i == 0 else "encrypted") for i in expected
    ]
    fetched = [r.path for r in sandbox.requests if declared.rendition in r.path]
    assert not any(f"seg-{i:05d}" in p for p in fetched for i in expected[1:])
    info = [f for f in run_media_rules(media) if f.rule == "media_encrypted_skipped"]
    assert [(f.severity, f.subject) for f in info] == [
        ("info", f"{declared.rendition}:{expected[1]}")
    ]
    assert len(segment_refs(segments)) == n


def test_downloads_keep_their_concurrency_while_probes_run(
    sandbox: Any, ladder_plan: tuple[Any, list[tuple[DeclaredRendition, Any]]]
) -> None:
    """At most ``concurrency`` segment downloads at a time, and the probes of the segments
    already in do not hold those slots: a download starts while a probe runs; at most
    ``2 * concurrency`` segments are in hand (downloading, waiting or probing).  The client
    and the probe are the real ones, wrapped to count; the probe is slowed down (a sleep
    before it) so that probing takes longer than a loopback download, as it can."""

    from hs_notebook import probe_fetch

    plan = ladder_plan[1]
    segments = sum(len(s) for _, s in plan)
    state = {"downloading": 0, "most": 0, "probing": 0, "in_hand": 0, "held": 0, "beside": 0}
    lock = threading.Lock()

    class Counting(AsyncClient):  # the real client, counting its downloads in flight
        async def fetch(self, url: str, **kwargs: Any) -> Any:
            with lock:
                state["downloading"] += 1
                state["in_hand"] += 1
                state["most"] = max(state["most"], state["downloading"])
                state["held"] = max(state["held"], state["in_hand"])
                if state["probing"]:  # downloads in flight while a probe runs
                    state["beside"] = max(state["beside"], state["downloading"])
            try:
                return await super().fetch(url, **kwargs)
            finally:
                with lock:
                    state["downloading"] -= 1

    real = probe_fetch.probe_segment

    def probing(data: bytes, init: bytes | None = None) -> Any:  # the real probe, slowed
        with lock:
            state["probing"] += 1
        try:
            time.sleep(0.05)  # a probe slower than a download on loopback
            return real(data, init)
        finally:
            with lock:
                state["probing"] -= 1
                state["in_hand"] -= 1

    async def run() -> ProbedLadder:
        async with Counting(retries=0) as client:
            return await probe_renditions_async(
                client, plan, depth="full", concurrency=2, progress=False
            )

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(probe_fetch, "probe_segment", probing)
        media = asyncio.run(run())
    assert sum(s.status == "probed" for s in media.segments) == segments
    assert state["most"] == 2  # the concurrency, reached and never passed
    assert state["held"] <= 4
    assert state["beside"] == 2  # a probe running holds no download slot
