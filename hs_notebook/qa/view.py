"""What the QA rules look at: a :class:`View` of one ladder, built once per QA run from
the ladder's typed facts (:meth:`hs_notebook.ladder.Ladder.facts`) and, when measured, its
segment sizes.  Rules yield :class:`Hit` objects."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

from hs_notebook.hls import MasterPlaylistInfo, MediaPlaylist, Variant
from hs_notebook.ladder import LadderFacts, media_key
from hs_notebook.media_tables import ProbedLadder
from hs_notebook.qa.bitrates import measured_bitrates, subject_of, target_durations
from hs_notebook.quality_rules import ScoredLadder

__all__ = ["Hit", "PlaylistFacts", "SubtitleFacts", "VariantFacts", "View", "build_view"]


@dataclass(frozen=True)
class Hit:
    """One problem a rule found (the rule and severity are added by the engine)."""

    subject: str
    message: str
    measured: str = ""
    expected: str = ""


@dataclass(frozen=True, slots=True)
class PlaylistFacts:
    """One variant's media playlist: its key in the ladder, how findings name it, and its
    facts (``media.info``, ``media.durations``, ...)."""

    key: str
    subject: str
    media: MediaPlaylist


@dataclass(frozen=True, slots=True)
class VariantFacts(Variant):
    """One ``#EXT-X-STREAM-INF`` row (:class:`hs_notebook.hls.Variant`), with its media
    key (preset id, else URI) and how findings name it."""

    key: str | None
    subject: str

    @property
    def is_video(self) -> bool:
        """A video rung: CODECS names a video codec; or CODECS names no audio codec either
        (absent, or unknown codecs) and RESOLUTION is given.  A variant whose CODECS list
        only audio, or with neither CODECS nor RESOLUTION (an audio-only fallback), is not
        a video rung."""
        if self.video_codec is not None:
            return True
        return self.audio_codec is None and self.width is not None

    @property
    def ladder(self) -> tuple[str, str]:
        """(pathway, video range) of the ladder this variant is a rung of: the copies of a
        ladder on two content-steering pathways (PATHWAY-ID, absent means ``"."``) are two
        ladders, and so are the SDR, PQ and HLG rungs (VIDEO-RANGE, absent means SDR)."""
        return (self.pathway_id or ".", (self.video_range or "SDR").strip().upper())

    @property
    def family(self) -> str:
        """The video codec family (``avc1``, ``hvc1``, ...) used to group ladders."""
        if not self.video_codec:
            return ""
        return self.video_codec.split(",")[0].strip().split(".")[0].lower()

    @property
    def pixels(self) -> int | None:
        return self.width * self.height if self.width and self.height else None


@dataclass
class SubtitleFacts:
    """One ``#EXT-X-MEDIA TYPE=SUBTITLES`` rendition."""

    subject: str
    language: str | None
    name: str | None
    autoselect: bool


@dataclass
class View:
    """What the rules look at, built once per :func:`qa` call."""

    master: MasterPlaylistInfo
    variants: list[VariantFacts]
    playlists: dict[str, PlaylistFacts]
    subtitles: list[SubtitleFacts]
    iframe_count: int
    instream_ids: list[str]
    measured: dict[str, tuple[float, float]]  # key -> (peak, average) bits/s
    media: ProbedLadder | None = None  # the probed segments, for the media rules
    quality: ScoredLadder | None = None  # the scored renditions, for the quality rules


_VARIANT_FIELDS = tuple(f.name for f in fields(Variant))


def build_view(
    facts: LadderFacts,
    sizes: pd.DataFrame | None,
    media: ProbedLadder | None = None,
    quality: ScoredLadder | None = None,
) -> View:
    """The view of a ladder's facts (and of its measured segment sizes, probed media and
    quality scores, when given)."""
    variants: list[VariantFacts] = []
    for var in facts.variants:
        key = media_key(var)
        row = {name: getattr(var, name) for name in _VARIANT_FIELDS}
        variants.append(VariantFacts(**row, key=key, subject=subject_of(key, var.order)))
    subjects = {v.key: v.subject for v in variants if v.key is not None}
    playlists = {
        key: PlaylistFacts(key, subjects.get(key, subject_of(key, 0)), media)
        for key, media in facts.playlists.items()
    }
    subtitles = [
        SubtitleFacts(
            str(t.text_track_id or t.name or f"subtitles {t.order}"),
            t.language,
            t.name,
            bool(t.autoselect),
        )
        for t in facts.text_tracks
        if str(t.type or "").upper() == "SUBTITLES"
    ]
    return View(
        master=facts.master,
        variants=variants,
        playlists=playlists,
        subtitles=subtitles,
        iframe_count=facts.iframe_count,
        instream_ids=[str(t.instream_id) for t in facts.text_tracks if t.instream_id is not None],
        measured=(measured_bitrates(sizes, target_durations(facts)) if sizes is not None else {}),
        media=media,
        quality=quality,
    )
