"""Media QA against third-party ladders: HLS packaged the way other tools package it
(FFmpeg's own ``-f hls`` muxer, Apple-style packed audio), served by a plain static HTTP
server on 127.0.0.1 and inspected with ``fetch_ladder_url`` (no tokens).  Good ladders
must pass the media rules without errors or warnings; the probe's facts must agree with
what the ffmpeg binary itself reports for the same bytes.

Each ladder is a few seconds of lavfi test pattern, encoded once per module."""

from __future__ import annotations

import functools
import http.server
import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import pandas as pd
import pytest
from _loopback import LoopbackServer

import hs_notebook as hs
from hs_notebook.bitstream import packed_audio
from hs_notebook.errors import MediaError
from hs_notebook.ladder import fetch_ladder_url
from hs_notebook.qa import qa

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
_HLS = ("-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod")


def _ffmpeg(cwd: Path, *args: str) -> None:
    cwd.mkdir(parents=True, exist_ok=True)
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], cwd=cwd, check=True, timeout=120)


def _sources(seconds: int = 3, rate: str = "30", size: str = "320x180") -> tuple[str, ...]:
    return (
        *("-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"),
        *("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"),
    )


def _x264(gop: int) -> tuple[str, ...]:
    """H.264 with B-frames, closed GOPs of ``gop`` frames, cut on them."""
    return (
        *("-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-x264-params", "bframes=2"),
        *("-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0"),
    )


class _StaticFiles(http.server.SimpleHTTPRequestHandler):
    """A static file server that honours ``Range: bytes=a-b`` as CDNs do."""

    root = "."

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=self.root, **kwargs)

    def log_message(self, *args: Any) -> None:
        pass

    def send_head(self) -> Any:
        wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
        if not wanted:
            return super().send_head()
        data = Path(self.translate_path(self.path)).read_bytes()
        start = int(wanted[1])
        end = int(wanted[2]) if wanted[2] else len(data) - 1
        body = data[start : end + 1]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("thirdparty")


@pytest.fixture(scope="module")
def origin(corpus: Path) -> Iterator[str]:
    handler = type("Files", (_StaticFiles,), {"root": str(corpus)})
    server = LoopbackServer(handler)
    yield server.base_url
    server.close()


def _qa_media(url: str) -> tuple[pd.DataFrame, hs.Ladder]:
    """The media rules' warnings and errors for the ladder at ``url`` (probe="full"),
    and the ladder (its probe kept)."""
    ladder = fetch_ladder_url(url)
    report = qa(ladder, depth="media", probe="full", measure=False, progress=False)
    table = report.table
    media = table["rule"].str.startswith("media_") & table["severity"].isin(["error", "warning"])
    return table[media.to_numpy(dtype=bool)], ladder


def _media_findings(url: str) -> pd.DataFrame:
    return _qa_media(url)[0]


def _ffmpeg_report(data: bytes, tmp: Path) -> str:
    """What ``ffmpeg -i`` prints about these bytes (its stream lines and start)."""
    path = tmp / "probe.bin"
    path.write_bytes(data)
    run = subprocess.run([FFMPEG, "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return run.stderr


# ------------------------------------------------------------------ ladders


@functools.cache
def _alt_audio(root: Path) -> str:
    """A video-only variant with AAC and AC-3 renditions in an AUDIO group (FFmpeg's
    ``agroup``); its CODECS lists all three formats, as RFC 8216 4.3.4.2 asks."""
    _ffmpeg(
        root / "alt",
        *_sources(),
        *("-map", "0:v", "-map", "1:a", "-map", "1:a", *_x264(30)),
        *("-c:a:0", "aac", "-c:a:1", "ac3", *_HLS, "-master_pl_name", "master.m3u8"),
        *("-var_stream_map", "a:0,agroup:aud,default:yes a:1,agroup:aud v:0,agroup:aud"),
        *("-hls_segment_filename", "s%v_%03d.ts", "v%v.m3u8"),
    )
    return "alt/master.m3u8"


@functools.cache
def _rate(root: Path, rate: str) -> str:
    """One muxed TS rendition at ``rate`` fps with AAC audio (48 kHz, one frame of
    encoder priming before the video's first frame)."""
    name = rate.replace("/", "_")
    _ffmpeg(
        root / name,
        *_sources(rate=rate),
        *_x264(60),
        *("-c:a", "aac", *_HLS, "-master_pl_name", "master.m3u8"),
        *("-hls_segment_filename", "s_%03d.ts", "v.m3u8"),
    )
    return f"{name}/master.m3u8"


_PRIV_OWNER = b"com.apple.streaming.transportStreamTimestamp\x00"


def _id3_timestamp(pts: int) -> bytes:
    """An ID3v2.4 tag with the transportStreamTimestamp PRIV frame (RFC 8216 3.4)."""
    body = _PRIV_OWNER + pts.to_bytes(8, "big")
    frame = b"PRIV" + len(body).to_bytes(4, "big") + b"\x00\x00" + body
    size = bytes((len(frame) >> shift) & 0x7F for shift in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + size + frame


def _adts_frames(data: bytes) -> list[bytes]:
    frames, pos = [], 0
    while pos + 7 <= len(data):
        length = ((data[pos + 3] & 3) << 11) | (data[pos + 4] << 3) | (data[pos + 5] >> 5)
        frames.append(data[pos : pos + length])
        pos += length
    return frames


#: First PTS (90 kHz) of the packed audio: 10 s, as Apple's segmenter starts.
_PACKED_START = 900000


@functools.cache
def _packed(root: Path) -> str:
    """Packed audio as Apple's tools write it: ID3 PRIV timestamp + ADTS frames, 1 s
    segments (47 frames at 48 kHz) and a last one of a single frame; an audio-only
    variant, and the same playlist as the AUDIO group of a video-only TS variant."""
    where = root / "packed"
    sine = ("-f", "lavfi", "-i", "sine=sample_rate=48000:duration=2")
    _ffmpeg(where, *sine, "-c:a", "aac", "-f", "adts", "all.aac")
    frames = _adts_frames((where / "all.aac").read_bytes())
    cuts = [frames[:47], frames[47:94], frames[94:]]
    assert len(cuts[2]) == 1, "the last packed segment should hold one ADTS frame"
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", "#EXT-X-PLAYLIST-TYPE:VOD"]
    done = 0
    for i, cut in enumerate(cuts):
        pts = _PACKED_START + done * 1024 * 90000 // 48000
        (where / f"a{i}.aac").write_bytes(_id3_timestamp(pts) + b"".join(cut))
        lines += [f"#EXTINF:{len(cut) * 1024 / 48000:.5f},", f"a{i}.aac"]
        done += len(cut)
    (where / "audio.m3u8").write_text("\n".join([*lines, "#EXT-X-ENDLIST", ""]))
    _ffmpeg(
        where,
        *_sources(seconds=2),
        *("-map", "0:v", *_x264(30), "-output_ts_offset", "10", *_HLS),
        *("-master_pl_name", "video_master.m3u8", "-var_stream_map", "v:0"),
        *("-hls_segment_filename", "v_%03d.ts", "video.m3u8"),
    )
    # the video's CODECS as FFmpeg's own master playlist writes it
    video = re.search(r'CODECS="([^"]+)"', (where / "video_master.m3u8").read_text())
    assert video, "FFmpeg wrote no CODECS for the video"
    (where / "master.m3u8").write_text(
        "\n".join(
            [
                "#EXTM3U",
                '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",DEFAULT=YES,URI="audio.m3u8"',
                "#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=320x180,FRAME-RATE=30.000,"
                f'CODECS="{video[1]},mp4a.40.2",AUDIO="a"',
                "video.m3u8",
                '#EXT-X-STREAM-INF:BANDWIDTH=200000,CODECS="mp4a.40.2"',
                "audio.m3u8",
                "",
            ]
        )
    )
    return "packed/master.m3u8"


# ------------------------------------------------------------------ defects found


def test_codecs_of_an_audio_group_need_not_be_in_the_video_segments(
    corpus: Path, origin: str, tmp_path: Path
) -> None:
    """RFC 8216 4.3.4.2: a variant's CODECS lists the formats of its AUDIO group's
    renditions too; when those have playlists of their own, the variant's segments are
    video only.  media_codecs_match used to call that an error."""
    path = _alt_audio(corpus)
    master = (corpus / path).read_text()
    assert re.search(r'CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2,ac-3"', master), master
    found = _media_findings(f"{origin}/{path}")
    assert found.empty, found.to_dict("records")
    # the group's AC-3 playlist: the probe reads what ffmpeg reads
    ac3 = (corpus / "alt" / "s1_000.ts").read_bytes()
    probe = hs.probe_segment(ac3)
    assert (probe.audio_codecs, probe.video_codec) == ("ac-3", None)
    said = _ffmpeg_report(ac3, tmp_path)
    assert re.search(rf"Audio: ac3 .*{probe.audio_sample_rate} Hz, mono", said), said
    start = float(re.search(r"start: ([\d.]+)", said)[1])  # type: ignore[index]
    assert probe.first_pts == pytest.approx(start, abs=1e-5)


def test_the_variants_own_audio_must_still_match_its_codecs(corpus: Path) -> None:
    """The fix above is only for audio in separate playlists: segments that carry no
    audio while CODECS names some, with no AUDIO group, are still an error."""
    from hs_notebook.media_rules import run_media_rules
    from hs_notebook.media_tables import DeclaredRendition, ProbedLadder, ProbedSegment

    _alt_audio(corpus)
    probe = hs.probe_segment((corpus / "alt" / "s2_000.ts").read_bytes())
    assert probe.audio_codec is None and probe.video_codec == "h264"
    codecs = f"{probe.video_codecs},mp4a.40.2"
    seg = ProbedSegment("v", 0, "probed", probe)
    for separate, expected in ((False, ["media_codecs_match"]), (True, [])):
        declared = DeclaredRendition("v", codecs=codecs, extinf=(1.0,), audio_playlists=separate)
        found = run_media_rules(ProbedLadder((declared,), (seg,)))
        assert [f.rule for f in found if f.severity == "error"] == expected


@pytest.mark.parametrize("rate", ["50", "60000/1001"])
def test_aac_priming_is_not_an_av_start_gap_at_high_frame_rates(
    corpus: Path, origin: str, rate: str
) -> None:
    """AAC's one frame of priming (1024 samples, 21.3 ms at 48 kHz) puts the audio that
    far before the video: more than one frame at 50 or 59.94 fps.  media_av_start used
    to warn on every such FFmpeg ladder."""
    path = _rate(corpus, rate)
    segment = (corpus / path).parent / "s_000.ts"
    probe = hs.probe_segment(segment.read_bytes())
    assert probe.audio_frame_duration == pytest.approx(1024 / 48000)
    assert probe.first_pts is not None and probe.audio_first_pts is not None
    gap = probe.first_pts - probe.audio_first_pts
    assert 1 / probe.frame_rate < gap <= 1024 / 48000 + 1e-6  # type: ignore[operator]
    found = _media_findings(f"{origin}/{path}")
    assert found.empty, found.to_dict("records")


def test_audio_starting_late_is_still_an_av_start_warning(corpus: Path, origin: str) -> None:
    """The priming slack is one audio frame, no more: audio 100 ms late still warns."""
    where = corpus / "late"
    _ffmpeg(
        where,
        *_sources(rate="50")[:4],
        *("-itsoffset", "0.1", *_sources(rate="50")[4:], *_x264(50)),
        *("-c:a", "aac", *_HLS, "-master_pl_name", "master.m3u8"),
        *("-hls_segment_filename", "s_%03d.ts", "v.m3u8"),
    )
    found = _media_findings(f"{origin}/late/master.m3u8")
    assert list(found["rule"]) == ["media_av_start"], found.to_dict("records")
    assert found["measured"].iloc[0].startswith("+0.0")  # audio after video


def test_packed_audio_segments_are_probed_with_their_id3_timestamps(
    corpus: Path, origin: str
) -> None:
    """Packed audio (RFC 8216 3.4): the last segment of one ADTS frame used to be
    "not a media segment PyAV can read" (FFmpeg's format probe scores it too low), and
    every segment's first PTS was 0 (the demuxer's) instead of its ID3 PRIV timestamp."""
    path = _packed(corpus)
    starts = []
    for i in range(3):
        data = (corpus / "packed" / f"a{i}.aac").read_bytes()
        kind, stamp = packed_audio(data) or ("", None)
        probe = hs.probe_segment(data)
        assert (kind, probe.container, probe.audio_codecs) == ("aac", "aac", "mp4a.40.2")
        assert probe.first_pts == pytest.approx(stamp / 90000)  # type: ignore[operator]
        assert probe.audio_sample_rate == 48000 and probe.audio_channels == 1
        starts.append(probe.first_pts)
    assert starts[0] == pytest.approx(_PACKED_START / 90000)
    last = hs.probe_segment((corpus / "packed" / "a2.aac").read_bytes())
    assert last.duration == pytest.approx(1024 / 48000)
    found = _media_findings(f"{origin}/{path}")
    assert found.empty, found.to_dict("records")


def test_packed_audio_is_recognised_only_after_id3() -> None:
    assert packed_audio(b"\xff\xf1\x50\x80\x02\x1f\xfc") is None  # bare ADTS: FFmpeg's job
    assert packed_audio(_id3_timestamp(5) + b"\x0b\x77\x00\x00\x00\x40") == ("ac3", 5)
    assert packed_audio(_id3_timestamp(5) + b"\x0b\x77\x00\x00\x00\x80") == ("eac3", 5)
    assert packed_audio(_id3_timestamp(7) + b"\xff\xfb\x90\x00\x00\x00") == ("mp3", 7)
    assert packed_audio(_id3_timestamp(7) + b"GARBAGE") is None


def test_junk_after_id3_is_not_packed_audio_and_raises_media_error() -> None:
    """A sync word alone is not a frame: an ADTS header whose frame runs past the data, an
    AC-3 sync word before junk (reserved fscod and frame size code) and an MPEG audio sync
    before junk (bitrate index 15) are refused, and probing them raises our error."""
    adts = bytes([0xFF, 0xF1, 0x50, 0x80, 400 >> 3, ((400 & 7) << 5) | 0x1F, 0xFC])
    cases = {
        "truncated ADTS": _id3_timestamp(90000) + adts + bytes(13),
        "AC-3 sync, junk": _id3_timestamp(90000) + b"\x0b\x77" + b"\xff" * 40,
        "MPEG sync, junk": _id3_timestamp(90000) + b"\xff\xff" + b"\xff" * 300,
        "ID3 only": _id3_timestamp(90000),
    }
    for what, data in cases.items():
        assert packed_audio(data) is None, what
        with pytest.raises(MediaError):
            hs.probe_segment(data)
    whole = adts[:3] + bytes([0x80, 20 >> 3, ((20 & 7) << 5) | 0x1F, 0xFC]) + bytes(13)
    assert packed_audio(_id3_timestamp(9) + whole) == ("aac", 9)  # a whole 20-byte frame


# ------------------------------------------------------------------ good ladders stay quiet

_MASTER = ("-master_pl_name", "master.m3u8")
_TWO = (
    *("-filter_complex", "[0:v]split=2[a][b];[b]scale=256:144[c];[1:a]asplit=2[x][y]"),
    *("-map", "[a]", "-map", "[x]", "-map", "[c]", "-map", "[y]"),
    *("-var_stream_map", "v:0,a:0 v:1,a:1"),
)
_FMP4 = ("-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init_%v.mp4")
_X265 = (
    *("-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1"),
    *("-x265-params", "keyint=30:min-keyint=30:scenecut=0:open-gop=0:log-level=error"),
)
#: One H.264 + AAC stream in a single file, addressed by byte ranges.
_SINGLE_FILE = (
    *("-map", "0:v", "-map", "1:a", *_x264(30), "-c:a", "aac", *_HLS),
    *("-hls_flags", "single_file"),
)
#: FFmpeg's hls muxer as packagers use it: name -> its arguments after the sources.
GOOD: dict[str, tuple[str, ...]] = {
    "ts_two_renditions": (
        *_TWO,
        *_x264(30),
        "-c:a",
        "aac",
        *_HLS,
        *_MASTER,
        "-hls_segment_filename",
        "v%v_%03d.ts",
        "v%v.m3u8",
    ),
    "fmp4_two_renditions": (
        *_TWO,
        *_x264(30),
        "-c:a",
        "aac",
        *_HLS,
        *_FMP4,
        *_MASTER,
        "-hls_segment_filename",
        "v%v_%03d.m4s",
        "v%v.m3u8",
    ),
    "ts_single_file": (*_SINGLE_FILE, *_MASTER, "-var_stream_map", "v:0,a:0", "v%v.m3u8"),
    "fmp4_single_file": (
        *_SINGLE_FILE,
        "-hls_segment_type",
        "fmp4",
        *_MASTER,
        "-var_stream_map",
        "v:0,a:0",
        "v%v.m3u8",
    ),
    "hevc_main10_fmp4": (
        "-map",
        "0:v",
        "-map",
        "1:a",
        *_X265,
        "-pix_fmt",
        "yuv420p10le",
        "-c:a",
        "aac",
        *_HLS,
        *_FMP4,
        *_MASTER,
        "-var_stream_map",
        "v:0,a:0",
        "-hls_segment_filename",
        "s%v_%03d.m4s",
        "v%v.m3u8",
    ),
    "ts_mp3_23.976": (
        "-map",
        "0:v",
        "-map",
        "1:a",
        *_x264(24),
        "-c:a",
        "libmp3lame",
        *_HLS,
        *_MASTER,
        "-var_stream_map",
        "v:0,a:0",
        "-hls_segment_filename",
        "s%v_%03d.ts",
        "v%v.m3u8",
    ),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_ffmpeg_ladders_have_no_media_findings(corpus: Path, origin: str, name: str) -> None:
    rate = "24000/1001" if "23.976" in name else "30"
    _ffmpeg(corpus / name, *_sources(rate=rate), *GOOD[name])
    found, ladder = _qa_media(f"{origin}/{name}/master.m3u8")
    assert found.empty, found.to_dict("records")
    # what the probe read agrees with what FFmpeg wrote in its master playlist
    assert ladder.probed is not None
    overview = ladder.probed.variant_overview()
    master = (corpus / name / "master.m3u8").read_text()
    declared = re.findall(r'CODECS="([^"]+)"', master)
    assert sorted(overview["codecs"]) == sorted(declared)
    assert (overview["probed"] > 0).all()


def test_mp3_in_mpegts_is_named_by_its_codec_not_its_decoder(corpus: Path, tmp_path: Path) -> None:
    """FFmpeg decodes MP3 with ``mp3float``: the probe used to report that name and no
    codec string, so CODECS of an MP3 rendition (``mp4a.40.34``) was never checked."""
    from hs_notebook.media_rules import run_media_rules
    from hs_notebook.media_tables import DeclaredRendition, ProbedLadder, ProbedSegment

    _ffmpeg(corpus / "ts_mp3_23.976", *_sources(rate="24000/1001"), *GOOD["ts_mp3_23.976"])
    data = (corpus / "ts_mp3_23.976" / "s0_000.ts").read_bytes()
    probe = hs.probe_segment(data)
    said = _ffmpeg_report(data, tmp_path)
    assert re.search(r"Audio: mp3 .* 48000 Hz, mono", said), said
    assert (probe.audio_codec, probe.audio_codecs) == ("mp3", "mp4a.40.34")
    assert probe.audio_frame_duration == pytest.approx(1152 / 48000)
    wrong = DeclaredRendition("r", codecs=f"{probe.video_codecs},mp4a.40.2", extinf=(1.0,))
    found = run_media_rules(ProbedLadder((wrong,), (ProbedSegment("r", 0, "probed", probe),)))
    assert [f.rule for f in found if f.severity == "error"] == ["media_codecs_match"]
