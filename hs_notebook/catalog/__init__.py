"""Audit a whole catalog: :func:`~hs_notebook.ladder.fetch_ladder` and :func:`~hs_notebook.qa.qa`
every video, many at a time, into two tables.

>>> result = audit(video_ids, key, project_id=12, out="audit.parquet")   # doctest: +SKIP
>>> result.summary          # one row per video (SUMMARY_COLUMNS)
>>> result.findings         # one row per finding, with a video_id column (FINDINGS_COLUMNS)

How it runs:

* **One machine** (``engine="local"``): one event loop, one shared
  :class:`~hs_notebook.http.AsyncClient`, and a fixed pool of ``concurrency`` worker
  coroutines, each taking the next video id: bounded like an ``asyncio.Semaphore``, but
  without a task per id, so memory stays flat however long the list.  A video costs two round
  trips (master, then every preset playlist at once), plus the segment HEADs when
  ``measure=True``.  Works from a script and from a Jupyter cell alike.
* **Many machines** (``engine="dask"`` / :func:`audit_dask`): the ids are cut into
  partitions and each partition runs on a Dask worker with exactly the same per-video
  async code; the results are gathered into the same tables.  This is the path for a
  catalog that outgrows one machine (or one event loop): point a
  ``distributed.Client`` at a cluster and pass it as ``client=``.  **The private key never
  leaves the client machine**: the tokens are minted here (``key.mint_many``, lifetime
  ``token_ttl``, default 6 h, which must cover the time until the last partition has run),
  and each partition ships only its ``{video_id: token}``, redacted in reprs (Dask logs
  the arguments of failed tasks).

A failed video never disappears: every id comes back in ``summary`` with a ``status``
(:data:`STATUSES`) and, when it did not complete, a ``reason``.  Duplicate ids are audited
once.

**Saving and resuming** (``out=``, a ``.parquet`` or ``.csv`` path): results are appended
as they come, as small part files written atomically in ``<out>.parts/`` (every
``flush_every`` videos), and merged at the end into ``out`` (the summary) and
``<stem>.findings<suffix>`` (the findings), each replaced atomically, after which the part
files are removed.  With ``resume=True`` (the default) an interrupted or repeated audit
reads ``out`` and any part files first and skips the ids already done; ids whose status was
``error`` (timeouts, 5xx after retries: usually transient) are audited again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypedDict

from hs_notebook.catalog._dask import DASK_TOKEN_TTL, audit_dask
from hs_notebook.catalog._engine import (
    DEFAULT_TIMEOUT,
    AuditJob,
    AuditRun,
    ResultSink,
    run_pool,
    run_sync,
)
from hs_notebook.catalog._results import (
    DONE_STATUSES,
    FINDINGS_COLUMNS,
    STATUSES,
    SUMMARY_COLUMNS,
    AuditResult,
)
from hs_notebook.errors import InvalidArgument
from hs_notebook.tokens import SigningKey

__all__ = [
    "DASK_TOKEN_TTL",
    "DONE_STATUSES",
    "FINDINGS_COLUMNS",
    "STATUSES",
    "SUMMARY_COLUMNS",
    "AuditResult",
    "audit",
    "audit_async",
    "audit_dask",
]


async def audit_async(
    video_ids: Iterable[str],
    key: SigningKey,
    project_id: int | str,
    base_url: str | None = None,
    *,
    concurrency: int = 16,
    measure: bool = False,
    out: str | os.PathLike[str] | None = None,
    resume: bool = True,
    progress: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    flush_every: int | None = None,
    token_ttl: float = 3600.0,
    depth: str = "playlist",
) -> AuditResult:
    """Async :func:`audit` with ``engine="local"`` (await it inside a running loop)."""
    run = AuditRun.start(
        video_ids,
        key,
        concurrency,
        timeout,
        token_ttl,
        ("flush_every", flush_every),
        out,
        resume,
        depth,
    )
    job = AuditJob(
        run.key, project_id, base_url, bool(measure), run.timeout, ttl=run.ttl, depth=run.depth
    )
    bar = run.progress_bar(progress, "audit")
    sink = ResultSink(run.store, flush_every or max(50, concurrency * 4), bar)
    try:
        await run_pool(run.todo, job, concurrency, sink.add)
    finally:
        sink.flush()
        if bar is not None:
            bar.close()
    return run.finish(sink, "local")


class _Shared(TypedDict):
    """The options :func:`audit` hands to either engine as they are."""

    concurrency: int
    measure: bool
    out: str | os.PathLike[str] | None
    resume: bool
    progress: bool
    timeout: float
    depth: str


def audit(
    video_ids: Iterable[str],
    key: SigningKey,
    project_id: int | str,
    base_url: str | None = None,
    *,
    concurrency: int = 16,
    measure: bool = False,
    out: str | os.PathLike[str] | None = None,
    resume: bool = True,
    progress: bool = True,
    engine: str = "local",
    client: Any = None,
    timeout: float = DEFAULT_TIMEOUT,
    flush_every: int | None = None,
    partition_size: int | None = None,
    token_ttl: float | None = None,
    depth: str = "playlist",
) -> AuditResult:
    """Inspect and QA many videos; every id comes back in ``summary`` with a status.

    Args:
        video_ids: the videos (duplicates are audited once; order is kept).
        key: the :class:`~hs_notebook.tokens.SigningKey` to mint each video's token with.
        project_id: the HeapStream project.
        base_url: the origin (HeapStream by default; the sandbox's ``base_url`` offline).
        concurrency: most videos in flight at once (per Dask worker with ``engine="dask"``).
        measure: also measure segment sizes for the bitrate rules (one HEAD per segment);
            off by default, since it multiplies the requests by the number of segments.
        out: a ``.parquet`` or ``.csv`` path to save to, batch by batch (see the module
            docstring); findings go beside it as ``<stem>.findings<suffix>``.
        resume: with ``out``, skip the ids already done there (``error`` ones are redone);
            ``False`` overwrites.
        progress: show a ``tqdm.auto`` progress bar (a widget in notebooks).
        engine: ``"local"`` (one event loop here) or ``"dask"`` (partitions on the workers
            of ``client``, a ``distributed.Client``).
        client: the ``distributed.Client`` for ``engine="dask"``.
        timeout: seconds allowed per video (inspect + qa) before it counts as an error.
        flush_every: videos per saved batch (default ``max(50, 4 * concurrency)``).
        partition_size: ids per Dask task (default: about four tasks per worker).
        token_ttl: lifetime in seconds of the tokens minted for the videos.  Local engine:
            one token per video, minted just before it is inspected (default 3600).  Dask:
            every token is minted here before the partitions are submitted (the private
            key never goes to the cluster), so it must cover the queue wait plus the run
            of the last partition (default :data:`DASK_TOKEN_TTL`, 6 h).
        depth: ``qa(depth=)`` of every video (:data:`hs_notebook.qa.DEPTHS`), on either
            engine: ``"playlist"`` (default); ``"media"``: also probe sample segments and
            run the media rules; ``"quality"``: also score every rendition against the
            original (:func:`hs_notebook.quality.ladder.quality`) and run the quality rules
            (raise ``timeout``: scoring takes seconds per rendition).

    Raises:
        InvalidArgument: bad arguments (a key that is not a SigningKey, an ``out`` that is
            not .parquet/.csv, an unknown engine, dask without a client).
    """
    shared = _Shared(
        concurrency=concurrency,
        measure=measure,
        out=out,
        resume=resume,
        progress=progress,
        timeout=timeout,
        depth=depth,
    )
    if engine == "local":
        if client is not None:
            raise InvalidArgument(
                "client= is the distributed.Client for engine='dask'; with engine='local' "
                "leave it out"
            )
        ttl = 3600.0 if token_ttl is None else token_ttl
        return run_sync(
            lambda: audit_async(
                video_ids,
                key,
                project_id,
                base_url,
                **shared,
                flush_every=flush_every,
                token_ttl=ttl,
            )
        )
    if engine == "dask":
        if client is None:
            raise InvalidArgument(
                "engine='dask' needs client=distributed.Client(...) (for one machine: "
                "distributed.Client(distributed.LocalCluster()))"
            )
        ttl = DASK_TOKEN_TTL if token_ttl is None else token_ttl
        return audit_dask(
            client,
            video_ids,
            key,
            project_id,
            base_url,
            **shared,
            partition_size=partition_size,
            token_ttl=ttl,
        )
    raise InvalidArgument(f"engine must be 'local' or 'dask', got {engine!r}")
