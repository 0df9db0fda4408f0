"""Fetch a ladder's segments and probe them: the thin I/O shell around
:func:`~hs_notebook.probe.probe_segment`.

>>> media = await probe_renditions_async(client, [(declared, segments_frame)])  # doctest: +SKIP
>>> media.variant_overview()                                                    # doctest: +SKIP

Input per rendition: its :class:`~hs_notebook.media_tables.DeclaredRendition` and its
segments, as :func:`hs_notebook.hls.segments_table` lays them out (``index``, ``uri``,
``byterange_length``, ``byterange_offset``, ``key_method``, ``init_uri``, and optionally
``init_byterange_length`` / ``init_byterange_offset`` for an ``EXT-X-MAP`` with a
``BYTERANGE``) with URLs that can be fetched as they are (the ladder's effective URLs).  Output: a
:class:`~hs_notebook.media_tables.ProbedLadder` for the tables and the media rules.

- ``depth="sample"`` probes the first, middle and last segment of every rendition;
  ``"full"`` every segment.
- At most ``concurrency`` segments are fetched at a time (and ``2 * concurrency`` held in
  memory, waiting for or in their probe); a ``tqdm.auto`` bar shows progress
  (or a function ``progress(done, total, "probing segments")`` is called, for a widget of one's
  own; :data:`hs_notebook.validate.Progress`).
- Byte-range segments are fetched with a ``Range`` header; an ``EXT-X-MAP`` init segment
  (its byte range too) is fetched once per URL and range and handed to the probe with each
  of its segments.
- A refused or missing segment (403, 404, a timeout after the retries) or one whose bytes
  cannot be read becomes a ``failed`` row with the reason; the rendition's other segments are
  still probed.  Encrypted segments (``EXT-X-KEY`` other than ``NONE``) are not fetched: they
  become ``encrypted`` rows (an info finding).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from hs_notebook.errors import FetchError, HeapStreamError, InvalidArgument, TokenRejected
from hs_notebook.hls import segments_table
from hs_notebook.http import AsyncClient, child_url
from hs_notebook.media_tables import (
    DeclaredRendition,
    ProbedLadder,
    ProbedSegment,
    TextTrackSample,
)
from hs_notebook.probe import probe_segment, require_av
from hs_notebook.redaction import redact
from hs_notebook.validate import Progress, choice, positive_int, progress_arg

__all__ = [
    "DEPTHS",
    "Progress",
    "SegmentRef",
    "failure",
    "probe_renditions_async",
    "sample_indices",
    "segment_refs",
]

#: Worker threads probing the segments of one call (see ``_Fetcher``).  One probes about
#: 450 MB of segments a second here, more than a network brings in; a second thread only
#: fights the first and the event loop for the GIL, which PyAV takes back after reading each
#: packet (``benchmarks/bench_media_qa.py --probe-threads 2``: 14-23% more CPU, no faster).
PROBE_THREADS = 1

#: What ``progress=`` callbacks are told this stage is.
_PROBING = "probing segments"


#: How many segments of each rendition to probe.
DEPTHS: dict[str, str] = {
    "sample": "the first, middle and last segment of every rendition",
    "full": "every segment",
}


@dataclass(frozen=True)
class SegmentRef:
    """Where one segment is: its URL, byte range (``(offset, length)``) and init segment
    (its URL and byte range)."""

    index: int
    uri: str
    byterange: tuple[int, int] | None = None
    key_method: str | None = None
    init_uri: str | None = None
    init_byterange: tuple[int, int] | None = None

    @property
    def encrypted(self) -> bool:
        return self.key_method is not None and self.key_method.upper() != "NONE"


def _present(value: Any) -> Any:
    return None if value is None or value is pd.NA or value != value else value


def segment_refs(segments: pd.DataFrame) -> list[SegmentRef]:
    """:class:`SegmentRef` rows from a :func:`hs_notebook.hls.segments_table` frame."""
    if not isinstance(segments, pd.DataFrame):
        raise InvalidArgument(
            f"segments must be a segments table (DataFrame), got {type(segments).__name__}"
        )
    missing = {"index", "uri"} - set(segments.columns)
    if missing:
        raise InvalidArgument(
            f"segments lacks the column(s) {sorted(missing)}; pass ladder.segments(preset) "
            "or hs_notebook.hls.segments_table(text, base_uri)"
        )

    def column(name: str) -> list[Any]:
        if name in segments.columns:
            return [_present(v) for v in segments[name].tolist()]
        return [None] * len(segments)

    out: list[SegmentRef] = []
    for index, uri, length, offset, method, init, init_length, init_offset in zip(
        column("index"),
        column("uri"),
        column("byterange_length"),
        column("byterange_offset"),
        column("key_method"),
        column("init_uri"),
        column("init_byterange_length"),
        column("init_byterange_offset"),
        strict=True,
    ):
        if not isinstance(uri, str) or not uri.startswith(("http://", "https://")):
            raise InvalidArgument(
                f"segment {index}'s URI {redact(str(uri))!r} is not an absolute http(s) URL "
                "(parse the playlist with its base URL)"
            )
        byterange = (int(offset or 0), int(length)) if length is not None else None
        init_range = (int(init_offset or 0), int(init_length)) if init_length is not None else None
        out.append(SegmentRef(int(index), uri, byterange, method, init, init_range))
    return out


def sample_indices(count: int, depth: str) -> list[int]:
    """Positions to probe among ``count`` segments: all (``"full"``), or the first, middle
    and last (``"sample"``; fewer when there are fewer segments)."""
    choice("depth", depth, DEPTHS)
    if depth == "full":
        return list(range(count))
    return sorted({0, count // 2, count - 1}) if count else []


def _range_header(byterange: tuple[int, int] | None) -> dict[str, str] | None:
    if byterange is None:
        return None
    offset, length = byterange
    return {"Range": f"bytes={offset}-{offset + length - 1}"}


def _body(content: bytes, status: int, byterange: tuple[int, int] | None) -> bytes:
    """The sub-range's bytes from a 200 (whole resource: cut the range out) or a 206."""
    if byterange is None or status == 206:
        return content
    offset, length = byterange
    return content[offset : offset + length]


def failure(exc: HeapStreamError) -> tuple[str, int | None]:
    """Why a fetch or probe failed, and the HTTP status when the origin answered one."""
    status = exc.status if isinstance(exc, FetchError | TokenRejected) else None
    return str(exc), status


class _Fetcher:
    """Fetch segments (each init segment once) and probe them.

    At most ``concurrency`` segments are downloading at a time, as in a plain download: a
    download's slot is free again once its bytes are in, so the probes of the segments
    already in run beside the next downloads instead of holding them up.  At most
    ``2 * concurrency`` segments are in hand (from the start of their download to the end
    of their probe), so memory stays bounded on a long video.  Init segments and WebVTT
    samples (a few small requests) have a gate of their own.  Probes run on
    :data:`PROBE_THREADS` worker thread(s): demuxing holds the GIL for part of its time, and
    more threads would starve the event loop that receives the downloads."""

    def __init__(self, client: AsyncClient, concurrency: int) -> None:
        self.client = client
        self.slots = asyncio.Semaphore(concurrency)
        self.held = asyncio.Semaphore(2 * concurrency)
        self.gate = asyncio.Semaphore(concurrency)
        self.inits: dict[tuple[str, tuple[int, int] | None], asyncio.Task[bytes]] = {}
        self.pool = ThreadPoolExecutor(PROBE_THREADS, thread_name_prefix="hs-probe")

    async def get(self, uri: str, headers: Mapping[str, str] | None = None) -> tuple[bytes, int]:
        fetched = await self.client.fetch(uri, headers=headers)
        return fetched.content, fetched.status

    def init(self, uri: str, byterange: tuple[int, int] | None) -> asyncio.Task[bytes]:
        task = self.inits.get((uri, byterange))
        if task is None:

            async def load() -> bytes:
                async with self.gate:
                    content, status = await self.get(uri, _range_header(byterange))
                return _body(content, status, byterange)

            task = self.inits[uri, byterange] = asyncio.ensure_future(load())
        return task

    async def segment(self, key: str, ref: SegmentRef) -> ProbedSegment:
        if ref.encrypted:
            return ProbedSegment(
                key, ref.index, "encrypted", error=f"EXT-X-KEY METHOD={ref.key_method}"
            )
        try:
            init = (
                await asyncio.shield(self.init(ref.init_uri, ref.init_byterange))
                if ref.init_uri
                else None
            )
        except HeapStreamError as exc:
            why, status = failure(exc)
            return ProbedSegment(
                key, ref.index, "failed", error=f"init segment: {why}", http_status=status
            )
        async with self.held:
            try:
                async with self.slots:
                    content, status = await self.get(ref.uri, _range_header(ref.byterange))
            except HeapStreamError as exc:
                why, code = failure(exc)
                return ProbedSegment(key, ref.index, "failed", error=why, http_status=code)
            data = _body(content, status, ref.byterange)
            loop = asyncio.get_running_loop()
            try:
                probe = await loop.run_in_executor(self.pool, probe_segment, data, init)
            except HeapStreamError as exc:
                return ProbedSegment(key, ref.index, "failed", error=f"{exc} ({redact(ref.uri)})")
        return ProbedSegment(key, ref.index, "probed", probe)


async def _vtt_sample(fetcher: _Fetcher, track: str, uri: str) -> TextTrackSample | None:
    try:
        async with fetcher.gate:
            text = await fetcher.client.get_text(uri, expect="vtt")
    except HeapStreamError:
        return None  # an unreachable text track is the playlist rules' finding
    return TextTrackSample(track, text)


async def _playlist_vtt_sample(fetcher: _Fetcher, track: str, uri: str) -> TextTrackSample | None:
    """The first WebVTT segment of a subtitle playlist (its URL effective: the playlist's
    token carried to its own origin); ``None`` when either cannot be fetched or read."""
    try:
        async with fetcher.gate:
            got = await fetcher.client.fetch(uri, expect="playlist")
        table = segments_table(got.text, base_uri=got.final_url)
    except HeapStreamError:
        return None
    if table.empty:
        return None
    return await _vtt_sample(fetcher, track, child_url(got.final_url, str(table["uri"].iloc[0])))


async def probe_renditions_async(
    client: AsyncClient,
    renditions: Sequence[tuple[DeclaredRendition, pd.DataFrame | Sequence[SegmentRef]]],
    *,
    depth: str = "sample",
    concurrency: int = 8,
    text_tracks: Mapping[str, str] | None = None,
    text_playlists: Mapping[str, str] | None = None,
    progress: Progress = True,
) -> ProbedLadder:
    """Fetch and probe the segments of ``renditions`` (see the module docstring).

    ``renditions`` pairs each rendition's declared facts with its segments (a segments
    table or :class:`SegmentRef` rows); ``text_tracks`` maps a text track id to the URL of
    one of its WebVTT segments (normally the first), fetched for the X-TIMESTAMP-MAP rule
    (one that cannot be fetched is left out); ``text_playlists`` maps a text track id to its
    subtitle playlist, whose first WebVTT segment is fetched the same way.  Segments and
    subtitles are fetched together.  Never raises for a segment: failures are
    rows of the result.  Raises :class:`InvalidArgument` for bad arguments and
    :class:`~hs_notebook.errors.MediaError` when PyAV (the ``[media]`` extra) is missing.
    """
    require_av()
    choice("depth", depth, DEPTHS)
    concurrency = positive_int("concurrency", concurrency) or 1
    progress_arg("progress", progress)
    plan: list[tuple[str, SegmentRef]] = []
    declared: list[DeclaredRendition] = []
    for item in renditions:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise InvalidArgument(
                "renditions must hold (DeclaredRendition, segments) pairs, got "
                f"{type(item).__name__}"
            )
        rendition, segments = item
        if not isinstance(rendition, DeclaredRendition):
            raise InvalidArgument(f"expected a DeclaredRendition, got {type(rendition).__name__}")
        refs = segment_refs(segments) if isinstance(segments, pd.DataFrame) else list(segments)
        declared.append(rendition)
        plan += [(rendition.rendition, refs[i]) for i in sample_indices(len(refs), depth)]
    fetcher = _Fetcher(client, concurrency)
    report = progress if callable(progress) else None
    bar = tqdm(total=len(plan), desc="probing segments", unit="seg", disable=progress is not True)
    done = 0
    if report is not None:
        report(0, len(plan), _PROBING)

    async def one(key: str, ref: SegmentRef) -> ProbedSegment:
        nonlocal done
        try:
            return await fetcher.segment(key, ref)
        finally:
            bar.update(1)
            done += 1
            if report is not None:
                report(done, len(plan), _PROBING)

    vtts = [_vtt_sample(fetcher, t, u) for t, u in (text_tracks or {}).items()]
    vtts += [_playlist_vtt_sample(fetcher, t, u) for t, u in (text_playlists or {}).items()]
    try:
        probed = asyncio.gather(*(one(key, ref) for key, ref in plan))
        results, samples = await asyncio.gather(probed, asyncio.gather(*vtts))
    finally:
        bar.close()
        for task in fetcher.inits.values():
            task.cancel()
        fetcher.pool.shutdown(wait=False, cancel_futures=True)
    return ProbedLadder(
        tuple(declared),
        tuple(results),
        tuple(s for s in samples if s is not None),
    )
