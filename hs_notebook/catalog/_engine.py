"""The audit engine: one video inspected and checked (never raising), a fixed pool of
worker coroutines on one shared client, the sink that collects (and saves) results, and
what every engine shares around its own run: the argument checks, the resume plan, the
progress bar and the final tables (:class:`AuditRun`)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pandas as pd

from hs_notebook import formatting, validate
from hs_notebook.catalog._results import AuditResult, assemble, concat_findings, summary_frame
from hs_notebook.catalog._store import ResultStore, pending_ids, prepare_store
from hs_notebook.errors import HeapStreamError, NotFound, TokenRejected
from hs_notebook.http import AsyncClient
from hs_notebook.ladder import fetch_ladder_async
from hs_notebook.qa import DEPTHS, qa_async
from hs_notebook.tokens import SigningKey

__all__ = [
    "DEFAULT_TIMEOUT",
    "AuditJob",
    "AuditRun",
    "ResultSink",
    "audit_one",
    "run_pool",
    "run_sync",
    "since",
    "status_row",
]

T = TypeVar("T")

#: Seconds allowed per video (inspect + qa) unless the caller says otherwise.
DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class AuditJob:
    """Everything the per-video code needs (same on the driver and on Dask workers)."""

    key: SigningKey | None  # None on Dask workers: they get ready tokens instead
    project_id: int | str
    base_url: str | None
    measure: bool
    timeout: float
    ttl: float = 3600.0  # lifetime of the tokens minted per video (local engine)
    tokens: Mapping[str, str] | None = None  # {video_id: token} minted on the client
    depth: str = "playlist"  # qa(depth=): "media" probes the segments, "quality" scores too


def status_row(
    video_id: str, status: str, elapsed: float, reason: str | None = None
) -> dict[str, Any]:
    return {
        "video_id": video_id,
        "status": status,
        "errors": 0,
        "warnings": 0,
        "infos": 0,
        "worst_rule": None,
        "reason": reason,
        "elapsed": elapsed,
    }


async def audit_one(
    video_id: str, job: AuditJob, client: AsyncClient
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Inspect and check one video; never raises (except cancellation)."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(job.timeout):
            if job.tokens is None:
                ladder = await fetch_ladder_async(
                    video_id, job.key, job.project_id, job.base_url, ttl=job.ttl, client=client
                )
            else:
                ladder = await fetch_ladder_async(
                    video_id,
                    None,
                    job.project_id,
                    job.base_url,
                    client=client,
                    token=job.tokens[video_id],
                )
            findings = await qa_async(
                ladder, measure=job.measure, client=client, depth=job.depth, progress=False
            )
    except TokenRejected as exc:
        return status_row(video_id, "refused", since(start), f"{exc.reason}: {exc.detail}"), None
    except NotFound as exc:
        return status_row(video_id, "not_found", since(start), str(exc)), None
    except TimeoutError:
        reason = f"timed out after {formatting.seconds(job.timeout)}"
        return status_row(video_id, "error", since(start), reason), None
    except HeapStreamError as exc:
        return status_row(video_id, "error", since(start), f"{type(exc).__name__}: {exc}"), None
    except Exception as exc:  # a bug or an unforeseen library error: keep the video
        reason = f"unexpected {type(exc).__name__}: {exc}"
        return status_row(video_id, "error", since(start), reason), None
    counts = findings.counts
    row = status_row(
        video_id,
        "findings" if counts["error"] or counts["warning"] else "ok",
        since(start),
    )
    row.update(errors=counts["error"], warnings=counts["warning"], infos=counts["info"])
    if counts["error"] or counts["warning"]:
        row["worst_rule"] = findings.worst_rule
    table = findings.table
    if table.empty:
        return row, None
    table = table.copy()
    table.insert(
        0, "video_id", pd.Series([video_id] * len(table), dtype="string", index=table.index)
    )
    return row, table


def since(start: float) -> float:
    return time.perf_counter() - start


# ---------------------------------------------------------------------------- the pool


class ResultSink:
    """Collects results; writes a part file every ``flush_every`` videos when saving."""

    def __init__(self, store: ResultStore | None, flush_every: int, bar: Any) -> None:
        self.store = store
        self.flush_every = flush_every
        self.bar = bar
        self.rows: list[dict[str, Any]] = []
        self.tables: list[pd.DataFrame] = []
        self._pending_rows: list[dict[str, Any]] = []
        self._pending_tables: list[pd.DataFrame] = []

    def add(self, row: dict[str, Any], table: pd.DataFrame | None) -> None:
        self.rows.append(row)
        self._pending_rows.append(row)
        if table is not None:
            self.tables.append(table)
            self._pending_tables.append(table)
        if self.bar is not None:
            self.bar.update(1)
        if self.store is not None and len(self._pending_rows) >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if self.store is None or not self._pending_rows:
            return
        summary = summary_frame(self._pending_rows)
        findings = concat_findings(self._pending_tables)
        self.store.write_part(summary, findings)
        self._pending_rows = []
        self._pending_tables = []


async def run_pool(
    ids: Sequence[str],
    job: AuditJob,
    concurrency: int,
    on_result: Callable[[dict[str, Any], pd.DataFrame | None], None],
) -> None:
    """Audit ``ids`` with at most ``concurrency`` videos in flight on one AsyncClient."""
    if not ids:
        return
    iterator = iter(ids)
    pool = max(20, min(concurrency * 4, 256))
    async with AsyncClient(max_connections=pool) as client:

        async def worker() -> None:
            for video_id in iterator:  # shared: each worker takes the next id
                row, table = await audit_one(video_id, job, client)
                on_result(row, table)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(ids)))))


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, also inside a running event loop
    (a Jupyter cell): then on a private thread with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())  # type: ignore[arg-type]
        except BaseException as exc:  # re-raised on the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="hs_notebook-audit", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


# ---------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class AuditRun:
    """One audit around its engine: the checked arguments, what ``out`` already holds and
    the ids still to do (:meth:`start`), then the merged, saved tables (:meth:`finish`).
    Both engines go through it, so resuming and saving behave alike whichever runs."""

    ids: list[str]  # every id asked for, de-duplicated in order
    key: SigningKey
    timeout: float
    ttl: float
    store: ResultStore | None
    previous: tuple[pd.DataFrame, pd.DataFrame]  # (summary, findings) read from ``out``
    todo: list[str]  # the ids this run audits
    started: float
    depth: str = "playlist"  # qa(depth=) of every video (hs_notebook.qa.DEPTHS)

    @classmethod
    def start(
        cls,
        video_ids: Iterable[str],
        key: Any,
        concurrency: Any,
        timeout: Any,
        token_ttl: Any,
        batch: tuple[str, Any],
        out: Any,
        resume: bool,
        depth: Any = "playlist",
    ) -> AuditRun:
        """Check the arguments every engine takes (``batch`` is the engine's optional
        batch size, ``(name, value)``; ids are de-duplicated in order; ``depth`` one of
        :data:`hs_notebook.qa.DEPTHS`), read ``out`` when resuming and keep the ids not
        done there; the clock starts here.  A bad argument raises
        :class:`~hs_notebook.errors.InvalidArgument`."""
        ids = validate.string_list("video_ids", video_ids)
        validate.positive_int("concurrency", concurrency)
        seconds = validate.positive_seconds("timeout", timeout)
        validate.positive_int(batch[0], batch[1], optional=True)
        ttl = validate.positive_seconds("token_ttl", token_ttl)
        depth = validate.choice("depth", depth, DEPTHS)
        assert seconds is not None and ttl is not None  # not optional: never None
        key = validate.instance_of(
            key,
            SigningKey,
            "key must be a SigningKey (SigningKey.from_base64(key_id, b64) or "
            "SigningKey.from_env())",
        )
        store, previous = prepare_store(out, resume)
        todo = pending_ids(ids, previous[0]) if resume else list(ids)
        return cls(ids, key, seconds, ttl, store, previous, todo, time.perf_counter(), depth)

    def progress_bar(self, enabled: bool, desc: str) -> Any:
        """A ``tqdm.auto`` bar over every id, the ones done before already counted (or
        ``None`` when not ``enabled``)."""
        if not enabled:
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=len(self.ids), initial=len(self.ids) - len(self.todo), unit="video", desc=desc
        )

    def finish(
        self, sink: ResultSink, engine: str, extra: dict[str, Any] | None = None
    ) -> AuditResult:
        """The tables of every id (this run's results over the earlier ones), saved to
        ``out`` when given."""
        summary, findings = assemble(self.ids, self.previous, sink.rows, sink.tables)
        if self.store is not None:
            self.store.finalize(summary, findings)
        return AuditResult(
            summary=summary,
            findings=findings,
            elapsed=since(self.started),
            audited=len(self.todo),
            out=self.store.path if self.store is not None else None,
            engine=engine,
            extra=extra or {},
        )
