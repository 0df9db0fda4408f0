"""Real H.264/AAC media for the sandbox origin, generated once with the ffmpeg of imageio-ffmpeg.

:func:`ensure_media` returns a :class:`MediaSet` for a named :data:`PROFILES` entry.  A media
set holds, for one synthetic video:

* an "original upload" MP4, encoded once from a synthetic source with detail and motion;
* a 4-step ladder of renditions encoded from that original (so VMAF, PSNR and SSIM against
  it mean something), each as MPEG-TS segments and as a faststart MP4
  (:mod:`~hs_notebook.sandbox.encode`);
* a poster JPEG, a storyboard and two WebVTT text tracks (``en``, ``fr``,
  :mod:`~hs_notebook.sandbox.texttracks`) whose ``X-TIMESTAMP-MAP`` matches the segments.

``ensure_media(profile, defect=...)`` gives the same video with one media defect
(:mod:`~hs_notebook.sandbox.defects`, :data:`MEDIA_DEFECTS`).

The parts live in their own modules: profiles (:mod:`~hs_notebook.sandbox.profiles`), the
typed results (:mod:`~hs_notebook.sandbox.mediaset`), the ffmpeg runner
(:mod:`~hs_notebook.sandbox.ffmpeg`) and the cache (:mod:`~hs_notebook.sandbox.cache`);
this module orchestrates them and re-exports what a caller needs.

Generation runs under an exclusive file lock, into a temporary directory beside the final
one that is renamed into place when complete, so concurrent first use from threads or
processes is safe and a crashed run leaves nothing that is mistaken for a finished media
set (its temporary directory is removed by the next run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from hs_notebook.errors import SandboxError
from hs_notebook.sandbox import ffmpeg
from hs_notebook.sandbox.cache import (
    FileLock,
    cache_root,
    list_files,
    load_media,
    media_dir,
    remove_leftovers,
    write_manifest,
)
from hs_notebook.sandbox.defects import MEDIA_DEFECTS, check_media_defects, make_defect
from hs_notebook.sandbox.encode import (
    encode_original,
    encode_renditions,
    extract_poster,
    make_storyboard,
)
from hs_notebook.sandbox.ffmpeg import ffmpeg_exe
from hs_notebook.sandbox.mediaset import (
    GENERATOR_VERSION,
    MediaSet,
    RenditionMedia,
    SegmentFile,
    StoryboardCue,
    StoryboardMedia,
    TextTrackMedia,
)
from hs_notebook.sandbox.profiles import PROFILES, LadderStep, Profile, get_profile
from hs_notebook.sandbox.texttracks import write_text_tracks
from hs_notebook.sandbox.tsinfo import first_video_pts

__all__ = [
    "GENERATOR_VERSION",
    "MEDIA_DEFECTS",
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


def ensure_media(
    profile: str = "demo",
    *,
    cache_dir: Path | str | None = None,
    progress: Callable[[str], None] | None = None,
    defect: str = "",
) -> MediaSet:
    """Return the media for ``profile``, generating it once into the cache.

    Args:
        profile: a key of :data:`PROFILES` (``"demo"`` or ``"tiny"``).
        cache_dir: cache root; default ``$HS_NOTEBOOK_CACHE``, ``$XDG_CACHE_HOME/hs_notebook``
            or ``~/.cache/hs_notebook``.  Media goes to ``media/<profile>-v<N>/`` under it.
        progress: called with short status lines (``"encoding renditions"``) while generating.
        defect: a key of :data:`MEDIA_DEFECTS` for the same video with that defect (made
            from the clean media, which is generated first when missing), ``""`` for none.

    A cached, complete media set is loaded from its ``manifest.json`` without running
    ffmpeg.  Otherwise generation runs under a file lock into a temporary directory that
    is renamed into place, so concurrent callers (threads or processes) all get the same
    complete set.  Leftovers of a crashed run are removed first.

    Raises:
        SandboxError: unknown profile, ffmpeg missing or failing (the message quotes the
            tail of ffmpeg's stderr), or output that does not meet the profile.
        InvalidArgument: an unknown ``defect``.
    """
    prof = get_profile(profile)
    if defect:
        (defect,) = check_media_defects(defect)
    say = progress or (lambda _msg: None)
    final = media_dir(prof.name, cache_dir, defect)
    media = load_media(final, prof, defect)
    if media is not None:
        return media
    if defect:
        clean = ensure_media(prof.name, cache_dir=cache_dir, progress=progress)

        def build(root: Path) -> MediaSet:
            return make_defect(prof, clean, defect, root, say)
    else:

        def build(root: Path) -> MediaSet:
            return _generate(prof, root, say)

    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SandboxError(
            f"cannot create the media cache directory {final.parent}: {exc}"
        ) from exc
    lock = final.parent / f"{final.name}.lock"
    with FileLock(
        lock, on_wait=lambda: say(f"waiting for another process to generate {final.name}")
    ):
        media = load_media(final, prof, defect)  # another caller may have finished meanwhile
        if media is not None:
            return media
        remove_leftovers(final)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
        try:
            started = time.monotonic()
            made = build(tmp)
            say("writing manifest")
            write_manifest(
                replace(
                    made,
                    generation_seconds=round(time.monotonic() - started, 3),
                    files=list_files(tmp),
                )
            )
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    media = load_media(final, prof, defect)
    if media is None:  # pragma: no cover - would mean the manifest we just wrote is unreadable
        raise SandboxError(f"generated media in {final} but could not read it back")
    say(f"media {final.name} ready in {media.generation_seconds:.1f} s")
    return media


def _generate(prof: Profile, root: Path, say: Callable[[str], None]) -> MediaSet:
    """Generate every file of ``prof`` into ``root``; the caller writes the manifest."""
    say(f"generating media {prof.name} with {Path(ffmpeg.ffmpeg_exe()).name}")
    width, height = prof.original_size
    say(f"encoding the original upload ({width}x{height})")
    original = encode_original(prof, width, height, root / "original.mp4")

    names = ", ".join(s.name for s in prof.ladder)
    say(f"encoding renditions {names} from the original")
    renditions = encode_renditions(prof, prof.ladder, original, root / "renditions")
    renditions.sort(key=lambda r: r.average_bandwidth)
    top = max(renditions, key=lambda r: r.width)

    say("poster")
    poster = extract_poster(top.mp4, root / "poster.jpg")

    say("storyboard")
    small = [r for r in renditions if r.width >= prof.tile_width and r.height >= prof.tile_height]
    source = min(small or renditions, key=lambda r: r.width).mp4
    storyboard = make_storyboard(prof, source, root / "storyboard")

    say("text tracks")
    starts = {r.name: first_video_pts(r.segments[0].path.read_bytes()) for r in renditions}
    if len(set(starts.values())) != 1:
        raise SandboxError(f"renditions start at different PTS (90 kHz): {starts}")
    text_tracks = write_text_tracks(prof, root / "text", starts[top.name])

    return MediaSet(
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
    )
