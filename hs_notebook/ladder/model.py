"""The :class:`Ladder` object: one video's master playlist and preset playlists, laid out
as tables on first use, with on-demand fetches (storyboards, cues, sprites, segment sizes),
and :class:`LadderFacts`, the typed facts :mod:`hs_notebook.qa` reads.

Columns this package adds to the tables of :mod:`hs_notebook.hls` are documented in
:data:`COLUMNS`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import math
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from hs_notebook.errors import HeapStreamError, InvalidArgument, PlaylistError
from hs_notebook.hls import (
    AudioRendition,
    IFrameStream,
    MasterPlaylist,
    MasterPlaylistInfo,
    MediaPlaylist,
    TextTrack,
    Variant,
    read_media,
    rows_of,
    segments_table,
    table_of,
)
from hs_notebook.http import (
    AsyncClient,
    Client,
    child_url,
    default_client,
    token_of,
    without_token,
)
from hs_notebook.ladder.probing import (
    audio_playlists,
    media_plan,
    probe_ladder_async,
    subtitle_playlists,
)
from hs_notebook.ladder.propagation import effective_variants, propagate_tokens, shown, with_uris
from hs_notebook.ladder.sizes import segment_size
from hs_notebook.media_tables import ProbedLadder
from hs_notebook.probe_fetch import DEPTHS, Progress
from hs_notebook.redaction import redact, redact_frame
from hs_notebook.tokens import Token
from hs_notebook.urls import DEFAULT_BASE_URL, HeapStream, parse_signed_url
from hs_notebook.validate import choice, flag, positive_int
from hs_notebook.vtt import cues_table, storyboard_table

__all__ = [
    "COLUMNS",
    "RENDITION_DISPLAY_COLUMNS",
    "Ladder",
    "LadderFacts",
    "LadderMedia",
    "gather_all",
    "media_key",
]

#: The renditions columns shown in displays (the notebook repr and the ladder widget).
RENDITION_DISPLAY_COLUMNS: tuple[str, ...] = (
    "preset_id",
    "width",
    "height",
    "bandwidth",
    "average_bandwidth",
    "frame_rate",
    "codecs",
    "segment_count",
    "duration",
    "target_duration",
    "max_segment_duration",
    "playlist_type",
    "uri",
)

T = TypeVar("T")

#: Columns this module adds to (or builds beside) the tables of :mod:`hs_notebook.hls`.
COLUMNS: dict[str, dict[str, str]] = {
    "renditions": {
        "segment_count": "number of media segments in the preset playlist (Int64, <NA> when "
        "its playlist is unknown)",
        "duration": "sum of the EXTINF durations of the preset playlist, float seconds",
        "target_duration": "EXT-X-TARGETDURATION of the preset playlist, int seconds",
        "max_segment_duration": "longest EXTINF, float seconds",
        "mean_segment_duration": "mean EXTINF, float seconds",
        "playlist_type": "EXT-X-PLAYLIST-TYPE (VOD / EVENT), or <NA>",
        "endlist": "the preset playlist has EXT-X-ENDLIST (boolean)",
        "media_sequence": "EXT-X-MEDIA-SEQUENCE of the preset playlist (0 when absent)",
        "version": "EXT-X-VERSION of the preset playlist, or <NA>",
        "independent_segments": "the preset playlist has EXT-X-INDEPENDENT-SEGMENTS (boolean)",
    },
    "segments": {
        "size": "bytes of the segment, only present once measured "
        "(:meth:`Ladder.measure_segment_sizes`)",
    },
    "segment_sizes": {
        "preset_id": "the preset (or variant URI when it has no preset id)",
        "index": "0-based position of the segment in its playlist",
        "uri": "the segment URL that was measured (token kept; redact before showing)",
        "duration": "EXTINF duration, float seconds",
        "size": "bytes: Content-Length of a HEAD, else the total of a Content-Range "
        "answering Range: bytes=0-0, or the EXT-X-BYTERANGE length",
        "bitrate": "size * 8 / duration, int bits/s (<NA> when the duration is 0)",
    },
}

_NO_ORIGIN = (
    "this ladder was built from text; no origin to fetch from (use fetch_ladder() or "
    "fetch_ladder_url() for a ladder that can fetch storyboards, cues, sprites and sizes)"
)

_CODEC_NAMES = {
    "avc1": "H.264",
    "avc3": "H.264",
    "hvc1": "HEVC",
    "hev1": "HEVC",
    "dvh1": "Dolby Vision",
    "dvhe": "Dolby Vision",
    "av01": "AV1",
    "vp09": "VP9",
}


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


async def gather_all(coros: Sequence[Coroutine[Any, Any, T]], limit: int | None = None) -> list[T]:
    """Run all, bounded by ``limit``; on the first failure cancel the rest and raise it."""
    if not coros:
        return []
    sem = asyncio.Semaphore(limit) if limit else None

    async def bounded(coro: Coroutine[Any, Any, T]) -> T:
        if sem is None:
            return await coro
        async with sem:
            return await coro

    tasks = [asyncio.ensure_future(bounded(c)) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _facts_row(facts: MediaPlaylist) -> dict[str, Any]:
    """The ``COLUMNS["renditions"]`` facts of one media playlist (no segments table)."""
    info, durations = facts.info, facts.durations
    return {
        "segment_count": info.segment_count,
        "duration": float(info.total_duration),
        "target_duration": info.target_duration,
        "max_segment_duration": float(durations.max()) if len(durations) else None,
        "mean_segment_duration": float(durations.mean()) if len(durations) else None,
        "playlist_type": info.playlist_type,
        "endlist": info.endlist,
        "media_sequence": info.media_sequence,
        "version": info.version,
        "independent_segments": info.independent_segments,
    }


_FACT_DTYPES = {
    "segment_count": "Int64",
    "duration": "Float64",
    "target_duration": "Int64",
    "max_segment_duration": "Float64",
    "mean_segment_duration": "Float64",
    "playlist_type": "string",
    "endlist": "boolean",
    "media_sequence": "Int64",
    "version": "Int64",
    "independent_segments": "boolean",
}


class LadderMedia:
    """One fetched (or given) media playlist of a ladder: its key (preset id, else variant
    URI), its text, the URL it resolves against, its facts (:class:`hs_notebook.hls.MediaPlaylist`,
    parsed and validated at once), and its segments table (built on first use)."""

    __slots__ = ("_segments", "base_url", "facts", "key", "text")

    def __init__(self, key: str, text: str, base_url: str | None) -> None:
        self.key = key
        self.text = text
        self.base_url = base_url
        self._segments: pd.DataFrame | None = None
        try:
            self.facts: MediaPlaylist = read_media(text, base_url)
        except PlaylistError as exc:
            raise self._error(exc) from exc

    def _error(self, exc: PlaylistError) -> PlaylistError:
        where = f" ({redact(self.base_url)})" if self.base_url else ""
        return PlaylistError(f"the media playlist of {shown(self.key)}{where}: {exc}")

    @property
    def segments(self) -> pd.DataFrame:
        """:func:`hs_notebook.hls.segments_table` with effective URIs (built once)."""
        if self._segments is None:
            try:
                table = segments_table(self.text, base_uri=self.base_url)
            except PlaylistError as exc:  # pragma: no cover - validated in __init__
                raise self._error(exc) from exc
            table = with_uris(table, self.base_url)  # the fMP4 init segment too
            self._segments = with_uris(table, self.base_url, "init_uri")
        return self._segments


def media_key(variant: Variant) -> str | None:
    """The key of a variant's media playlist in a ladder: its preset id, else its URI."""
    if not _missing(variant.preset_id):
        return str(variant.preset_id)
    if not _missing(variant.uri):
        return str(variant.uri)
    return None


def _preset_list(preset_ids: Any) -> list[str] | None:
    """``preset_ids`` as a list: ``None`` stays ``None`` (all presets), one id (a str)
    becomes ``[id]``, an iterable of str ids a list of them."""
    if preset_ids is None:
        return None
    if isinstance(preset_ids, str):
        return [preset_ids]
    if isinstance(preset_ids, bytes | bytearray) or not isinstance(preset_ids, Iterable):
        raise InvalidArgument(
            f"preset_ids must be a preset id (a str), a list of them, or None for all; got "
            f"{type(preset_ids).__name__}"
        )
    out = list(preset_ids)
    for pid in out:
        if not isinstance(pid, str):
            raise InvalidArgument(
                f"preset_ids must hold preset ids (str values of ladder.renditions.preset_id), "
                f"got {type(pid).__name__} {shown(pid)!r}"
            )
    return out


@dataclass(frozen=True, slots=True)
class LadderFacts:
    """What :mod:`hs_notebook.qa` reads of a ladder (:meth:`Ladder.facts`): typed rows and
    facts, the same values the ladder's tables show.

    Attributes:
        master: the master playlist's facts.
        variants: one :class:`~hs_notebook.hls.Variant` per ``#EXT-X-STREAM-INF`` (URIs
            effective), as :attr:`Ladder.renditions` shows them (edits to that table count).
        text_tracks: the subtitles and closed-captions renditions, as
            :attr:`Ladder.text_tracks` shows them.
        iframe_count: number of I-frame streams (rows of :attr:`Ladder.iframes`).
        playlists: ``{media key: facts}`` of every media playlist the ladder has, in ladder
            order (media key: preset id, else variant URI; see :func:`media_key`).
    """

    master: MasterPlaylistInfo
    variants: tuple[Variant, ...]
    text_tracks: tuple[TextTrack, ...]
    iframe_count: int
    playlists: Mapping[str, MediaPlaylist]


# ------------------------------------------------------------------ the Ladder


class Ladder:
    """A video's rendition ladder: the master playlist, every preset playlist, as tables.

    Build one with :func:`fetch_ladder`, :func:`fetch_ladder_url` (or their async variants), or
    :func:`ladder_from_text` (no HTTP).  Attributes:

    - ``master_url``: the signed master URL (real token; use ``redact`` to show it).
    - ``renditions``: :func:`hs_notebook.hls.renditions_table` plus per-preset facts
      (``COLUMNS["renditions"]`` of this module).
    - ``text_tracks``, ``audio``, ``iframes``: the other master tables.
    - ``master_text``, ``media_texts`` (``{preset_id or variant URI: text}``).
    - ``token``: the :class:`~hs_notebook.tokens.Token` (``None`` for public videos).

    Every playlist is parsed and validated when the ladder is built (a malformed one
    raises then); the tables are laid out on first access and kept, so an audit that only
    needs the facts never pays for DataFrames it does not show.
    """

    def __init__(
        self,
        *,
        master_url: str | None,
        master_text: str,
        master: MasterPlaylist,
        media: Mapping[str, LadderMedia],
        base_url: str | None,
        token: Token | None,
        client: Client | None = None,
        aclient: AsyncClient | None = None,
        fetchable: bool = True,
        variants: tuple[Variant, ...] | None = None,
    ) -> None:
        self.master_url = master_url
        self.master_text = master_text
        self.token = token
        self._base = base_url  # where the master was answered (children resolve here)
        self._client = client
        self._aclient = aclient
        self._fetchable = fetchable
        self._media: dict[str, LadderMedia] = dict(media)
        self._sizes: dict[str, pd.Series] = {}
        self._sprites: dict[str, bytes] = {}
        self._storyboard_urls: dict[str, str] = {}
        self._probes: dict[str, ProbedLadder] = {}  # by depth (Ladder.probe)
        # the variants with effective URIs (what the renditions table shows), kept once: the
        # master's own rows (URIs as resolved) are not needed any more
        self._variants = variants if variants is not None else effective_variants(master)
        self._master = dataclasses.replace(master, variants=self._variants)
        # tables are built on first use (an audit of thousands of videos only needs the
        # facts); one assigned or handed out may be edited, so QA then reads the table
        self._tables: dict[str, pd.DataFrame] = {}

    # tables --------------------------------------------------------------------------
    def _table(self, name: str) -> pd.DataFrame:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = self._build(name)
        return table

    def _build(self, name: str) -> pd.DataFrame:
        master, base = self._master, self._base
        if name == "renditions":
            table = table_of(Variant, self._variants)
            for column, array in self._fact_arrays([media_key(v) for v in self._variants]).items():
                table[column] = array
            return table
        if name == "text_tracks":
            return with_uris(table_of(TextTrack, master.text_tracks), base)
        if name == "audio":
            return with_uris(table_of(AudioRendition, master.audio), base)
        return with_uris(table_of(IFrameStream, master.iframes), base)

    @property
    def renditions(self) -> pd.DataFrame:
        """:func:`hs_notebook.hls.renditions_table` (URIs effective) plus the per-preset
        facts of ``COLUMNS["renditions"]``."""
        return self._table("renditions")

    @renditions.setter
    def renditions(self, table: pd.DataFrame) -> None:
        self._tables["renditions"] = table

    @property
    def text_tracks(self) -> pd.DataFrame:
        """:func:`hs_notebook.hls.text_tracks_table` (URIs effective)."""
        return self._table("text_tracks")

    @text_tracks.setter
    def text_tracks(self, table: pd.DataFrame) -> None:
        self._tables["text_tracks"] = table

    @property
    def audio(self) -> pd.DataFrame:
        """:func:`hs_notebook.hls.audio_table` (URIs effective)."""
        return self._table("audio")

    @audio.setter
    def audio(self, table: pd.DataFrame) -> None:
        self._tables["audio"] = table

    @property
    def iframes(self) -> pd.DataFrame:
        """:func:`hs_notebook.hls.iframe_table` (URIs effective)."""
        return self._table("iframes")

    @iframes.setter
    def iframes(self, table: pd.DataFrame) -> None:
        self._tables["iframes"] = table

    def facts(self) -> LadderFacts:
        """The typed facts :mod:`hs_notebook.qa` checks (:class:`LadderFacts`).

        The rows come from the ladder's tables as they are now: a table that was handed
        out or assigned (and may have been edited since) is read back
        (:func:`hs_notebook.hls.rows_of`); one never built is not built for this."""
        tables = self._tables
        master = self._master
        variants: Sequence[Variant] = self._variants
        if "renditions" in tables:
            variants = rows_of(Variant, tables["renditions"])
        tracks: Sequence[TextTrack] = master.text_tracks
        if "text_tracks" in tables:
            tracks = rows_of(TextTrack, tables["text_tracks"])
        iframes = len(tables["iframes"]) if "iframes" in tables else len(master.iframes)
        return LadderFacts(
            master=master.info,
            variants=tuple(variants),
            text_tracks=tuple(tracks),
            iframe_count=iframes,
            playlists={k: m.facts for k, m in self._media.items()},
        )

    # construction --------------------------------------------------------------------
    def _fact_arrays(self, keys: Sequence[str | None]) -> dict[str, Any]:
        # the facts of each media playlist once, then spread over the variants (a variant
        # with no playlist gets <NA> facts)
        rows: list[dict[str, Any]] = []
        slots: dict[str, int] = {}
        where: list[int] = []
        for key in keys:
            slot = slots.get(key, -1) if key is not None else -1
            if slot < 0 and key is not None and key in self._media:
                slot = slots[key] = len(rows)
                rows.append(_facts_row(self._media[key].facts))
            where.append(slot)
        spread = np.asarray(where, dtype=np.intp)
        return {
            name: pd.array([row[name] for row in rows], dtype=dtype).take(  # type: ignore[call-overload]
                spread, allow_fill=True
            )
            for name, dtype in _FACT_DTYPES.items()
        }

    # plain data ----------------------------------------------------------------------
    @property
    def media_texts(self) -> dict[str, str]:
        """``{preset_id (or variant URI): media playlist text}``."""
        return {k: m.text for k, m in self._media.items()}

    @property
    def preset_ids(self) -> list[str]:
        """The keys of :attr:`media_texts`, in ladder order."""
        return list(self._media)

    def _key(self, preset_id: str) -> str:
        if not isinstance(preset_id, str):
            raise InvalidArgument(
                f"a preset id must be a str (a value of ladder.renditions.preset_id), got "
                f"{type(preset_id).__name__}"
            )
        if preset_id in self._media:
            return preset_id
        if "renditions" in self._tables:
            rows = self.renditions[self.renditions["uri"] == preset_id]
            variants: Sequence[Variant] = rows_of(Variant, rows)
        else:
            variants = self._variants
        keys = [media_key(v) for v in variants if v.uri == preset_id]
        for key in keys:
            if key in self._media:
                return key
        known = ", ".join(shown(k) for k in self._media) or "none"
        raise InvalidArgument(
            f"no preset {shown(preset_id)!r} in this ladder (known: {known}); pass a value of "
            "ladder.renditions.preset_id"
        )

    def segments(self, preset_id: str) -> pd.DataFrame:
        """The segments of one preset (:func:`hs_notebook.hls.segments_table` columns, URIs
        effective), from the text already fetched; with a ``size`` column once
        :meth:`measure_segment_sizes` measured it."""
        key = self._key(preset_id)
        frame = self._media[key].segments.copy()
        frame.attrs = dict(self._media[key].segments.attrs)
        sizes = self._sizes.get(key)
        if sizes is not None:
            frame["size"] = pd.array(sizes.reindex(frame["index"]).to_numpy(), dtype="Int64")
        return frame

    @property
    def fetchable(self) -> bool:
        """False for a ladder built from text (:func:`ladder_from_text`): nothing to fetch."""
        return self._fetchable

    # fetching helpers ----------------------------------------------------------------
    def _check_fetchable(self) -> None:
        if not self._fetchable:
            raise HeapStreamError(_NO_ORIGIN)

    def _sync(self) -> Client:
        self._check_fetchable()
        if self._client is not None and not self._client.is_closed:
            return self._client
        return default_client()

    async def _with_async(
        self, client: AsyncClient | None, fn: Callable[[AsyncClient], Awaitable[T]]
    ) -> T:
        self._check_fetchable()
        if client is not None:
            return await fn(client)
        if self._aclient is not None and not self._aclient.is_closed:
            return await fn(self._aclient)
        async with AsyncClient() as temporary:
            return await fn(temporary)

    def _heapstream(self) -> HeapStream:
        signed = parse_signed_url(self.master_url or "")
        if signed is None:
            raise HeapStreamError(
                f"cannot tell the project and origin from the master URL "
                f"{redact(self.master_url)!r}; pass full URLs instead of ids"
            )
        return HeapStream(int(signed.project_id), signed.base_url or DEFAULT_BASE_URL)

    def _token_text(self) -> str:
        if self.token is not None:
            return str(self.token)
        return token_of(self._base or self.master_url or "") or ""

    def _resource_url(self, kind: str, ident: Any) -> str:
        hs = self._heapstream()
        token = self._token_text()
        if token:
            return hs.url(kind, ident, token)
        return without_token(hs.url(kind, ident, "x"))

    # storyboards ---------------------------------------------------------------------
    async def storyboard_async(
        self, storyboard_id: int | str, *, client: AsyncClient | None = None
    ) -> pd.DataFrame:
        """Async :meth:`storyboard`."""
        return await self._with_async(client, lambda ac: self._storyboard(ac, storyboard_id))

    async def _storyboard(self, ac: AsyncClient, storyboard_id: int | str) -> pd.DataFrame:
        url = self._resource_url("storyboard", storyboard_id)
        got = await ac.fetch(url, expect="vtt")
        table = storyboard_table(got.text, base_uri=got.final_url)
        uris = propagate_tokens(got.final_url, table["image_uri"].tolist())
        table["image_uri"] = pd.array(uris, dtype="string")
        table["sprite"] = pd.Categorical(uris)
        self._storyboard_urls[str(storyboard_id)] = got.final_url
        return table

    def storyboard(self, storyboard_id: int | str) -> pd.DataFrame:
        """Fetch a storyboard WebVTT and return its tiles
        (:func:`hs_notebook.vtt.storyboard_table`; ``image_uri`` effective)."""
        return self._sync().run(lambda ac: self._storyboard(ac, storyboard_id))

    def _sprite_url(self, image_uri: str) -> str:
        if not isinstance(image_uri, str) or not image_uri:
            raise InvalidArgument(f"image_uri must be a URL string, got {shown(image_uri)!r}")
        if image_uri.startswith(("http://", "https://")):
            return image_uri.split("#", 1)[0]
        parent = next(reversed(self._storyboard_urls.values()), None)
        if parent is None:
            raise InvalidArgument(
                f"{shown(image_uri)!r} is relative; fetch the storyboard first "
                "(ladder.storyboard(id)) "
                "or pass the absolute image_uri from its table"
            )
        return child_url(parent, image_uri).split("#", 1)[0]

    async def sprite_bytes_async(
        self, image_uri: str, *, client: AsyncClient | None = None
    ) -> bytes:
        """Async :meth:`sprite_bytes`."""
        self._check_fetchable()
        url = self._sprite_url(image_uri)
        if url not in self._sprites:
            self._sprites[url] = await self._with_async(client, lambda ac: ac.get_bytes(url))
        return self._sprites[url]

    def sprite_bytes(self, image_uri: str) -> bytes:
        """The bytes of a storyboard sprite image (an ``image_uri`` of :meth:`storyboard`;
        a ``#xywh=`` fragment is ignored).  Cached per sprite."""
        client = self._sync()
        url = self._sprite_url(image_uri)
        if url not in self._sprites:
            self._sprites[url] = client.get_bytes(url)
        return self._sprites[url]

    # cues -----------------------------------------------------------------------------
    def _text_track_url(self, text_track_id: str) -> str:
        tracks = self.text_tracks
        if not tracks.empty:
            match = tracks[tracks["text_track_id"] == str(text_track_id)]
            if len(match) and not _missing(match["uri"].iloc[0]):
                return str(match["uri"].iloc[0])
        return self._resource_url("text_track", text_track_id)

    async def _cues(self, ac: AsyncClient, text_track_id: str) -> pd.DataFrame:
        url = self._text_track_url(text_track_id)
        playlist = await ac.fetch(url, expect="playlist")
        try:
            segs = segments_table(playlist.text, base_uri=playlist.final_url)
        except PlaylistError as exc:
            raise PlaylistError(
                f"the text track playlist {redact(playlist.final_url)}: {exc}"
            ) from exc
        uris = [u for u in propagate_tokens(playlist.final_url, segs["uri"].tolist()) if u]
        texts = await gather_all([ac.get_text(u, expect="vtt") for u in uris])
        frames = []
        for i, text in enumerate(texts):
            frame = cues_table(text)
            frame.insert(0, "segment", np.full(len(frame), i, dtype=np.int64))
            frames.append(frame)
        if not frames:
            return cues_table("WEBVTT\n").assign(segment=pd.Series(dtype="int64"))
        return pd.concat(frames, ignore_index=True)

    async def cues_async(
        self, text_track_id: str, *, client: AsyncClient | None = None
    ) -> pd.DataFrame:
        """Async :meth:`cues`."""
        return await self._with_async(client, lambda ac: self._cues(ac, text_track_id))

    def cues(self, text_track_id: str) -> pd.DataFrame:
        """Fetch a text track (its ``/mplt/`` playlist, then its WebVTT segment(s)) and
        return the cues (:func:`hs_notebook.vtt.cues_table` columns plus ``segment``, the
        0-based WebVTT segment each cue came from)."""
        return self._sync().run(lambda ac: self._cues(ac, text_track_id))

    # segment sizes -------------------------------------------------------------------
    async def _measure(
        self, ac: AsyncClient, preset_ids: str | Iterable[str] | None, concurrency: int
    ) -> pd.DataFrame:
        positive_int("concurrency", concurrency)
        wanted = _preset_list(preset_ids)
        keys = list(self._media) if wanted is None else list(dict.fromkeys(map(self._key, wanted)))
        jobs: list[tuple[str, int, str, float, Any]] = []
        for key in keys:
            seg = self._media[key].segments
            for idx, uri, dur, blen in zip(
                seg["index"].tolist(),
                seg["uri"].tolist(),
                seg["duration"].tolist(),
                seg["byterange_length"].tolist(),
                strict=True,
            ):
                jobs.append((key, idx, uri, dur, blen))
        for _, _, uri, _, _ in jobs:
            if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
                raise HeapStreamError(
                    f"segment URI {shown(uri)!r} is not absolute; cannot measure it (the "
                    "playlist was "
                    "given without a base URL)"
                )

        async def one(uri: str, blen: Any) -> int:
            if not _missing(blen):
                return int(blen)
            return await segment_size(ac, uri)

        sizes = await gather_all([one(j[2], j[4]) for j in jobs], limit=concurrency)
        frame = pd.DataFrame(
            {
                "preset_id": pd.array([j[0] for j in jobs], dtype="string"),
                "index": np.asarray([j[1] for j in jobs], dtype=np.int64),
                "uri": pd.array([j[2] for j in jobs], dtype="string"),
                "duration": np.asarray([j[3] for j in jobs], dtype=np.float64),
                "size": np.asarray(sizes, dtype=np.int64),
            }
        )
        bitrate = [
            round(s * 8 / d) if d > 0 else None
            for s, d in zip(sizes, frame["duration"].tolist(), strict=True)
        ]
        frame["bitrate"] = pd.array(bitrate, dtype="Int64")
        for pid, part in frame.groupby("preset_id", sort=False):
            self._sizes[str(pid)] = pd.Series(part["size"].to_numpy(), index=part["index"])
        return frame

    async def measure_segment_sizes_async(
        self,
        preset_ids: str | Iterable[str] | None = None,
        concurrency: int = 16,
        *,
        client: AsyncClient | None = None,
    ) -> pd.DataFrame:
        """Async :meth:`measure_segment_sizes`."""
        return await self._with_async(client, lambda ac: self._measure(ac, preset_ids, concurrency))

    def measure_segment_sizes(
        self, preset_ids: str | Iterable[str] | None = None, concurrency: int = 16
    ) -> pd.DataFrame:
        """Measure every segment's size in bytes (HEAD ``Content-Length``, else a ranged
        ``GET`` with ``Range: bytes=0-0`` reading the ``Content-Range`` total), at most
        ``concurrency`` requests at a time.  ``preset_ids`` is one preset id (or variant
        URI), a list of them, or ``None`` for all.  Columns: ``COLUMNS["segment_sizes"]``.
        Afterwards :meth:`segments` has a ``size`` column for the measured presets."""
        return self._sync().run(lambda ac: self._measure(ac, preset_ids, concurrency))

    # media ---------------------------------------------------------------------------
    async def _probe(
        self, ac: AsyncClient, depth: str, concurrency: int, progress: Progress, refresh: bool
    ) -> ProbedLadder:
        choice("depth", depth, DEPTHS)
        positive_int("concurrency", concurrency)
        done = self._probes.get(depth) or self._probes.get("full")
        if done is not None and not flag("refresh", refresh):
            return done
        segments = {key: self.segments(key) for key in self._media}
        plan = media_plan(self.renditions, segments, self.media_texts, self.audio)
        tracks = subtitle_playlists(self.text_tracks)
        audio = audio_playlists(self.audio, self.renditions)
        done = await probe_ladder_async(ac, plan, tracks, depth, concurrency, progress, audio)
        self._probes.pop(depth, None)  # the latest last (Ladder.probed)
        self._probes[depth] = done
        return done

    def probe(
        self, depth: str = "sample", *, concurrency: int = 8, progress: Progress = True,
        refresh: bool = False,
    ) -> ProbedLadder:  # fmt: skip
        """Fetch media segments (``"sample"``: first, middle and last of each rendition, the
        AUDIO ones too; ``"full"``: all) through the ladder's client, ``concurrency`` at a
        time, and probe them (:func:`hs_notebook.probe_segment`; a tqdm bar).  Returns a
        :class:`~hs_notebook.media_tables.ProbedLadder`: ``.segment_table()`` (a row per
        segment; failed ones too) and ``.variant_overview()`` (hlsreport's columns).  Kept
        (:attr:`probed`) and returned again without fetching (a full probe answers a sample
        one too) unless ``refresh=True``."""
        return self._sync().run(lambda ac: self._probe(ac, depth, concurrency, progress, refresh))

    async def probe_async(
        self, depth: str = "sample", *, concurrency: int = 8, progress: Progress = True,
        refresh: bool = False, client: AsyncClient | None = None,
    ) -> ProbedLadder:  # fmt: skip
        """Async :meth:`probe` (on ``client`` when given)."""
        return await self._with_async(
            client, lambda ac: self._probe(ac, depth, concurrency, progress, refresh)
        )

    @property
    def probed(self) -> ProbedLadder | None:
        """The media probed by the last :meth:`probe` (``None`` before one)."""
        return next(reversed(self._probes.values()), None)

    # display -------------------------------------------------------------------------
    def summary(self) -> str:
        """One line: ``"4 renditions 360p–1080p, 2 text tracks, 24.0 s, H.264"``."""
        r = self.renditions
        n = len(r)
        parts = [f"{n} rendition{'s' if n != 1 else ''}"]
        heights = [int(h) for h in r["height"].tolist() if not _missing(h)] if n else []
        if heights:
            lo, hi = min(heights), max(heights)
            parts[0] += f" {lo}p" if lo == hi else f" {lo}p–{hi}p"
        t = len(self.text_tracks)
        parts.append(f"{t} text track{'s' if t != 1 else ''}")
        durations = [float(d) for d in r["duration"].tolist() if not _missing(d)] if n else []
        if durations:
            parts.append(f"{max(durations):.1f} s")
        codecs: list[str] = []
        for value in r["video_codec"].tolist() if n else []:
            if _missing(value):
                continue
            for entry in str(value).split(","):
                name = _CODEC_NAMES.get(entry.strip().split(".")[0].lower(), entry.strip())
                if name and name not in codecs:
                    codecs.append(name)
        if codecs:
            parts.append(", ".join(codecs))
        return ", ".join(parts)

    def _redacted(self, frame: pd.DataFrame) -> pd.DataFrame:
        return redact_frame(frame, ("uri", "image_uri", "key_uri", "init_uri"))

    def __repr__(self) -> str:
        where = f" from {redact(self.master_url)}" if self.master_url else " (from text)"
        return f"<Ladder {self.summary()}{where}>"

    def _repr_html_(self) -> str:
        where = (
            f"<div><code>{html.escape(redact(self.master_url))}</code></div>"
            if self.master_url
            else "<div><i>built from text</i></div>"
        )
        shown = [c for c in RENDITION_DISPLAY_COLUMNS if c in self.renditions.columns]
        table = self._redacted(self.renditions)[shown].to_html(index=False, na_rep="—")
        tracks = ""
        if not self.text_tracks.empty:
            cols = [
                c
                for c in ("text_track_id", "language", "name", "default", "uri")
                if c in self.text_tracks.columns
            ]
            tracks = "<div><i>text tracks</i></div>" + self._redacted(self.text_tracks)[
                cols
            ].to_html(index=False, na_rep="—")
        return (
            f"<div class='hs-ladder'><b>{html.escape(self.summary())}</b>{where}"
            f"{table}{tracks}</div>"
        )
