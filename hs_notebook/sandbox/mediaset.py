"""The generated media of one profile, as typed records: :class:`MediaSet` and its parts.

Units follow the package conventions: bitrates are int bits/s, durations float seconds,
sizes int bytes.  ``bandwidth`` is the peak segment bitrate (max of ``size*8/duration``),
``average_bandwidth`` is ``sum(size)*8/sum(duration)``, as in RFC 8216.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from hs_notebook.errors import SandboxError

__all__ = [
    "GENERATOR_VERSION",
    "MediaSet",
    "RenditionMedia",
    "SegmentFile",
    "StoryboardCue",
    "StoryboardMedia",
    "TextTrackMedia",
]

#: Bump whenever the generated output changes; it is part of the cache directory name.
#: 3: renditions encoded from the original upload (no per-rendition label), new content,
#: WebVTT X-TIMESTAMP-MAP, media defects.
#: 4: demo 1080p rung at 5 Mbps.
GENERATOR_VERSION: int = 4


@dataclass(frozen=True)
class SegmentFile:
    """One MPEG-TS segment: file name, absolute path, exact duration (s), size (bytes).

    ``extinf`` is the duration its media playlist declares when that is not ``duration``
    (the ``extinf_drift`` media defect), else ``None``.
    """

    name: str
    path: Path
    duration: float
    size: int
    extinf: float | None = None

    @property
    def declared_duration(self) -> float:
        """The EXTINF the media playlist carries for this segment (seconds)."""
        return self.duration if self.extinf is None else self.extinf


@dataclass(frozen=True)
class RenditionMedia:
    """One rendition: segments, static MP4 and the codecs/bitrates measured from them.

    Every field is measured from the media.  ``declared`` holds master-playlist attribute
    values that differ from the measured ones on purpose (``{"CODECS": ...}``,
    ``{"RESOLUTION": ...}``, ``{"FRAME-RATE": ...}``: the sandbox's media defects); it is
    empty for a clean ladder.
    """

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
    declared: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TextTrackMedia:
    """A WebVTT subtitle track.

    ``timestamp_map`` is the ``MPEGTS`` value (90 kHz) of the file's
    ``X-TIMESTAMP-MAP=MPEGTS:<n>,LOCAL:00:00:00.000`` header: the first video PTS of the
    first media segment, so cue times count from the start of the video.  ``None`` when the
    file carries no map (the ``no_timestamp_map`` media defect).
    """

    language: str
    name: str
    default: bool
    path: Path
    duration: float
    cue_count: int = 0
    timestamp_map: int | None = None


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
    """Everything generated for one profile, rooted at the cache directory ``root``.

    ``defect`` names the media defect this set carries (a key of
    :data:`hs_notebook.sandbox.defects.MEDIA_DEFECTS`), ``""`` for the clean media.
    """

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
    defect: str = ""
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
        defect = f", defect={self.defect!r}" if self.defect else ""
        return (
            f"MediaSet(profile={self.profile!r}{defect}, duration={self.duration}, "
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
            f"<div><b>Sandbox media {html.escape(self.profile)!s}</b>"
            + (f" (defect <code>{html.escape(self.defect)}</code>)" if self.defect else "")
            + " &middot; "
            f"{self.duration:g} s &middot; <code>{html.escape(str(self.root))}</code>"
            "<table><thead><tr><th>rendition</th><th>size</th><th>fps</th><th>codecs</th>"
            "<th>average_bandwidth</th><th>bandwidth</th><th>segments</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )
