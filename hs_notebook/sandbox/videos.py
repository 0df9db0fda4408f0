"""The sandbox's catalogue: projects, videos and the ids of everything each video owns.

Project ``1`` keeps originals and holds the private video ``v-demo``, the public video
``v-public`` and the catalog videos ``v-cat-00001``...; project ``2`` has
``keep_originals=False`` and holds the private ``v-noorig``.  Preset ids are
``<video>-<rendition>``, text track ids ``<video>-<lang>``, poster ids ``<video>-poster``,
storyboard ids integers from 1001 (one per video).  A sandbox made with ``media_defects=``
also holds one private video ``v-defect-<name>`` per defect in project 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from hs_notebook.sandbox.defects import defect_video_id
from hs_notebook.sandbox.mediaset import MediaSet

__all__ = [
    "FIRST_STORYBOARD_ID",
    "MAIN_PROJECT_ID",
    "MAIN_VIDEO_ID",
    "NO_ORIGINALS_PROJECT_ID",
    "NO_ORIGINALS_VIDEO_ID",
    "PUBLIC_VIDEO_ID",
    "Catalog",
    "ProjectInfo",
    "VideoInfo",
    "build_catalog",
]

MAIN_PROJECT_ID = 1
NO_ORIGINALS_PROJECT_ID = 2
MAIN_VIDEO_ID = "v-demo"
PUBLIC_VIDEO_ID = "v-public"
NO_ORIGINALS_VIDEO_ID = "v-noorig"
FIRST_STORYBOARD_ID = 1001


@dataclass(frozen=True)
class ProjectInfo:
    """A sandbox project."""

    project_id: int
    name: str
    keep_originals: bool


@dataclass(frozen=True)
class VideoInfo:
    """A sandbox video and the ids of everything it owns.

    ``presets`` maps rendition name -> preset id (ascending bandwidth), ``text_tracks``
    maps language -> text track id.  ``defect`` names the media defect the video is served
    with (:data:`hs_notebook.sandbox.defects.MEDIA_DEFECTS`), ``""`` for the clean media.
    """

    video_id: str
    project_id: int
    private: bool
    presets: dict[str, str]
    text_tracks: dict[str, str]
    storyboard_id: int
    poster_id: str
    defect: str = ""


@dataclass
class Catalog:
    """Every id of the sandbox, and the video owning each (with the item's index)."""

    projects: dict[int, ProjectInfo] = field(default_factory=dict)
    videos: dict[str, VideoInfo] = field(default_factory=dict)
    presets: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (video, index)
    text_tracks: dict[str, tuple[str, int]] = field(default_factory=dict)
    storyboards: dict[int, str] = field(default_factory=dict)
    posters: dict[str, str] = field(default_factory=dict)


def build_catalog(media: MediaSet, catalog_size: int, defects: Sequence[str] = ()) -> Catalog:
    """The catalogue: the fixed videos, ``catalog_size`` catalog videos, then one private
    video per media defect in ``defects`` (id from :func:`defect_video_id`), all in project
    1 but ``v-noorig``.  Every video has ``media``'s renditions and text tracks."""
    cat = Catalog()
    cat.projects[MAIN_PROJECT_ID] = ProjectInfo(MAIN_PROJECT_ID, "Sandbox", True)
    cat.projects[NO_ORIGINALS_PROJECT_ID] = ProjectInfo(
        NO_ORIGINALS_PROJECT_ID, "Sandbox (keep_originals=False)", False
    )
    specs: list[tuple[str, int, bool, str]] = [
        (MAIN_VIDEO_ID, MAIN_PROJECT_ID, True, ""),
        (PUBLIC_VIDEO_ID, MAIN_PROJECT_ID, False, ""),
        (NO_ORIGINALS_VIDEO_ID, NO_ORIGINALS_PROJECT_ID, True, ""),
    ]
    specs += [(f"v-cat-{i:05d}", MAIN_PROJECT_ID, True, "") for i in range(1, catalog_size + 1)]
    specs += [(defect_video_id(d), MAIN_PROJECT_ID, True, d) for d in defects]
    for n, (video_id, project_id, private, defect) in enumerate(specs):
        presets = {r.name: f"{video_id}-{r.name}" for r in media.renditions}
        tracks = {t.language: f"{video_id}-{t.language}" for t in media.text_tracks}
        storyboard_id = FIRST_STORYBOARD_ID + n
        poster_id = f"{video_id}-poster"
        cat.videos[video_id] = VideoInfo(
            video_id=video_id,
            project_id=project_id,
            private=private,
            presets=presets,
            text_tracks=tracks,
            storyboard_id=storyboard_id,
            poster_id=poster_id,
            defect=defect,
        )
        for i, preset_id in enumerate(presets.values()):
            cat.presets[preset_id] = (video_id, i)
        for i, track_id in enumerate(tracks.values()):
            cat.text_tracks[track_id] = (video_id, i)
        cat.storyboards[storyboard_id] = video_id
        cat.posters[poster_id] = video_id
    return cat
