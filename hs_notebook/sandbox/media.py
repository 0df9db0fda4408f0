"""Real H.264/AAC media for the sandbox origin, generated once with the ffmpeg of imageio-ffmpeg.

:func:`ensure_media` returns a :class:`MediaSet` for a named :data:`PROFILES` entry
(``"demo"``: 24 s, 6 s segments, 360p..1080p at 30 fps; ``"tiny"``: 6 s, 2 s segments,
360p..720p at 15 fps, for tests).  Both ladders keep HeapStream's rules (every rendition
360p..2160p on the short side, at most 30 fps).  A media set holds, for one synthetic video:

* a 4-step ladder of renditions, each as MPEG-TS segments (closed GOPs aligned to the
  segment starts, near-CBR so the measured bitrates step sanely) and as a faststart MP4;
* RFC 6381 codec strings read from the real ``avcC`` / ``esds`` boxes, never hard-coded;
* a poster JPEG, a storyboard (sprite JPEGs made with ffmpeg's ``tile`` filter plus the
  exact tile geometry per cue), two WebVTT text tracks (``en``, ``fr``) and an "original
  upload" MP4 (a separate encode at the top resolution).

Units follow the package conventions: bitrates are int bits/s, durations float seconds,
sizes int bytes.  ``bandwidth`` is the peak segment bitrate (max of ``size*8/duration``),
``average_bandwidth`` is ``sum(size)*8/sum(duration)``, as in RFC 8216.

Cache layout (relocatable: the manifest stores paths relative to the media directory)::

    <cache>/media/<profile>-v<GENERATOR_VERSION>/
        manifest.json                         written last
        renditions/<name>/seg-00000.ts ...    MPEG-TS segments
        renditions/<name>/<name>.mp4          static faststart MP4
        poster.jpg  original.mp4
        storyboard/sprite-0.jpg ...
        text/en.vtt  text/fr.vtt
    <cache>/media/<profile>-v<GENERATOR_VERSION>.lock

``<cache>`` is ``cache_dir`` or ``$HS_NOTEBOOK_CACHE`` or ``$XDG_CACHE_HOME/hs_notebook`` or
``~/.cache/hs_notebook``.  Generation runs under an exclusive file lock, into a temporary
directory beside the final one that is renamed into place when complete, so concurrent
first use from threads or processes is safe and a crashed run leaves nothing that is
mistaken for a finished media set (its temporary directory is removed by the next run).
"""

from __future__ import annotations

import html
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hs_notebook.env import ENV_CACHE, ENV_XDG_CACHE, env_value
from hs_notebook.errors import SandboxError
from hs_notebook.sandbox._media_mp4 import mp4_codecs

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "GENERATOR_VERSION",
    "PROFILES",
    "LadderStep",
    "MediaSet",
    "Profile",
    "RenditionMedia",
    "SegmentFile",
    "StoryboardCue",
    "StoryboardMedia",
    "TextTrackMedia",
    "cache_root",
    "ensure_media",
    "ffmpeg_exe",
    "media_dir",
]

#: Bump whenever the generated output changes; it is part of the cache directory name.
GENERATOR_VERSION: int = 2

_FFMPEG_TIMEOUT = 900.0  # seconds for one ffmpeg run before we give up
_STDERR_TAIL = 2000  # characters of ffmpeg's stderr quoted in a SandboxError
_AUDIO_RATE = 48000
_MIN_SHORT_SIDE = 360  # HeapStream: every rendition 360p..2160p (short side of the frame)
_MAX_SHORT_SIDE = 2160


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class LadderStep:
    """One rung of a profile's ladder: frame size and target bitrates (bits/s)."""

    name: str
    width: int
    height: int
    video_bitrate: int
    audio_bitrate: int


@dataclass(frozen=True)
class Profile:
    """What to generate: duration, segmenting, frame rate, ladder and storyboard layout.

    ``storyboard_interval`` is the number of seconds per storyboard tile, tiles are
    ``tile_width`` x ``tile_height`` pixels, and a sprite holds at most
    ``storyboard_columns`` x ``storyboard_max_rows`` tiles.
    """

    name: str
    duration: float
    segment_duration: float
    frame_rate: int
    ladder: tuple[LadderStep, ...]
    storyboard_interval: float = 2.0
    tile_width: int = 160
    tile_height: int = 90
    storyboard_columns: int = 5
    storyboard_max_rows: int = 5
    text_cues: int = 6

    def __post_init__(self) -> None:
        def bad(why: str) -> SandboxError:
            return SandboxError(f"media profile {self.name!r}: {why}")

        if not 0 < self.frame_rate <= 30:
            raise bad(f"frame_rate must be in 1..30 (HeapStream rule), got {self.frame_rate}")
        if not _is_whole(self.duration / self.segment_duration):
            raise bad("duration must be a whole number of segments")
        if not _is_whole(self.segment_duration * self.frame_rate):
            raise bad("segment_duration * frame_rate must be a whole number of frames")
        if not _is_whole(self.storyboard_interval * self.frame_rate):
            raise bad("storyboard_interval * frame_rate must be a whole number of frames")
        if not self.ladder:
            raise bad("the ladder is empty")
        aspect = self.ladder[0].width / self.ladder[0].height
        for prev, step in zip((None, *self.ladder), self.ladder, strict=False):
            if step.width % 2 or step.height % 2:
                raise bad(f"{step.name}: width and height must be even")
            if not _MIN_SHORT_SIDE <= min(step.width, step.height) <= _MAX_SHORT_SIDE:
                raise bad(
                    f"{step.name}: {step.width}x{step.height} is outside HeapStream's "
                    f"{_MIN_SHORT_SIDE}p-{_MAX_SHORT_SIDE}p ladder (short side of the frame)"
                )
            if abs(step.width / step.height / aspect - 1) > 0.01:
                raise bad(f"{step.name}: aspect ratio differs from the ladder's by more than 1%")
            if prev is not None and (step.width <= prev.width or step.video_bitrate <= 0):
                raise bad("the ladder must be ascending in size")

    @property
    def segment_count(self) -> int:
        """Number of segments per rendition."""
        return round(self.duration / self.segment_duration)

    @property
    def frames_per_segment(self) -> int:
        """Video frames per segment (also the GOP length)."""
        return round(self.segment_duration * self.frame_rate)


def _is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9 and round(x) > 0


#: The media profiles.  Target bitrates are near-CBR (x264 ``nal-hrd=cbr`` with filler and a
#: half-full initial VBV buffer, so the first segment is not inflated and the peak segment
#: bitrate stays within a few percent of the average), chosen so that the measured
#: per-rendition average bandwidths step by about 1.4x..2x.  ``"tiny"`` is a 16:9 ladder of
#: 640x360, 768x432, 960x540 and 1280x720 at 15 fps: small and quick to encode (2-3 s on
#: 2 cores), yet inside HeapStream's 360p..2160p rule like a real upload.
PROFILES: dict[str, Profile] = {
    "demo": Profile(
        name="demo",
        duration=24.0,
        segment_duration=6.0,
        frame_rate=30,
        ladder=(
            LadderStep("360p", 640, 360, 600_000, 96_000),
            LadderStep("480p", 854, 480, 1_100_000, 96_000),
            LadderStep("720p", 1280, 720, 2_200_000, 128_000),
            LadderStep("1080p", 1920, 1080, 4_400_000, 128_000),
        ),
        storyboard_interval=2.0,
    ),
    "tiny": Profile(
        name="tiny",
        duration=6.0,
        segment_duration=2.0,
        frame_rate=15,
        ladder=(
            LadderStep("360p", 640, 360, 400_000, 64_000),
            LadderStep("432p", 768, 432, 600_000, 64_000),
            LadderStep("540p", 960, 540, 900_000, 96_000),
            LadderStep("720p", 1280, 720, 1_400_000, 96_000),
        ),
        storyboard_interval=1.0,
    ),
}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SegmentFile:
    """One MPEG-TS segment: file name, absolute path, exact duration (s), size (bytes)."""

    name: str
    path: Path
    duration: float
    size: int


@dataclass(frozen=True)
class RenditionMedia:
    """One rendition: segments, static MP4 and the codecs/bitrates measured from them."""

    name: str
    width: int
    height: int
    frame_rate: float
    codecs: str
    video_codec: str
    audio_codec: str
    segments: tuple[SegmentFile, ...]
    target_duration: int
    bandwidth: int
    average_bandwidth: int
    mp4: Path
    mp4_size: int
    video_bitrate_target: int = 0
    audio_bitrate_target: int = 0


@dataclass(frozen=True)
class TextTrackMedia:
    """A WebVTT subtitle track."""

    language: str
    name: str
    default: bool
    path: Path
    duration: float
    cue_count: int = 0


@dataclass(frozen=True)
class StoryboardCue:
    """One storyboard tile: time range (s) and pixel rectangle in a sprite."""

    start: float
    end: float
    sprite: str
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class StoryboardMedia:
    """Sprite JPEGs (``columns`` x ``rows`` tiles each) and the cues that index them."""

    sprites: tuple[Path, ...]
    tile_width: int
    tile_height: int
    interval: float
    cues: tuple[StoryboardCue, ...]
    columns: int = 0
    rows: int = 0


@dataclass(frozen=True)
class MediaSet:
    """Everything generated for one profile, rooted at the cache directory ``root``."""

    profile: str
    root: Path
    duration: float
    renditions: tuple[RenditionMedia, ...]
    poster: Path
    storyboard: StoryboardMedia
    text_tracks: tuple[TextTrackMedia, ...]
    original: Path
    frame_rate: float = 0.0
    segment_duration: float = 0.0
    generator_version: int = GENERATOR_VERSION
    timecode_overlay: bool = False
    generation_seconds: float = 0.0
    files: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def rendition(self, name: str) -> RenditionMedia:
        """The rendition called ``name`` (e.g. ``"720p"``)."""
        for r in self.renditions:
            if r.name == name:
                return r
        known = ", ".join(r.name for r in self.renditions)
        raise SandboxError(f"no rendition {name!r} in media profile {self.profile!r} ({known})")

    def __repr__(self) -> str:
        ladder = ", ".join(f"{r.name}@{r.average_bandwidth // 1000}k" for r in self.renditions)
        return (
            f"MediaSet(profile={self.profile!r}, duration={self.duration}, "
            f"renditions=[{ladder}], root={str(self.root)!r})"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(r.name)}</td><td>{r.width}x{r.height}</td>"
            f"<td>{r.frame_rate:g}</td><td>{html.escape(r.codecs)}</td>"
            f"<td>{r.average_bandwidth:,}</td><td>{r.bandwidth:,}</td>"
            f"<td>{len(r.segments)}</td></tr>"
            for r in self.renditions
        )
        return (
            f"<div><b>Sandbox media {html.escape(self.profile)!s}</b> &middot; "
            f"{self.duration:g} s &middot; <code>{html.escape(str(self.root))}</code>"
            "<table><thead><tr><th>rendition</th><th>size</th><th>fps</th><th>codecs</th>"
            "<th>average_bandwidth</th><th>bandwidth</th><th>segments</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )


# --------------------------------------------------------------------------- paths


def cache_root(cache_dir: Path | str | None = None) -> Path:
    """The hs_notebook cache directory, absolute: ``cache_dir``, ``$HS_NOTEBOOK_CACHE``,
    ``$XDG_CACHE_HOME/hs_notebook`` or ``~/.cache/hs_notebook`` (the first one set)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser().absolute()
    env = env_value(ENV_CACHE)
    if env:
        return Path(env).expanduser().absolute()
    xdg = env_value(ENV_XDG_CACHE)
    if xdg:
        return Path(xdg).expanduser().absolute() / "hs_notebook"
    return Path.home() / ".cache" / "hs_notebook"


def media_dir(profile: str, cache_dir: Path | str | None = None) -> Path:
    """Where the media of ``profile`` lives (whether or not it was generated yet)."""
    return cache_root(cache_dir) / "media" / f"{_profile(profile).name}-v{GENERATOR_VERSION}"


def _profile(profile: str) -> Profile:
    if isinstance(profile, str) and profile in PROFILES:
        return PROFILES[profile]
    known = ", ".join(sorted(PROFILES))
    raise SandboxError(f"unknown media profile {profile!r}; use one of: {known}")


# --------------------------------------------------------------------------- ffmpeg


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped in the imageio-ffmpeg wheel
    (``$IMAGEIO_FFMPEG_EXE`` overrides it, as imageio-ffmpeg documents)."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise SandboxError(
            f"no ffmpeg binary available ({exc}); install the imageio-ffmpeg wheel "
            "(pip install imageio-ffmpeg)"
        ) from exc


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _STDERR_TAIL else "..." + text[-_STDERR_TAIL:]


def _run_ffmpeg(args: Sequence[str], *, what: str, cwd: Path | None = None) -> str:
    """Run the bundled ffmpeg with ``args``; return its stderr or raise SandboxError."""
    exe = ffmpeg_exe()
    cmd = [exe, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args]
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=_FFMPEG_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SandboxError(
            f"ffmpeg took longer than {_FFMPEG_TIMEOUT:.0f} s while {what}; "
            f"stderr tail: {_tail((exc.stderr or b'').decode('utf-8', 'replace'))}"
        ) from exc
    except OSError as exc:
        raise SandboxError(f"could not run ffmpeg at {exe} while {what}: {exc}") from exc
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        shown = " ".join(cmd[1:])
        raise SandboxError(
            f"ffmpeg failed (exit {proc.returncode}) while {what}.\n"
            f"stderr tail:\n{_tail(stderr) or '(empty)'}\ncommand: ffmpeg {shown}"
        )
    return stderr


def _drawtext_available() -> bool:
    """Whether ffmpeg's drawtext filter can render text here (it needs a system font)."""
    args = ["-f", "lavfi", "-i", "color=size=64x36:duration=0.1", "-vf", "drawtext=text=x",
            "-f", "null", "-"]  # fmt: skip
    try:
        _run_ffmpeg(args, what="probing drawtext")
    except SandboxError:
        return False
    return True


# --------------------------------------------------------------------------- cache


class _FileLock:
    """An exclusive advisory lock on ``path`` (flock on POSIX, msvcrt on Windows)."""

    def __init__(self, path: Path, on_wait: Callable[[], None] | None = None) -> None:
        self.path = path
        self.on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> _FileLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    if self.on_wait:
                        self.on_wait()
                    fcntl.flock(fd, fcntl.LOCK_EX)
            else:  # pragma: no cover - Windows
                import msvcrt

                while True:
                    try:
                        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                        break
                    except OSError:
                        time.sleep(0.5)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)
            else:  # pragma: no cover - Windows
                import msvcrt

                os.lseek(fd, 0, os.SEEK_SET)
                msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        finally:
            os.close(fd)


def ensure_media(
    profile: str = "demo",
    *,
    cache_dir: Path | str | None = None,
    progress: Callable[[str], None] | None = None,
) -> MediaSet:
    """Return the media for ``profile``, generating it once into the cache.

    Args:
        profile: a key of :data:`PROFILES` (``"demo"`` or ``"tiny"``).
        cache_dir: cache root; default ``$HS_NOTEBOOK_CACHE``, ``$XDG_CACHE_HOME/hs_notebook``
            or ``~/.cache/hs_notebook``.  Media goes to ``media/<profile>-v<N>/`` under it.
        progress: called with short status lines (``"encoding 720p (3/4)"``) while generating.

    A cached, complete media set is loaded from its ``manifest.json`` without running
    ffmpeg.  Otherwise generation runs under a file lock into a temporary directory that
    is renamed into place, so concurrent callers (threads or processes) all get the same
    complete set.  Leftovers of a crashed run are removed first.

    Raises:
        SandboxError: unknown profile, ffmpeg missing or failing (the message quotes the
            tail of ffmpeg's stderr), or output that does not meet the profile.
    """
    prof = _profile(profile)
    say = progress or (lambda _msg: None)
    final = media_dir(prof.name, cache_dir)
    media = _load(final, prof)
    if media is not None:
        return media
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SandboxError(
            f"cannot create the media cache directory {final.parent}: {exc}"
        ) from exc
    lock = final.parent / f"{final.name}.lock"
    with _FileLock(
        lock, on_wait=lambda: say(f"waiting for another process to generate {prof.name}")
    ):
        media = _load(final, prof)  # another caller may have finished while we waited
        if media is not None:
            return media
        _remove_leftovers(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            _generate(prof, tmp, say)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    media = _load(final, prof)
    if media is None:  # pragma: no cover - would mean the manifest we just wrote is unreadable
        raise SandboxError(f"generated media in {final} but could not read it back")
    say(f"media {prof.name} ready in {media.generation_seconds:.1f} s")
    return media


def _remove_leftovers(final: Path) -> None:
    """Under the lock: delete temp dirs of crashed runs and an incomplete final dir."""
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if final.exists():
        # Rename first so that a crash while deleting leaves a tmp- dir, cleaned next time.
        doomed = final.parent / f".{final.name}.tmp-stale-{os.getpid()}"
        os.rename(final, doomed)
        shutil.rmtree(doomed, ignore_errors=True)


# --------------------------------------------------------------------------- manifest


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _manifest(media: MediaSet) -> dict[str, Any]:
    root = media.root
    return {
        "generator_version": media.generator_version,
        "profile": media.profile,
        "duration": media.duration,
        "frame_rate": media.frame_rate,
        "segment_duration": media.segment_duration,
        "timecode_overlay": media.timecode_overlay,
        "generation_seconds": media.generation_seconds,
        "renditions": [
            {
                "name": r.name,
                "width": r.width,
                "height": r.height,
                "frame_rate": r.frame_rate,
                "codecs": r.codecs,
                "video_codec": r.video_codec,
                "audio_codec": r.audio_codec,
                "target_duration": r.target_duration,
                "bandwidth": r.bandwidth,
                "average_bandwidth": r.average_bandwidth,
                "mp4": _rel(r.mp4, root),
                "mp4_size": r.mp4_size,
                "video_bitrate_target": r.video_bitrate_target,
                "audio_bitrate_target": r.audio_bitrate_target,
                "segments": [
                    {
                        "name": s.name,
                        "path": _rel(s.path, root),
                        "duration": s.duration,
                        "size": s.size,
                    }
                    for s in r.segments
                ],
            }
            for r in media.renditions
        ],
        "poster": _rel(media.poster, root),
        "storyboard": {
            "sprites": [_rel(p, root) for p in media.storyboard.sprites],
            "tile_width": media.storyboard.tile_width,
            "tile_height": media.storyboard.tile_height,
            "interval": media.storyboard.interval,
            "columns": media.storyboard.columns,
            "rows": media.storyboard.rows,
            "cues": [
                {
                    "start": c.start,
                    "end": c.end,
                    "sprite": c.sprite,
                    "x": c.x,
                    "y": c.y,
                    "w": c.w,
                    "h": c.h,
                }
                for c in media.storyboard.cues
            ],
        },
        "text_tracks": [
            {
                "language": t.language,
                "name": t.name,
                "default": t.default,
                "path": _rel(t.path, root),
                "duration": t.duration,
                "cue_count": t.cue_count,
            }
            for t in media.text_tracks
        ],
        "original": _rel(media.original, root),
        "files": dict(sorted(media.files.items())),
    }


def _from_manifest(data: dict[str, Any], root: Path) -> MediaSet:
    sb = data["storyboard"]
    return MediaSet(
        profile=data["profile"],
        root=root,
        duration=float(data["duration"]),
        renditions=tuple(
            RenditionMedia(
                name=r["name"],
                width=int(r["width"]),
                height=int(r["height"]),
                frame_rate=float(r["frame_rate"]),
                codecs=r["codecs"],
                video_codec=r["video_codec"],
                audio_codec=r["audio_codec"],
                segments=tuple(
                    SegmentFile(s["name"], root / s["path"], float(s["duration"]), int(s["size"]))
                    for s in r["segments"]
                ),
                target_duration=int(r["target_duration"]),
                bandwidth=int(r["bandwidth"]),
                average_bandwidth=int(r["average_bandwidth"]),
                mp4=root / r["mp4"],
                mp4_size=int(r["mp4_size"]),
                video_bitrate_target=int(r["video_bitrate_target"]),
                audio_bitrate_target=int(r["audio_bitrate_target"]),
            )
            for r in data["renditions"]
        ),
        poster=root / data["poster"],
        storyboard=StoryboardMedia(
            sprites=tuple(root / p for p in sb["sprites"]),
            tile_width=int(sb["tile_width"]),
            tile_height=int(sb["tile_height"]),
            interval=float(sb["interval"]),
            cues=tuple(
                StoryboardCue(
                    float(c["start"]),
                    float(c["end"]),
                    c["sprite"],
                    int(c["x"]),
                    int(c["y"]),
                    int(c["w"]),
                    int(c["h"]),
                )
                for c in sb["cues"]
            ),
            columns=int(sb["columns"]),
            rows=int(sb["rows"]),
        ),
        text_tracks=tuple(
            TextTrackMedia(
                t["language"],
                t["name"],
                bool(t["default"]),
                root / t["path"],
                float(t["duration"]),
                int(t["cue_count"]),
            )
            for t in data["text_tracks"]
        ),
        original=root / data["original"],
        frame_rate=float(data["frame_rate"]),
        segment_duration=float(data["segment_duration"]),
        generator_version=int(data["generator_version"]),
        timecode_overlay=bool(data["timecode_overlay"]),
        generation_seconds=float(data["generation_seconds"]),
        files={str(k): int(v) for k, v in data["files"].items()},
    )


def _load(root: Path, prof: Profile) -> MediaSet | None:
    """The media set in ``root`` if it is complete and current, else None (never ffmpeg)."""
    try:
        data = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        if data.get("generator_version") != GENERATOR_VERSION or data.get("profile") != prof.name:
            return None
        media = _from_manifest(data, root)
        for rel, size in media.files.items():
            if (root / rel).stat().st_size != size:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return media


def _write_manifest(media: MediaSet) -> None:
    path = media.root / "manifest.json"
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(_manifest(media), f, indent=1, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------- generation


def _sources(prof: Profile, width: int, height: int, label: str, overlay: bool) -> list[str]:
    """ffmpeg input + filter args: testsrc2 (moving pattern) + a beeping sine, exact length."""
    d = f"{prof.duration:g}"
    args = [
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={prof.frame_rate}:duration={d}",
        "-f", "lavfi", "-i",
        f"sine=frequency=440:beep_factor=4:sample_rate={_AUDIO_RATE}:duration={d}",
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


def _encode_rendition(prof: Profile, step: LadderStep, out: Path, overlay: bool) -> Path:
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
        "-c:a", "aac", "-profile:a", "aac_low", "-b:a", ab, "-ac", "2", "-ar", str(_AUDIO_RATE),
        "-f", "hls", "-hls_time", f"{prof.segment_duration:g}", "-hls_list_size", "0",
        "-hls_playlist_type", "vod", "-hls_segment_type", "mpegts",
        "-hls_segment_filename", "seg-%05d.ts", playlist.name,
    ]  # fmt: skip
    # run in `out` with relative names: a "%" in the cache path must not become a pattern
    _run_ffmpeg(args, what=f"encoding rendition {step.name}", cwd=out)
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


def _rendition(prof: Profile, step: LadderStep, out: Path, overlay: bool) -> RenditionMedia:
    playlist = _encode_rendition(prof, step, out, overlay)
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
    _run_ffmpeg(
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


def _storyboard(prof: Profile, source: Path, out: Path) -> StoryboardMedia:
    """Sprite JPEGs with the ``tile`` filter: one tile every ``storyboard_interval`` s."""
    out.mkdir()
    n_tiles = math.ceil(round(prof.duration / prof.storyboard_interval, 6))
    every = round(prof.storyboard_interval * prof.frame_rate)
    cols = min(prof.storyboard_columns, n_tiles)
    rows = min(prof.storyboard_max_rows, math.ceil(n_tiles / cols))
    per_sprite = cols * rows
    n_sprites = math.ceil(n_tiles / per_sprite)
    w, h = prof.tile_width, prof.tile_height
    _run_ffmpeg(
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


_TEXT_TRACKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "en",
        "English",
        (
            "Welcome to the HeapStream sandbox.",
            "This video is a generated test pattern.",
            "Every segment starts with a keyframe.",
            "The ladder has four renditions.",
            "These subtitles are a WebVTT text track.",
            "End of the test video. Goodbye!",
        ),
    ),
    (
        "fr",
        "Français",
        (
            "Bienvenue dans le bac à sable HeapStream.",
            "Cette vidéo est une mire générée.",
            "Chaque segment commence par une image clé.",
            "L'échelle compte quatre rendus, çà et là.",
            "Ces sous-titres forment une piste WebVTT : voilà !",
            "Fin de la vidéo d'essai. À bientôt, cœur léger !",
        ),
    ),
)


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def _text_tracks(prof: Profile, out: Path) -> tuple[TextTrackMedia, ...]:
    """Two WebVTT tracks whose cues tile ``[0, duration)``; the French one exercises UTF-8."""
    out.mkdir()
    tracks = []
    for i, (lang, name, phrases) in enumerate(_TEXT_TRACKS):
        n = prof.text_cues
        step = prof.duration / n
        lines = ["WEBVTT", f"Language: {lang}", ""]
        for k in range(n):
            text = phrases[k % len(phrases)]
            lines += [str(k + 1), f"{_vtt_time(k * step)} --> {_vtt_time((k + 1) * step)}", text,
                      ""]  # fmt: skip
        path = out / f"{lang}.vtt"
        path.write_text("\n".join(lines), encoding="utf-8")
        tracks.append(TextTrackMedia(lang, name, i == 0, path, prof.duration, n))
    return tuple(tracks)


def _files(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_size
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def _generate(prof: Profile, root: Path, say: Callable[[str], None]) -> None:
    """Generate every file of ``prof`` into ``root`` and write ``manifest.json`` last."""
    started = time.monotonic()
    say(f"generating media {prof.name} with {Path(ffmpeg_exe()).name}")
    overlay = _drawtext_available()
    renditions = []
    n = len(prof.ladder)
    for i, step in enumerate(prof.ladder, 1):
        say(f"encoding {step.name} ({i}/{n})")
        renditions.append(_rendition(prof, step, root / "renditions" / step.name, overlay))
    renditions.sort(key=lambda r: r.average_bandwidth)
    top = max(renditions, key=lambda r: r.width)

    say("poster")
    poster = root / "poster.jpg"
    at = prof.segment_duration if prof.duration > prof.segment_duration else 0.0
    _run_ffmpeg(
        ["-ss", f"{at:g}", "-i", str(top.mp4), "-frames:v", "1", "-q:v", "3", "-update", "1",
         poster.name],
        what="extracting the poster",
        cwd=root,
    )  # fmt: skip

    say("storyboard")
    small = [r for r in renditions if r.width >= prof.tile_width and r.height >= prof.tile_height]
    source = min(small or renditions, key=lambda r: r.width).mp4
    storyboard = _storyboard(prof, source, root / "storyboard")

    say("text tracks")
    text_tracks = _text_tracks(prof, root / "text")

    say(f"original upload ({top.width}x{top.height})")
    # A different encode of the same content (ABR at 1.5x the top rung, 2 s GOPs, 192k audio),
    # like a camera or editor export would be: same picture, different bytes.
    original_bitrate = top.video_bitrate_target * 3 // 2
    original = root / "original.mp4"
    _run_ffmpeg(
        [*_sources(prof, top.width, top.height, "original", overlay),
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", str(original_bitrate),
         "-pix_fmt", "yuv420p",
         "-r", str(prof.frame_rate), "-g", str(prof.frame_rate * 2),
         "-c:a", "aac", "-b:a", "192000", "-ac", "2", "-ar", str(_AUDIO_RATE),
         "-movflags", "+faststart", str(original)],
        what="encoding the original upload",
    )  # fmt: skip

    media = MediaSet(
        profile=prof.name,
        root=root,
        duration=prof.duration,
        renditions=tuple(renditions),
        poster=poster,
        storyboard=storyboard,
        text_tracks=text_tracks,
        original=original,
        frame_rate=float(prof.frame_rate),
        segment_duration=prof.segment_duration,
        generator_version=GENERATOR_VERSION,
        timecode_overlay=overlay,
        generation_seconds=round(time.monotonic() - started, 3),
        files=_files(root),
    )
    say("writing manifest")
    _write_manifest(media)
