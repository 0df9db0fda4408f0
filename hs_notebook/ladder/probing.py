"""A ladder's media: which segments to fetch and probe, with what each rendition declares,
and the fetch itself (:meth:`hs_notebook.ladder.Ladder.probe` calls these).

- :func:`media_plan`: from the ladder's tables, one ``(DeclaredRendition, segments)`` pair
  per media playlist, the segments table carrying the effective URLs (tokens on the
  playlist's own origin, ``init_uri`` included) and the ``EXT-X-MAP`` byte ranges.
- :func:`audio_playlists`: the ``EXT-X-MEDIA TYPE=AUDIO`` renditions that have playlists
  of their own (one per distinct URI), with what the master declares for them.
- :func:`probe_ladder_async`: fetches those audio playlists, then runs
  :func:`hs_notebook.probe_fetch.probe_renditions_async` over the plan, the audio
  renditions and the subtitle playlists (their first WebVTT segments).

Renditions are named by their preset id, else by their variant URI (token redacted), as
the QA report names them; an AUDIO rendition by ``audio:<GROUP-ID>:<NAME>``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from hs_notebook.errors import HeapStreamError, PlaylistError
from hs_notebook.hls import parse_media, read_media, segments_table
from hs_notebook.http import AsyncClient
from hs_notebook.ladder.propagation import with_uris
from hs_notebook.media_tables import DeclaredRendition, PlaylistFailure, ProbedLadder
from hs_notebook.probe_fetch import Progress, failure, probe_renditions_async
from hs_notebook.redaction import redact

__all__ = [
    "INIT_RANGE_COLUMNS",
    "AudioPlaylist",
    "audio_playlists",
    "init_byteranges",
    "media_plan",
    "probe_ladder_async",
    "rendition_label",
    "subtitle_playlists",
]

#: Columns :func:`media_plan` adds to a segments table (``<NA>`` without a range).
INIT_RANGE_COLUMNS: dict[str, str] = {
    "init_byterange_length": "BYTERANGE length of the EXT-X-MAP in force, bytes, or <NA>",
    "init_byterange_offset": "BYTERANGE offset of that EXT-X-MAP (0 when omitted), bytes, or <NA>",
}


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def rendition_label(key: str) -> str:
    """How probe tables and findings name a rendition: its preset id, or its variant URI
    with the token redacted."""
    return redact(key) if "://" in key else key


def init_byteranges(media_text: str) -> list[tuple[int, int] | None]:
    """``(offset, length)`` of the ``EXT-X-MAP`` ``BYTERANGE`` in force for each segment
    (``None`` where the map has none, or there is no map).  Pure: playlist text in."""
    out: list[tuple[int, int] | None] = []
    for seg in parse_media(media_text).segments:
        if seg.uri is None:  # LL-HLS: the in-progress segment (not in the segments table)
            continue
        init = seg.init_section
        text = getattr(init, "byterange", None) if init is not None else None
        if not text:
            out.append(None)
            continue
        length, _, offset = str(text).partition("@")
        try:
            out.append((int(offset or 0), int(length)))
        except ValueError:
            raise PlaylistError(
                f"EXT-X-MAP BYTERANGE {text!r} is not <length>[@<offset>] (RFC 8216 4.3.2.5)"
            ) from None
    return out


def _with_init_ranges(segments: pd.DataFrame, media_text: str) -> pd.DataFrame:
    frame = segments.copy()
    ranges: list[tuple[int, int] | None] = [None] * len(frame)
    if "EXT-X-MAP" in media_text and "BYTERANGE" in media_text:
        ranges = init_byteranges(media_text)
    frame["init_byterange_length"] = pd.array([r[1] if r else None for r in ranges], "Int64")
    frame["init_byterange_offset"] = pd.array([r[0] if r else None for r in ranges], "Int64")
    return frame


def _audio_channels(audio: pd.DataFrame, group: Any) -> int | None:
    """CHANNELS of the muxed audio (an EXT-X-MEDIA without URI) of an AUDIO group: the
    DEFAULT one's, else the first's; ``None`` when unsaid or the audio is a playlist of
    its own (then the variant's segments do not carry it)."""
    if _missing(group) or audio.empty or "channel_count" not in audio.columns:
        return None
    rows = audio[(audio["group_id"] == group).fillna(False).to_numpy()]
    rows = rows[rows["uri"].isna().to_numpy()]
    if rows.empty:
        return None
    default = rows[rows["default"].fillna(False).to_numpy(dtype=bool)]
    count = (default if not default.empty else rows)["channel_count"].iloc[0]
    return None if _missing(count) else int(count)


def _audio_playlists(audio: pd.DataFrame, group: Any) -> bool:
    """Whether an AUDIO group has renditions with playlists of their own (a URI)."""
    if _missing(group) or audio.empty or "uri" not in audio.columns:
        return False
    rows = audio[(audio["group_id"] == group).fillna(False).to_numpy()]
    return bool(rows["uri"].notna().any())


def media_plan(
    renditions: pd.DataFrame,
    segments: Mapping[str, pd.DataFrame],
    media_texts: Mapping[str, str],
    audio: pd.DataFrame,
) -> list[tuple[DeclaredRendition, pd.DataFrame]]:
    """One ``(declared facts, segments table)`` pair per media playlist, in ladder order.

    Args:
        renditions: the ladder's renditions table (its first row of each media key wins).
        segments: ``{media key: segments table}`` with effective URLs (``ladder.segments``).
        media_texts: ``{media key: media playlist text}`` (for the EXT-X-MAP byte ranges).
        audio: the ladder's audio table (CHANNELS of muxed audio; whether the variant's
            AUDIO group has playlists of its own).
    """
    plan: list[tuple[DeclaredRendition, pd.DataFrame]] = []
    seen: set[str] = set()
    for record in renditions.to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        preset, uri = row.get("preset_id"), row.get("uri")
        key = str(preset) if not _missing(preset) else (None if _missing(uri) else str(uri))
        if key is None or key in seen or key not in segments:
            continue
        seen.add(key)
        table = _with_init_ranges(segments[key], media_texts.get(key, ""))
        declared = DeclaredRendition.from_row(
            rendition_label(key),
            row,
            table["duration"].tolist(),
            _audio_channels(audio, row.get("audio_group")),
            _audio_playlists(audio, row.get("audio_group")),
        )
        plan.append((declared, table))
    return plan


@dataclass(frozen=True)
class AudioPlaylist:
    """An ``EXT-X-MEDIA TYPE=AUDIO`` rendition with a playlist of its own, as the probe
    fetches it: ``key`` names it (``audio:<GROUP-ID>:<NAME>``), ``uri`` is its effective
    URL (the master's token only on the master's origin), ``codecs`` the audio entries of
    the CODECS of the variants that play with its group (any of them may be its format),
    ``channels`` the channel count its CHANNELS declares."""

    key: str
    uri: str
    codecs: str | None = None
    channels: int | None = None


def _group_audio_codecs(renditions: pd.DataFrame, groups: Sequence[str]) -> str | None:
    """The audio entries of the CODECS of the variants whose AUDIO group is one of
    ``groups``, in order, each once (``None`` when no such variant says its CODECS)."""
    if renditions.empty or not {"audio_group", "codecs"} <= set(renditions.columns):
        return None
    found: list[str] = []
    for group, value in zip(
        renditions["audio_group"].tolist(), renditions["codecs"].tolist(), strict=True
    ):
        if not _missing(group) and str(group) in groups and not _missing(value):
            found += DeclaredRendition("", codecs=str(value)).audio_codecs
    return ",".join(dict.fromkeys(found)) or None


def audio_playlists(audio: pd.DataFrame, renditions: pd.DataFrame) -> list[AudioPlaylist]:
    """The AUDIO renditions of ``audio`` (the ladder's audio table, URIs effective) that
    have a URI, one per distinct URI (named and counted by its first row), in master
    order.  Pure.

    ``renditions`` (the ladder's renditions table) gives each its declared audio codecs:
    the audio entries of the CODECS of the variants that reference its group (or any of
    the groups that list the same URI).
    """
    if audio.empty or "uri" not in audio.columns:
        return []
    first: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[str]] = {}
    for record in audio.to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        uri = row.get("uri")
        if _missing(uri):
            continue
        first.setdefault(str(uri), row)
        if not _missing(row.get("group_id")):
            groups.setdefault(str(uri), []).append(str(row["group_id"]))
    out: list[AudioPlaylist] = []
    keys: set[str] = set()
    for uri, row in first.items():
        group = "" if _missing(row.get("group_id")) else str(row["group_id"])
        name = next(
            (str(row[k]) for k in ("name", "language") if not _missing(row.get(k))),
            str(len(out)),
        )
        key = f"audio:{group}:{name}"
        while key in keys:  # two renditions of one group with one NAME (RFC 8216: MUST NOT)
            key += "'"
        keys.add(key)
        count = row.get("channel_count")
        channels = None if count is None or _missing(count) else int(count)
        out.append(
            AudioPlaylist(key, uri, _group_audio_codecs(renditions, groups.get(uri, [])), channels)
        )
    return out


async def _audio_rendition(
    client: AsyncClient, playlist: AudioPlaylist, gate: asyncio.Semaphore
) -> tuple[DeclaredRendition, pd.DataFrame | None, PlaylistFailure | None]:
    """Fetch and read one AUDIO rendition's playlist: its declared facts and segments
    table (URIs effective, init ranges), or its failure (and no segments)."""
    declared = DeclaredRendition(
        playlist.key, codecs=playlist.codecs, audio_channels=playlist.channels
    )
    what = f"the media playlist of AUDIO rendition {playlist.key} ({redact(playlist.uri)})"
    if not playlist.uri.startswith(("http://", "https://")):
        return declared, None, PlaylistFailure(playlist.key, f"{what}: not an absolute URL")
    try:
        async with gate:
            got = await client.fetch(playlist.uri, expect="playlist")
        facts = read_media(got.text, got.final_url)
        table = segments_table(got.text, base_uri=got.final_url)
    except HeapStreamError as exc:
        why, status = failure(exc)
        return declared, None, PlaylistFailure(playlist.key, f"{what}: {why}", status)
    table = with_uris(with_uris(table, got.final_url), got.final_url, "init_uri")
    table = _with_init_ranges(table, got.text)
    target = facts.info.target_duration
    extinf = tuple(float(d) for d in table["duration"].tolist())
    declared = replace(
        declared, target_duration=None if target is None else float(target), extinf=extinf
    )
    return declared, table, None


def subtitle_playlists(text_tracks: pd.DataFrame) -> dict[str, str]:
    """``{track id: playlist URL}`` of the subtitle tracks that have a playlist (the track
    id: its text track id, else its NAME, else its URI redacted)."""
    out: dict[str, str] = {}
    if text_tracks.empty:
        return out
    for row in text_tracks.to_dict("records"):
        uri = row.get("uri")
        if str(row.get("type") or "").upper() != "SUBTITLES" or _missing(uri):
            continue
        uri = str(uri)
        if not uri.startswith(("http://", "https://")):
            continue
        name = next(
            (str(row[k]) for k in ("text_track_id", "name") if not _missing(row.get(k))),
            redact(uri),
        )
        out.setdefault(name, uri)
    return out


async def probe_ladder_async(
    client: AsyncClient,
    plan: list[tuple[DeclaredRendition, pd.DataFrame]],
    text_tracks: Mapping[str, str],
    depth: str = "sample",
    concurrency: int = 8,
    progress: Progress = True,
    audio: Sequence[AudioPlaylist] = (),
) -> ProbedLadder:
    """Fetch and probe the segments of ``plan``, and, at the same time, the first WebVTT
    segment of each subtitle playlist of ``text_tracks`` (``{track id: playlist URL}``).

    Each AUDIO rendition of ``audio`` (:func:`audio_playlists`) has its playlist fetched
    first and is probed as a rendition of its own, after the variants; one whose playlist
    cannot be fetched or read is a :class:`~hs_notebook.media_tables.PlaylistFailure` of
    the result (a ``media_segment_readable`` finding), and costs no other rendition."""
    gate = asyncio.Semaphore(max(1, concurrency))
    fetched = await asyncio.gather(*(_audio_rendition(client, a, gate) for a in audio))
    renditions: list[tuple[DeclaredRendition, Any]] = list(plan)
    renditions += [(d, [] if t is None else t) for d, t, _ in fetched]
    result = await probe_renditions_async(
        client,
        renditions,
        depth=depth,
        concurrency=concurrency,
        text_playlists=text_tracks,
        progress=progress,
    )
    failures = tuple(f for _, _, f in fetched if f is not None)
    return replace(result, playlist_failures=failures) if failures else result
