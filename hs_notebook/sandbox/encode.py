"""The ffmpeg encode steps of the sandbox media: renditions, storyboard, poster, original.

Each rendition is encoded straight into HLS MPEG-TS segments (closed GOPs aligned to the
segment starts, near-CBR so the measured bitrates step sanely) and remuxed into a faststart
MP4; RFC 6381 codec strings are read from the real ``avcC`` / ``esds`` boxes, never
hard-coded.  The storyboard is sprite JPEGs made with ffmpeg's ``tile`` filter plus the
exact tile geometry per cue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from hs_notebook.errors import SandboxError
from hs_notebook.sandbox import ffmpeg
from hs_notebook.sandbox._media_mp4 import mp4_codecs
from hs_notebook.sandbox.mediaset import RenditionMedia, SegmentFile, StoryboardCue, StoryboardMedia
from hs_notebook.sandbox.profiles import LadderStep, Profile

__all__ = [
    "AUDIO_RATE",
    "Tweak",
    "encode_original",
    "encode_renditions",
    "extract_poster",
    "make_storyboard",
    "source_graph",
]

#: Audio sample rate of every encode (Hz).
AUDIO_RATE = 48000
#: x264 constant rate factor of the original upload (a high-quality "mezzanine").
ORIGINAL_CRF = 18
#: Audio bitrate of the original upload (bits/s).
ORIGINAL_AUDIO_BITRATE = 192_000
_FRACTAL_SPEED = 120.0  # pixels per second the fractal panel scrolls, at 1920 wide


@dataclass(frozen=True)
class Tweak:
    """How one rendition's encode departs from a clean one (the sandbox's media defects).

    ``keyframe_offset`` (seconds) puts the keyframes at ``0, offset, offset + segment, ...``
    instead of every segment start; ``split_by_time`` cuts segments at exact segment times
    whether or not a keyframe is there (so they may start on a P frame); ``qp_min`` holds
    x264's quantiser at or above that value, starving the picture while the CBR filler keeps
    the bitrate at its target.
    """

    keyframe_offset: float = 0.0
    split_by_time: bool = False
    qp_min: int = 0


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def source_graph(prof: Profile, width: int, height: int) -> str:
    """The synthetic picture as an ffmpeg ``-filter_complex`` graph ending in ``[v]``.

    ``testsrc2`` (moving colour pattern, a running timecode and frame counter) under a panel
    two thirds of the frame wide showing a Mandelbrot fractal that scrolls steadily: fine
    detail at every scale, so a rendition loses visibly more the smaller it is, and motion
    that an encoder can follow, so the top rung looks close to the original.  The fractal is
    rendered once and scrolled, which keeps generation cheap.
    """
    fps = prof.frame_rate
    pw, ph = _even(width * 2 / 3), _even(height * 2 / 3)
    dx = max(1, round(_FRACTAL_SPEED * width / 1920 / fps))  # whole pixels per frame
    dy = max(1, round(dx / 3))
    margin = _even(width / 32)
    # everything in yuv420p, the fractal converted once before it is looped: 2.5x cheaper
    # than letting overlay negotiate RGB
    return (
        f"testsrc2=size={width}x{height}:rate={fps},format=yuv420p[bg];"
        f"mandelbrot=size={pw}x{ph}:rate={fps}:maxiter=256:start_scale=1.5:end_scale=1.5:"
        "start_x=-0.75:start_y=0.1,trim=end_frame=1,format=yuv420p,loop=loop=-1:size=1,"
        f"setpts=N/{fps}/TB,scroll=horizontal={dx / pw:.9f}:vertical={dy / ph:.9f}[m];"
        f"[bg][m]overlay=x=W-w-{margin}:y=H-h-{margin}:shortest=1:format=yuv420,"
        "format=yuv420p[v]"
    )


def encode_original(prof: Profile, width: int, height: int, out: Path) -> Path:
    """Encode the "original upload" MP4 ``out``: the synthetic source, once, at the top size.

    A high-quality encode (x264 CRF :data:`ORIGINAL_CRF`, 2 s GOPs, 192k AAC), like a camera
    or editor export: every rendition is then encoded from this file, so scores measured
    against it mean what they say.
    """
    d = f"{prof.duration:g}"
    fps = prof.frame_rate
    ffmpeg.run_ffmpeg(
        ["-filter_complex", source_graph(prof, width, height),
         "-f", "lavfi", "-i",
         f"sine=frequency=440:beep_factor=4:sample_rate={AUDIO_RATE}:duration={d}",
         "-map", "[v]", "-map", "0:a:0", "-t", d,
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", str(ORIGINAL_CRF),
         "-pix_fmt", "yuv420p", "-r", str(fps), "-g", str(fps * 2),
         "-c:a", "aac", "-b:a", str(ORIGINAL_AUDIO_BITRATE), "-ac", "2", "-ar", str(AUDIO_RATE),
         "-movflags", "+faststart", out.name],
        what="encoding the original upload",
        cwd=out.parent,
    )  # fmt: skip
    return out


def _keyframes(prof: Profile, tweak: Tweak) -> str:
    seg = f"{prof.segment_duration:g}"
    if not tweak.keyframe_offset:
        return f"expr:gte(t,n_forced*{seg})"
    off = f"{tweak.keyframe_offset:g}"
    return f"expr:if(eq(n,0),1,gte(t,(n_forced-1)*{seg}+{off}))"


def _output_args(prof: Profile, step: LadderStep, label: str, tweak: Tweak) -> list[str]:
    """The encoder and HLS muxer arguments of one rendition, writing ``<name>/seg-*.ts``."""
    gop = prof.frames_per_segment
    vb, ab = str(step.video_bitrate), str(step.audio_bitrate)
    # ultrafast for speed, but with CABAC and 8x8 transforms so x264 signals High profile
    # (x264 reports the lowest profile its features need), and quarter-pixel motion search
    # (subme=2): the low rungs then lose less to blocking, so the rate-quality curve of the
    # ladder is concave (every rung on its upper convex hull).  nal-hrd=cbr + minrate=maxrate
    # pads with filler data, so the measured bitrates follow the targets; vbv-init=0.5
    # starts the buffer half full: x264's default (0.9) lets the first segment spend the
    # extra buffer and measure ~13 % above the rest with 2 s segments.
    params = (
        f"nal-hrd=cbr:vbv-init=0.5:force-cfr=1:cabac=1:8x8dct=1:"
        f"keyint={gop}:min-keyint={gop}:scenecut=0:subme=2"
    )
    if tweak.qp_min:
        params += f":qpmin={tweak.qp_min}"
    flags = ["-hls_flags", "split_by_time"] if tweak.split_by_time else []
    return [
        "-map", label, "-map", "0:a:0",
        "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-r", str(prof.frame_rate), "-g", str(gop), "-keyint_min", str(gop),
        "-sc_threshold", "0", "-flags", "+cgop",
        "-force_key_frames", _keyframes(prof, tweak),
        "-b:v", vb, "-minrate", vb, "-maxrate", vb, "-bufsize", vb, "-x264-params", params,
        "-c:a", "aac", "-profile:a", "aac_low", "-b:a", ab, "-ac", "2", "-ar", str(AUDIO_RATE),
        "-f", "hls", "-hls_time", f"{prof.segment_duration:g}", "-hls_list_size", "0",
        "-hls_playlist_type", "vod", "-hls_segment_type", "mpegts", *flags,
        "-hls_segment_filename", f"{step.name}/seg-%05d.ts", f"{step.name}/ffmpeg.m3u8",
    ]  # fmt: skip


def _parse_extinf(playlist: Path) -> list[tuple[str, float]]:
    """``(segment file name, EXTINF duration)`` pairs from the playlist ffmpeg wrote."""
    pairs: list[tuple[str, float]] = []
    duration: float | None = None
    for line in playlist.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            pairs.append((Path(line).name, duration))
            duration = None
    return pairs


def encode_renditions(
    prof: Profile,
    steps: Sequence[LadderStep],
    original: Path,
    out: Path,
    tweaks: Mapping[str, Tweak] | None = None,
) -> list[RenditionMedia]:
    """Encode ``steps`` from the ``original`` upload into ``out/<name>/``, in one ffmpeg run.

    The original is decoded once, scaled (bicubic) to each rung's size and encoded straight
    into HLS MPEG-TS segments, closed GOPs aligned to the segment starts (unless ``tweaks``
    names the rung); each rendition is then remuxed into a faststart MP4 and its RFC 6381
    codec string read from the MP4's boxes.
    """
    tweaks = tweaks or {}
    n = len(steps)
    scales = ";".join(
        f"[s{i}]scale={s.width}:{s.height}:flags=bicubic,setsar=1[v{i}]"
        for i, s in enumerate(steps)
    )
    graph = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";" + scales
    args = ["-i", str(original), "-filter_complex", graph]
    for i, step in enumerate(steps):
        (out / step.name).mkdir(parents=True)
        args += _output_args(prof, step, f"[v{i}]", tweaks.get(step.name, Tweak()))
    names = ", ".join(s.name for s in steps)
    # run in `out` with relative names: a "%" in the cache path must not become a pattern
    ffmpeg.run_ffmpeg(args, what=f"encoding renditions {names}", cwd=out)
    return [_rendition(prof, step, out / step.name, step.name in tweaks) for step in steps]


def _rendition(prof: Profile, step: LadderStep, out: Path, tweaked: bool) -> RenditionMedia:
    playlist = out / "ffmpeg.m3u8"
    pairs = _parse_extinf(playlist)
    playlist.unlink()
    total = sum(d for _, d in pairs)
    if (len(pairs) != prof.segment_count and not tweaked) or abs(total - prof.duration) > 0.1:
        raise SandboxError(
            f"rendition {step.name}: ffmpeg wrote {len(pairs)} segments totalling {total:.3f} s, "
            f"expected {prof.segment_count} segments of {prof.segment_duration:g} s"
        )
    segments = tuple(
        SegmentFile(name, out / name, round(dur, 6), (out / name).stat().st_size)
        for name, dur in pairs
    )
    mp4 = out / f"{step.name}.mp4"
    ffmpeg.run_ffmpeg(
        ["-i", "concat:" + "|".join(s.name for s in segments), "-map", "0", "-c", "copy",
         "-movflags", "+faststart", mp4.name],
        what=f"writing the static MP4 of {step.name}",
        cwd=out,
    )  # fmt: skip
    video_codec, audio_codec = mp4_codecs(mp4)
    durations = sum(s.duration for s in segments)
    return RenditionMedia(
        name=step.name,
        width=step.width,
        height=step.height,
        frame_rate=float(prof.frame_rate),
        codecs=f"{video_codec},{audio_codec}",
        video_codec=video_codec,
        audio_codec=audio_codec,
        segments=segments,
        target_duration=math.ceil(round(max(s.duration for s in segments), 3)),
        bandwidth=max(round(s.size * 8 / s.duration) for s in segments),
        average_bandwidth=round(sum(s.size for s in segments) * 8 / durations),
        mp4=mp4,
        mp4_size=mp4.stat().st_size,
        video_bitrate_target=step.video_bitrate,
        audio_bitrate_target=step.audio_bitrate,
    )


def make_storyboard(prof: Profile, source: Path, out: Path) -> StoryboardMedia:
    """Sprite JPEGs with the ``tile`` filter: one tile every ``storyboard_interval`` s."""
    out.mkdir()
    n_tiles = math.ceil(round(prof.duration / prof.storyboard_interval, 6))
    every = round(prof.storyboard_interval * prof.frame_rate)
    cols = min(prof.storyboard_columns, n_tiles)
    rows = min(prof.storyboard_max_rows, math.ceil(n_tiles / cols))
    per_sprite = cols * rows
    n_sprites = math.ceil(n_tiles / per_sprite)
    w, h = prof.tile_width, prof.tile_height
    ffmpeg.run_ffmpeg(
        ["-i", str(source), "-an",
         "-vf", f"select='not(mod(n\\,{every}))',scale={w}:{h},setsar=1,tile={cols}x{rows}",
         "-fps_mode", "passthrough", "-q:v", "4", "-start_number", "0",
         "sprite-%d.jpg"],
        what="making the storyboard sprites",
        cwd=out,
    )  # fmt: skip
    sprites = tuple(out / f"sprite-{i}.jpg" for i in range(n_sprites))
    found = sorted(p.name for p in out.glob("sprite-*.jpg"))
    if found != sorted(p.name for p in sprites):
        raise SandboxError(f"storyboard: expected {n_sprites} sprite(s), ffmpeg wrote {found}")
    cues = []
    for i in range(n_tiles):
        k = i % per_sprite
        cues.append(
            StoryboardCue(
                start=round(i * prof.storyboard_interval, 6),
                end=round(min((i + 1) * prof.storyboard_interval, prof.duration), 6),
                sprite=sprites[i // per_sprite].name,
                x=(k % cols) * w,
                y=(k // cols) * h,
                w=w,
                h=h,
            )
        )
    return StoryboardMedia(sprites, w, h, prof.storyboard_interval, tuple(cues), cols, rows)


def extract_poster(source: Path, out: Path) -> Path:
    """The poster JPEG ``out``: the first frame of ``source``, the frame a player shows
    first when it starts playing (so the poster matches what plays)."""
    ffmpeg.run_ffmpeg(
        ["-i", str(source), "-frames:v", "1", "-q:v", "3", "-update", "1", out.name],
        what="extracting the poster",
        cwd=out.parent,
    )  # fmt: skip
    return out
