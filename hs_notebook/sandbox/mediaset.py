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
GENERATOR_VERSION: int = 2


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
