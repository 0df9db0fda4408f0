"""The sandbox's media cache: where media lives, its manifest, and the lock around generation.

Cache layout (relocatable: the manifest stores paths relative to the media directory)::

    <cache>/media/<profile>-v<GENERATOR_VERSION>/      the clean media
    <cache>/media/<profile>-<defect>-v<GENERATOR_VERSION>/   one per media defect, same layout
        manifest.json                         written last
        renditions/<name>/seg-00000.ts ...    MPEG-TS segments
        renditions/<name>/<name>.mp4          static faststart MP4
        poster.jpg  original.mp4
        storyboard/sprite-0.jpg ...
        text/en.vtt  text/fr.vtt
    <cache>/media/<profile>-v<GENERATOR_VERSION>.lock

``<cache>`` is ``cache_dir`` or ``$HS_NOTEBOOK_CACHE`` or ``$XDG_CACHE_HOME/hs_notebook`` or
``~/.cache/hs_notebook``.  :func:`load_media` reads a complete, current media set back
without running ffmpeg; :class:`FileLock` serialises generation across threads and
processes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hs_notebook.env import ENV_CACHE, ENV_XDG_CACHE, env_value
from hs_notebook.sandbox.mediaset import (
    GENERATOR_VERSION,
    MediaSet,
    RenditionMedia,
    SegmentFile,
    StoryboardCue,
    StoryboardMedia,
    TextTrackMedia,
)
from hs_notebook.sandbox.profiles import Profile, get_profile

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FileLock",
    "cache_root",
    "list_files",
    "load_media",
    "media_dir",
    "rebase",
    "remove_leftovers",
    "write_manifest",
]


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


def media_dir(profile: str, cache_dir: Path | str | None = None, defect: str = "") -> Path:
    """Where the media of ``profile`` (with media defect ``defect``, ``""`` for the clean
    media) lives, whether or not it was generated yet: ``media/<profile>-v<N>`` or
    ``media/<profile>-<defect>-v<N>``."""
    name = get_profile(profile).name + (f"-{defect}" if defect else "")
    return cache_root(cache_dir) / "media" / f"{name}-v{GENERATOR_VERSION}"


class FileLock:
    """An exclusive advisory lock on ``path`` (flock on POSIX, msvcrt on Windows)."""

    def __init__(self, path: Path, on_wait: Callable[[], None] | None = None) -> None:
        self.path = path
        self.on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
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


def remove_leftovers(final: Path) -> None:
    """Under the lock: delete temp dirs of crashed runs and an incomplete final dir."""
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    if final.exists():
        # Rename first so that a crash while deleting leaves a tmp- dir, cleaned next time.
        doomed = final.parent / f".{final.name}.tmp-stale-{os.getpid()}"
        os.rename(final, doomed)
        shutil.rmtree(doomed, ignore_errors=True)


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
        "defect": media.defect,
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
                "declared": dict(r.declared),
                "segments": [
                    {
                        "name": s.name,
                        "path": _rel(s.path, root),
                        "duration": s.duration,
                        "size": s.size,
                        "extinf": s.extinf,
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
                "timestamp_map": t.timestamp_map,
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
                    SegmentFile(
                        s["name"],
                        root / s["path"],
                        float(s["duration"]),
                        int(s["size"]),
                        None if s["extinf"] is None else float(s["extinf"]),
                    )
                    for s in r["segments"]
                ),
                target_duration=int(r["target_duration"]),
                bandwidth=int(r["bandwidth"]),
                average_bandwidth=int(r["average_bandwidth"]),
                mp4=root / r["mp4"],
                mp4_size=int(r["mp4_size"]),
                video_bitrate_target=int(r["video_bitrate_target"]),
                audio_bitrate_target=int(r["audio_bitrate_target"]),
                declared={str(k): str(v) for k, v in r["declared"].items()},
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
                None if t["timestamp_map"] is None else int(t["timestamp_map"]),
            )
            for t in data["text_tracks"]
        ),
        original=root / data["original"],
        frame_rate=float(data["frame_rate"]),
        segment_duration=float(data["segment_duration"]),
        generator_version=int(data["generator_version"]),
        defect=str(data["defect"]),
        generation_seconds=float(data["generation_seconds"]),
        files={str(k): int(v) for k, v in data["files"].items()},
    )


def rebase(media: MediaSet, root: Path) -> MediaSet:
    """``media`` with every path moved from ``media.root`` to ``root`` (same relative paths)."""
    return _from_manifest(_manifest(media), root)


def load_media(root: Path, prof: Profile, defect: str = "") -> MediaSet | None:
    """The media set in ``root`` if it is complete and current, else None (never ffmpeg)."""
    try:
        data = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        if (
            data.get("generator_version") != GENERATOR_VERSION
            or data.get("profile") != prof.name
            or data.get("defect") != defect
        ):
            return None
        media = _from_manifest(data, root)
        for rel, size in media.files.items():
            if (root / rel).stat().st_size != size:
                return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return media


def write_manifest(media: MediaSet) -> None:
    """Write ``media.root/manifest.json`` atomically (fsync, then rename over)."""
    path = media.root / "manifest.json"
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(_manifest(media), f, indent=1, ensure_ascii=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def list_files(root: Path) -> dict[str, int]:
    """``{relative posix path: size}`` of every file under ``root`` but the manifest."""
    return {
        p.relative_to(root).as_posix(): p.stat().st_size
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
