"""The sandbox's media defects: real media with one thing wrong, for the media-level QA.

Each defect is a media set of its own (``media/<profile>-<defect>-v<N>`` in the cache), made
from the clean one: the files that do not change are hard-linked (copied where links are not
possible), the rendition that changes is re-encoded from the same original upload with the
bundled ffmpeg, and declared values that lie are recorded in the manifest
(:attr:`RenditionMedia.declared`, :attr:`SegmentFile.extinf`), so the playlists served say
what they say and the media says what it is.  :data:`MEDIA_DEFECTS` lists them; a
:class:`~hs_notebook.sandbox.Sandbox` made with ``media_defects=`` serves each as a private
video ``v-defect-<name with dashes>`` in project 1 (:func:`defect_video_id`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from hs_notebook.errors import InvalidArgument
from hs_notebook.sandbox.cache import rebase
from hs_notebook.sandbox.encode import Tweak, encode_renditions
from hs_notebook.sandbox.mediaset import MediaSet, RenditionMedia
from hs_notebook.sandbox.profiles import Profile
from hs_notebook.sandbox.texttracks import write_text_tracks

__all__ = [
    "MEDIA_DEFECTS",
    "WASTED_RUNG_QP",
    "WRONG_CODECS",
    "WRONG_FRAME_RATE",
    "check_media_defects",
    "defect_target",
    "defect_video_id",
    "make_defect",
]

#: Video codec declared by the ``codecs`` defect: Constrained Baseline level 3.0, for a
#: High-profile stream of a higher level.
WRONG_CODECS = "avc1.42e01e"
#: FRAME-RATE declared by the ``frame_rate`` defect (no sandbox profile runs at 25 fps).
WRONG_FRAME_RATE = "25.000"
#: x264's lowest quantiser in the ``wasted_rung`` defect: the picture is starved while CBR
#: filler keeps the rung's bitrate, so it scores below the rung beneath at more bits.
WASTED_RUNG_QP = 42
#: Seconds every EXTINF of the ``extinf_drift`` defect adds to its segment's real duration
#: (at most this, and at most a fifth of a segment, so EXTINF still rounds to the target).
_EXTINF_DRIFT = 0.45

#: Defect name -> what is wrong in the media that the sandbox serves for it.  "The target
#: rung" is the second-highest rendition (``720p`` in ``demo``, ``540p`` in ``tiny``).
MEDIA_DEFECTS: dict[str, str] = {
    "no_idr": "the target rung's segments after the first start on a P frame (keyframes half "
    "a segment off the segment starts, segments cut by time)",
    "codecs": f"the target rung declares CODECS {WRONG_CODECS} (Baseline 3.0) for its "
    "High-profile stream",
    "resolution": "the target rung declares a RESOLUTION 1.125 times its real frame size",
    "frame_rate": f"the target rung declares FRAME-RATE {WRONG_FRAME_RATE}, not its real rate",
    "misaligned": "the target rung's segment boundaries are half a segment later than the "
    "other rungs' (its first segment is 1.5 segments long), so players cannot switch cleanly",
    "no_timestamp_map": "the WebVTT files carry no X-TIMESTAMP-MAP, so over MPEG-TS (first "
    "PTS 1.4 s) players show every cue about 1.4 s early",
    "extinf_drift": "every EXTINF declares up to 0.45 s more than its segment lasts, so the "
    "playlist timeline drifts from the media",
    "wasted_rung": f"the target rung is starved (x264 qpmin {WASTED_RUNG_QP}; CBR filler keeps "
    "its bitrate): more bits than the rung beneath, lower VMAF against the original",
}


def defect_video_id(defect: str) -> str:
    """The sandbox video id serving ``defect``: ``v-defect-<name with dashes>``."""
    return f"v-defect-{defect.replace('_', '-')}"


def defect_target(media: MediaSet) -> RenditionMedia:
    """The rung a per-rendition defect applies to: the second highest (or the only one)."""
    return media.renditions[max(0, len(media.renditions) - 2)]


def check_media_defects(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Validate a ``media_defects=`` argument: ``None`` or ``()`` (none), ``"all"``, one name
    or an iterable of names of :data:`MEDIA_DEFECTS`; returns the names, in table order."""
    if value is None:
        return ()
    if value == "all":
        return tuple(MEDIA_DEFECTS)
    names = [value] if isinstance(value, str) else value
    try:
        wanted = set(names)
    except TypeError:
        raise InvalidArgument(
            f"media_defects must be None, 'all', a defect name or a list of them, got {value!r}"
        ) from None
    unknown = sorted(str(n) for n in wanted if n not in MEDIA_DEFECTS)
    if unknown:
        raise InvalidArgument(
            f"unknown media defect(s) {', '.join(unknown)}; choose from {', '.join(MEDIA_DEFECTS)}"
            " or 'all'"
        )
    return tuple(d for d in MEDIA_DEFECTS if d in wanted)


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file under ``source`` (but the manifest) into ``target``; copy where
    the file system cannot link."""
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name == "manifest.json":
            continue
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)


def _drift(prof: Profile) -> float:
    return round(min(_EXTINF_DRIFT, prof.segment_duration / 5), 6)


def make_defect(
    prof: Profile, clean: MediaSet, defect: str, root: Path, say: Callable[[str], None]
) -> MediaSet:
    """Build the media set of ``defect`` into the empty directory ``root`` from ``clean``.

    Files that change are removed from ``root`` before they are written again (never written
    through a hard link into the clean set).  Returns the set with ``defect`` set; the
    caller fills in ``files`` and writes the manifest.
    """
    _link_tree(clean.root, root)
    media = replace(rebase(clean, root), defect=defect)
    target = defect_target(media)
    renditions = list(media.renditions)
    index = renditions.index(target)

    def reencode(tweak: Tweak) -> None:
        say(f"re-encoding {target.name} for defect {defect}")
        shutil.rmtree(target.mp4.parent)
        step = next(s for s in prof.ladder if s.name == target.name)
        (fresh,) = encode_renditions(
            prof, [step], media.original, target.mp4.parent.parent, {step.name: tweak}
        )
        renditions[index] = fresh

    half = prof.segment_duration / 2
    if defect == "no_idr":
        reencode(Tweak(keyframe_offset=half, split_by_time=True))
    elif defect == "misaligned":
        reencode(Tweak(keyframe_offset=half))
    elif defect == "wasted_rung":
        reencode(Tweak(qp_min=WASTED_RUNG_QP))
    elif defect == "codecs":
        declared = f"{WRONG_CODECS},{target.audio_codec}"
        renditions[index] = replace(target, declared={"CODECS": declared})
    elif defect == "resolution":
        w, h = (round(v * 1.125 / 2) * 2 for v in (target.width, target.height))
        renditions[index] = replace(target, declared={"RESOLUTION": f"{w}x{h}"})
    elif defect == "frame_rate":
        renditions[index] = replace(target, declared={"FRAME-RATE": WRONG_FRAME_RATE})
    elif defect == "extinf_drift":
        drift = _drift(prof)
        renditions = [
            replace(
                r,
                segments=tuple(replace(s, extinf=round(s.duration + drift, 6)) for s in r.segments),
            )
            for r in renditions
        ]
    elif defect == "no_timestamp_map":
        text_dir = media.text_tracks[0].path.parent
        shutil.rmtree(text_dir)  # the links, not the clean files
        return replace(media, text_tracks=write_text_tracks(prof, text_dir, None))
    else:  # pragma: no cover - check_media_defects() validated the name
        raise InvalidArgument(f"unknown media defect {defect!r}")
    return replace(media, renditions=tuple(renditions))
