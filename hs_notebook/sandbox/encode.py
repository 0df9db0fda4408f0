"""The ffmpeg encode steps of the sandbox media: renditions, storyboard, poster, original.

Each rendition is encoded straight into HLS MPEG-TS segments (closed GOPs aligned to the
segment starts, near-CBR so the measured bitrates step sanely) and remuxed into a faststart
MP4; RFC 6381 codec strings are read from the real ``avcC`` / ``esds`` boxes, never
hard-coded.  The storyboard is sprite JPEGs made with ffmpeg's ``tile`` filter plus the
exact tile geometry per cue.
"""

from __future__ import annotations

import math
from pathlib import Path

from hs_notebook.errors import SandboxError
from hs_notebook.sandbox import ffmpeg
from hs_notebook.sandbox._media_mp4 import mp4_codecs
from hs_notebook.sandbox.mediaset import RenditionMedia, SegmentFile, StoryboardCue, StoryboardMedia
from hs_notebook.sandbox.profiles import LadderStep, Profile

__all__ = ["AUDIO_RATE", "encode_original", "encode_rendition", "extract_poster", "make_storyboard"]

#: Audio sample rate of every encode (Hz).
AUDIO_RATE = 48000


def _sources(prof: Profile, width: int, height: int, label: str, overlay: bool) -> list[str]:
    """ffmpeg input + filter args: testsrc2 (moving pattern) + a beeping sine, exact length."""
    d = f"{prof.duration:g}"
    args = [
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={prof.frame_rate}:duration={d}",
        "-f", "lavfi", "-i",
        f"sine=frequency=440:beep_factor=4:sample_rate={AUDIO_RATE}:duration={d}",
        "-map", "0:v:0", "-map", "1:a:0",
    ]  # fmt: skip
    if overlay:
        size = max(10, height // 10)
        text = f"{label}  %{{pts\\:hms}}"
        args += [
            "-vf",
            f"drawtext=text='{text}':fontsize={size}:fontcolor=white:box=1:"
            f"boxcolor=black@0.6:boxborderw={size // 5}:x=(w-tw)/2:y=h-th-{size // 2}",
        ]
    return args


def _gop_args(prof: Profile) -> list[str]:
    gop = prof.frames_per_segment
    seg = f"{prof.segment_duration:g}"
    return [
        "-r", str(prof.frame_rate), "-g", str(gop), "-keyint_min", str(gop),
        "-sc_threshold", "0", "-flags", "+cgop",
        "-force_key_frames", f"expr:gte(t,n_forced*{seg})",
    ]  # fmt: skip


def _encode_segments(prof: Profile, step: LadderStep, out: Path, overlay: bool) -> Path:
    """Encode one rendition straight into HLS MPEG-TS segments; return ffmpeg's playlist."""
    out.mkdir(parents=True)
    gop = prof.frames_per_segment
    vb, ab = str(step.video_bitrate), str(step.audio_bitrate)
    playlist = out / "ffmpeg.m3u8"
    # ultrafast for speed, but with CABAC and 8x8 transforms so x264 signals High profile
    # (x264 reports the lowest profile its features need).  nal-hrd=cbr + minrate=maxrate
    # pads with filler data, so the measured bitrates follow the targets even for testsrc2;
    # vbv-init=0.5 starts the buffer half full: x264's default (0.9) lets the first segment
    # spend the extra buffer and measure ~13 % above the rest with 2 s segments.
    args = [
        *_sources(prof, step.width, step.height, step.name, overlay),
        "-c:v", "libx264", "-preset", "ultrafast", "-profile:v", "high", "-pix_fmt", "yuv420p",
        *_gop_args(prof),
        "-b:v", vb, "-minrate", vb, "-maxrate", vb, "-bufsize", vb,
        "-x264-params", f"nal-hrd=cbr:vbv-init=0.5:force-cfr=1:cabac=1:8x8dct=1:"
        f"keyint={gop}:min-keyint={gop}:scenecut=0",
        "-c:a", "aac", "-profile:a", "aac_low", "-b:a", ab, "-ac", "2", "-ar", str(AUDIO_RATE),
        "-f", "hls", "-hls_time", f"{prof.segment_duration:g}", "-hls_list_size", "0",
        "-hls_playlist_type", "vod", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", "seg-%05d.ts", playlist.name,
    ]  # fmt: skip
    # run in `out` with relative names: a "%" in the cache path must not become a pattern
    ffmpeg.run_ffmpeg(args, what=f"encoding rendition {step.name}", cwd=out)
    return playlist


def _parse_extinf(playlist: Path) -> list[tuple[str, float]]:
    """``(segment file name, EXTINF duration)`` pairs from the playlist ffmpeg wrote."""
    pairs: list[tuple[str, float]] = []
    duration: float | None = None
    for line in playlist.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",", 1)[0])
        elif line and not line.startswith("#") and duration is not None:
            pairs.append((line, duration))
            duration = None
    return pairs


def encode_rendition(prof: Profile, step: LadderStep, out: Path, overlay: bool) -> RenditionMedia:
    playlist = _encode_segments(prof, step, out, overlay)
    pairs = _parse_extinf(playlist)
    playlist.unlink()
    total = sum(d for _, d in pairs)
    if len(pairs) != prof.segment_count or abs(total - prof.duration) > 0.1:
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


def extract_poster(prof: Profile, source: Path, out: Path) -> Path:
    """The poster JPEG ``out``: the frame one segment into ``source`` (the first frame of a
    one-segment video)."""
    at = prof.segment_duration if prof.duration > prof.segment_duration else 0.0
    ffmpeg.run_ffmpeg(
        ["-ss", f"{at:g}", "-i", str(source), "-frames:v", "1", "-q:v", "3", "-update", "1",
         out.name],
        what="extracting the poster",
        cwd=out.parent,
    )  # fmt: skip
    return out


def encode_original(prof: Profile, top: RenditionMedia, out: Path, overlay: bool) -> Path:
    """The "original upload" MP4 ``out`` at the top rendition's size.

    A different encode of the same content (ABR at 1.5x the top rung, 2 s GOPs, 192k audio),
    like a camera or editor export would be: same picture, different bytes.
    """
    original_bitrate = top.video_bitrate_target * 3 // 2
    ffmpeg.run_ffmpeg(
        [*_sources(prof, top.width, top.height, "original", overlay),
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", str(original_bitrate),
         "-pix_fmt", "yuv420p",
         "-r", str(prof.frame_rate), "-g", str(prof.frame_rate * 2),
         "-c:a", "aac", "-b:a", "192000", "-ac", "2", "-ar", str(AUDIO_RATE),
         "-movflags", "+faststart", str(out)],
        what="encoding the original upload",
    )  # fmt: skip
    return out
