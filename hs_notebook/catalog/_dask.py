"""The Dask engine: partitions of ids run on the workers with the local engine's per-video
code; only tokens minted here travel (the signing key never leaves this machine)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from hs_notebook.catalog._engine import (
    DEFAULT_TIMEOUT,
    AuditJob,
    AuditRun,
    ResultSink,
    run_pool,
    status_row,
)
from hs_notebook.catalog._results import (
    AuditResult,
    concat_findings,
    empty_findings,
    records,
    summary_frame,
)
from hs_notebook.errors import HeapStreamError
from hs_notebook.extras import require_extra
from hs_notebook.tokens import SigningKey

__all__ = ["DASK_TOKEN_TTL", "PartitionTokens", "audit_dask"]

DASK_TOKEN_TTL: float = 6 * 3600.0


class PartitionTokens:
    """The tokens of one partition, ``{video_id: token}``, on their way to a Dask worker.

    Tokens are bearer credentials (for one video each, until they expire), so the repr and
    str are redacted: Dask logs the arguments of failed tasks.  The signing key itself
    never leaves the client machine: these tokens are all that a worker ever receives.
    """

    def __init__(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    def __repr__(self) -> str:
        return f"<{len(self.tokens)} video tokens: redacted>"

    __str__ = __repr__


def audit_partition(
    ids: list[str],
    tokens: PartitionTokens,
    project_id: int | str,
    base_url: str | None,
    concurrency: int,
    measure: bool,
    timeout: float,
    depth: str = "playlist",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs ON A DASK WORKER: the same per-video async code as the local engine, with the
    tokens minted on the client (no signing key here)."""
    rows: list[dict[str, Any]] = []
    tables: list[pd.DataFrame] = []
    job = AuditJob(None, project_id, base_url, measure, timeout, tokens=tokens.tokens, depth=depth)

    def collect(row: dict[str, Any], table: pd.DataFrame | None) -> None:
        rows.append(row)
        if table is not None:
            tables.append(table)

    asyncio.run(run_pool(ids, job, concurrency, collect))
    return summary_frame(rows), concat_findings(tables)


def mint_partition(
    key: SigningKey, ids: Sequence[str], ttl: float
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """``({video_id: token}, error rows)``: tokens minted here, on the client, with
    ``key.mint_many``; an id that cannot be minted for (an empty id) becomes an ``error``
    row with the same reason the local engine gives, and the others are kept."""
    try:
        return {v: str(t) for v, t in key.mint_many(ids, ttl=ttl).items()}, []
    except HeapStreamError:
        tokens: dict[str, str] = {}
        rows: list[dict[str, Any]] = []
        for video_id in ids:
            try:
                tokens[video_id] = str(key.mint(video_id, ttl))
            except HeapStreamError as exc:
                rows.append(status_row(video_id, "error", 0.0, f"{type(exc).__name__}: {exc}"))
        return tokens, rows


def dask_workers(client: Any) -> int:
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:
        return 1


def audit_dask(
    client: Any,
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
    partition_size: int | None = None,
    token_ttl: float = DASK_TOKEN_TTL,
    depth: str = "playlist",
) -> AuditResult:
    """:func:`audit` on a Dask cluster: partitions of ids run on the workers of ``client``
    (a ``distributed.Client``), each with the local engine's per-video async code and
    ``concurrency`` videos in flight; the results are gathered here into the same tables
    (and saved to ``out`` as each partition completes).

    **The private key never leaves this machine.**  Before submitting, one token per video
    is minted here (``key.mint_many(ids, ttl=token_ttl)``), and each partition ships only
    its ``{video_id: token}`` (redacted in reprs, since Dask logs the arguments of failed
    tasks); the workers pass each token to :func:`~hs_notebook.ladder.fetch_ladder_async`.

    ``token_ttl`` (seconds, default 6 h) must cover the time from submission until the
    last partition has finished: the wait in the cluster's queue plus the run itself.  A
    token that expired first makes its video come back ``refused`` (``expired``); resume
    with ``out=`` then audits it again with fresh tokens.

    A partition whose task fails (a worker dies) comes back with every one of its ids as
    ``error``.
    """
    require_extra("dask", "distributed", feature="the Dask engine")
    from distributed import as_completed

    run = AuditRun.start(
        video_ids,
        key,
        concurrency,
        timeout,
        token_ttl,
        ("partition_size", partition_size),
        out,
        resume,
        depth,
    )
    todo, store = run.todo, run.store
    size = partition_size or max(1, math.ceil(len(todo) / (dask_workers(client) * 4)))
    parts = [todo[i : i + size] for i in range(0, len(todo), size)]
    bar = run.progress_bar(progress, "audit (dask)")
    sink = ResultSink(None, 1, None)  # collects; each partition is saved as it completes

    def keep(rows: list[dict[str, Any]], findings: pd.DataFrame, done: int) -> None:
        sink.rows.extend(rows)
        if not findings.empty:
            sink.tables.append(findings)
        if store is not None:
            store.write_part(summary_frame(rows), findings)
        if bar is not None:
            bar.update(done)

    futures = {}
    try:
        for part in parts:
            tokens, unminted = mint_partition(run.key, part, run.ttl)
            if unminted:
                keep(unminted, empty_findings(), len(unminted))
            runnable = [v for v in part if v in tokens]
            if not runnable:
                continue
            future = client.submit(
                audit_partition,
                runnable,
                PartitionTokens({v: tokens[v] for v in runnable}),
                project_id,
                base_url,
                concurrency,
                bool(measure),
                run.timeout,
                run.depth,
                pure=False,
            )
            futures[future] = runnable
        for future in as_completed(list(futures)):
            part = futures[future]
            try:
                summary, findings = future.result()
                rows = records(summary)
            except Exception as exc:  # the task failed: keep every id of the partition
                reason = f"Dask task failed: {type(exc).__name__}: {exc}"
                rows = [status_row(v, "error", 0.0, reason) for v in part]
                findings = empty_findings()
            keep(rows, findings, len(part))
    finally:
        if bar is not None:
            bar.close()
        for future in futures:
            with contextlib.suppress(Exception):
                future.release()
    return run.finish(
        sink, "dask", {"partitions": len(parts), "partition_size": size, "token_ttl": run.ttl}
    )
