"""What the QA rules look at: a :class:`View` of one ladder, built once per QA run from
the ladder's typed facts (:meth:`hs_notebook.ladder.Ladder.facts`) and, when measured, its
segment sizes.  Rules yield :class:`Hit` objects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hs_notebook.hls import MasterPlaylistInfo, MediaPlaylistInfo
from hs_notebook.ladder import LadderFacts, media_key
from hs_notebook.qa.bitrates import measured_bitrates, subject_of

__all__ = ["Hit", "PlaylistFacts", "SubtitleFacts", "VariantFacts", "View", "build_view"]


@dataclass(frozen=True)
class Hit:
    """One problem a rule found (the rule and severity are added by the engine)."""

    subject: str
    message: str
    measured: str = ""
    expected: str = ""


@dataclass
class PlaylistFacts:
    """One variant's media playlist: its key in the ladder, facts and segments."""

    key: str
    subject: str
    info: MediaPlaylistInfo
    durations: np.ndarray  # EXTINF durations, float seconds
    byteranges: bool  # some segment has EXT-X-BYTERANGE
    discontinuities: int  # number of EXT-X-DISCONTINUITY tags
    key_iv: bool  # some EXT-X-KEY has IV
    key_format: bool  # some EXT-X-KEY has KEYFORMAT / KEYFORMATVERSIONS


@dataclass
class VariantFacts:
    """One ``#EXT-X-STREAM-INF`` row, with plain Python values (``None`` for missing)."""

    order: int
    key: str | None
    subject: str
    bandwidth: int | None
    average_bandwidth: int | None
    width: int | None
    height: int | None
    frame_rate: float | None
    codecs: str | None
    video_codec: str | None

    @property
    def is_video(self) -> bool:
        """A video variant: CODECS names a video codec, or CODECS is absent (assume video)."""
        return self.video_codec is not None or self.codecs is None

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


def build_view(facts: LadderFacts, sizes: pd.DataFrame | None) -> View:
    """The view of a ladder's facts (and of its measured segment sizes, when given)."""
    variants: list[VariantFacts] = []
    for var in facts.variants:
        key = media_key(var)
        variants.append(
            VariantFacts(
                order=var.order,
                key=key,
                subject=subject_of(key, var.order),
                bandwidth=var.bandwidth,
                average_bandwidth=var.average_bandwidth,
                width=var.width,
                height=var.height,
                frame_rate=var.frame_rate,
                codecs=var.codecs,
                video_codec=var.video_codec,
            )
        )
    subjects = {v.key: v.subject for v in variants if v.key is not None}
    playlists = {
        key: PlaylistFacts(
            key=key,
            subject=subjects.get(key, subject_of(key, 0)),
            info=media.info,
            durations=media.durations,
            byteranges=media.byteranges,
            discontinuities=media.discontinuities,
            key_iv=media.key_iv,
            key_format=media.key_format,
        )
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
        measured=measured_bitrates(sizes) if sizes is not None else {},
    )
