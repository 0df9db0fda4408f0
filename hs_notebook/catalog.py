"""Audit a whole catalog: :func:`~hs_notebook.ladder.inspect` and :func:`~hs_notebook.qa.qa`
every video, many at a time, into two tables.

>>> result = audit(video_ids, key, project_id=12, out="audit.parquet")   # doctest: +SKIP
>>> result.summary          # one row per video (SUMMARY_COLUMNS)
>>> result.findings         # one row per finding, with a video_id column (FINDINGS_COLUMNS)

How it runs:

* **One machine** (``engine="local"``): one event loop, one shared
  :class:`~hs_notebook.client.AsyncClient`, and a fixed pool of ``concurrency`` worker
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

import asyncio
import contextlib
import html
import math
import os
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from hs_notebook.client import AsyncClient
from hs_notebook.errors import HeapStreamError, InvalidArgument, NotFound, TokenRejected
from hs_notebook.extras import require_extra
from hs_notebook.ladder import inspect_async
from hs_notebook.qa import COLUMNS as FINDING_COLUMNS_QA
from hs_notebook.qa import SEVERITIES, qa_async
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

T = TypeVar("T")

#: Statuses of a video in an audit.
STATUSES: dict[str, str] = {
    "ok": "inspected and checked; no error or warning findings (infos allowed)",
    "findings": "inspected and checked; at least one error or warning finding",
    "refused": "the origin refused the token (reason: the origin's reason and detail)",
    "not_found": "the origin answered 404: no such video in this project",
    "error": "anything else: 5xx or network failure after the retries, a timeout, a "
    "malformed playlist, a bad id (reason says which); audited again on resume",
}
#: Statuses that count as done when resuming (``error`` is retried).
DONE_STATUSES: frozenset[str] = frozenset({"ok", "findings", "refused", "not_found"})

#: Columns of :attr:`AuditResult.summary`.
SUMMARY_COLUMNS: dict[str, str] = {
    "video_id": "the video id, as given",
    "status": "one of STATUSES",
    "errors": "number of error findings (0 when the video could not be checked)",
    "warnings": "number of warning findings",
    "infos": "number of info findings",
    "worst_rule": "the rule of the most severe error/warning finding, else <NA>",
    "reason": "why the video could not be checked (refused, not_found, error), else <NA>",
    "elapsed": "seconds spent on this video (inspect + qa), float",
}
#: Columns of :attr:`AuditResult.findings`: ``video_id`` plus :data:`hs_notebook.qa.COLUMNS`.
FINDINGS_COLUMNS: dict[str, str] = {"video_id": "the video the finding is about"} | dict(
    FINDING_COLUMNS_QA
)

_INT_COLUMNS = ("errors", "warnings", "infos")
_DEFAULT_TIMEOUT = 120.0


# ---------------------------------------------------------------------------- tables


def _summary_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "video_id": pd.array([r["video_id"] for r in rows], dtype="string"),
            "status": pd.array([r["status"] for r in rows], dtype="string"),
            "errors": pd.array([r["errors"] for r in rows], dtype="int64"),
            "warnings": pd.array([r["warnings"] for r in rows], dtype="int64"),
            "infos": pd.array([r["infos"] for r in rows], dtype="int64"),
            "worst_rule": pd.array([r["worst_rule"] for r in rows], dtype="string"),
            "reason": pd.array([r["reason"] for r in rows], dtype="string"),
            "elapsed": pd.array([r["elapsed"] for r in rows], dtype="float64"),
        }
    )


def _empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.array([], dtype="string") for c in FINDINGS_COLUMNS})


def _normalise_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a summary table read back from disk to the documented dtypes."""
    missing = set(SUMMARY_COLUMNS) - set(frame.columns)
    if missing:
        raise InvalidArgument(
            f"the audit file lacks the column(s) {sorted(missing)}: it was not written by "
            "hs_notebook.audit (use another out= path, or resume=False to overwrite it)"
        )
    out = frame[list(SUMMARY_COLUMNS)].copy()
    for col in ("video_id", "status", "worst_rule", "reason"):
        values = out[col].astype("string")
        if col in ("worst_rule", "reason"):
            values = values.mask(values == "")
        out[col] = values
    for col in _INT_COLUMNS:
        out[col] = pd.to_numeric(out[col]).astype("int64")
    out["elapsed"] = pd.to_numeric(out["elapsed"]).astype("float64")
    return out


def _normalise_findings(frame: pd.DataFrame) -> pd.DataFrame:
    missing = set(FINDINGS_COLUMNS) - set(frame.columns)
    if missing:
        raise InvalidArgument(
            f"the findings file lacks the column(s) {sorted(missing)}: it was not written by "
            "hs_notebook.audit"
        )
    out = frame[list(FINDINGS_COLUMNS)].copy()
    for col in FINDINGS_COLUMNS:
        out[col] = out[col].astype("string").fillna("")
    return out


# ---------------------------------------------------------------------------- storage


class _Store:
    """Results on disk: ``out`` (summary), ``<stem>.findings<suffix>``, and ``<out>.parts/``
    with atomically written batches (Parquet) until the final merge."""

    def __init__(self, out: str | os.PathLike[str]) -> None:
        path = Path(out)
        suffix = path.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise InvalidArgument(f"out must end in .parquet or .csv, got {str(out)!r}")
        if path.exists() and path.is_dir():
            raise InvalidArgument(f"out {str(out)!r} is a directory; give a file path")
        if not path.parent.exists():
            raise InvalidArgument(f"the directory of out ({path.parent}) does not exist")
        self.path = path
        self.csv = suffix == ".csv"
        self.findings_path = path.with_name(f"{path.stem}.findings{path.suffix}")
        self.parts = path.with_name(path.name + ".parts")
        self._seq = 0

    # reading --------------------------------------------------------------------------
    def _read(self, path: Path) -> pd.DataFrame:
        if self.csv and path.suffix.lower() == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        return pd.read_parquet(path)

    def load(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Everything saved so far (final files, then parts in order; later rows win)."""
        summaries: list[pd.DataFrame] = []
        findings: list[pd.DataFrame] = []
        if self.path.exists():
            summaries.append(_normalise_summary(self._read(self.path)))
            if self.findings_path.exists():
                findings.append(_normalise_findings(self._read(self.findings_path)))
        if self.parts.is_dir():
            for part in sorted(self.parts.glob("part-*-summary.parquet")):
                twin = part.with_name(part.name.replace("-summary.", "-findings."))
                summaries.append(_normalise_summary(pd.read_parquet(part)))
                if twin.exists():
                    findings.append(_normalise_findings(pd.read_parquet(twin)))
                number = int(part.name.split("-")[1])
                self._seq = max(self._seq, number + 1)
        summary = _concat_summary(summaries)
        found = _concat_findings(findings)
        return _latest(summary, found)

    # writing --------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget earlier parts (``resume=False``); the final files are replaced at the end."""
        if self.parts.is_dir():
            shutil.rmtree(self.parts)
        self._seq = 0

    def write_part(self, summary: pd.DataFrame, findings: pd.DataFrame) -> None:
        """One batch, atomically: findings first, then the summary that makes it count."""
        if summary.empty:
            return
        self.parts.mkdir(exist_ok=True)
        stem = f"part-{self._seq:06d}"
        self._seq += 1
        _atomic_parquet(findings, self.parts / f"{stem}-findings.parquet")
        _atomic_parquet(summary, self.parts / f"{stem}-summary.parquet")

    def finalize(self, summary: pd.DataFrame, findings: pd.DataFrame) -> None:
        """Replace the final files atomically, then drop the parts."""
        self._atomic(findings, self.findings_path)
        self._atomic(summary, self.path)
        if self.parts.is_dir():
            shutil.rmtree(self.parts, ignore_errors=True)

    def _atomic(self, frame: pd.DataFrame, path: Path) -> None:
        if self.csv:
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            frame.to_csv(tmp, index=False)
            os.replace(tmp, path)
        else:
            _atomic_parquet(frame, path)


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _concat_summary(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return _summary_frame([])
    return pd.concat(frames, ignore_index=True)


def _concat_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return _empty_findings()
    return pd.concat(frames, ignore_index=True)


def _latest(summary: pd.DataFrame, findings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the last summary row of each video (a video is saved twice only when an
    ``error`` was audited again on resume; errors have no findings, so findings need no
    de-duplication)."""
    if summary.empty:
        return summary, findings.reset_index(drop=True)
    last = summary.drop_duplicates("video_id", keep="last").reset_index(drop=True)
    return last, findings.reset_index(drop=True)


# ---------------------------------------------------------------------------- results


@dataclass
class AuditResult:
    """What :func:`audit` returns.

    Attributes:
        summary: one row per video (:data:`SUMMARY_COLUMNS`), in the order of the ids given.
        findings: every finding of every video (:data:`FINDINGS_COLUMNS`).
        elapsed: wall-clock seconds of this run.
        audited: videos audited in this run (the others came from ``out`` when resuming).
        out: the summary file, when ``out=`` was given.
    """

    summary: pd.DataFrame
    findings: pd.DataFrame
    elapsed: float = 0.0
    audited: int = 0
    out: Path | None = None
    engine: str = "local"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """``{status: number of videos}`` for every status in :data:`STATUSES`."""
        found = self.summary["status"].value_counts()
        return {s: int(found.get(s, 0)) for s in STATUSES}

    @property
    def videos_per_second(self) -> float:
        """Videos audited in this run per wall-clock second."""
        return self.audited / self.elapsed if self.elapsed > 0 else float("nan")

    def failed(self, threshold: str = "error") -> pd.DataFrame:
        """Summary rows of the videos that fail at ``threshold``: a finding at that
        severity or worse, or a status of refused, not_found or error."""
        if threshold not in SEVERITIES:
            raise InvalidArgument(
                f"threshold must be one of {', '.join(SEVERITIES)}, got {threshold!r}"
            )
        s = self.summary
        bad = s["status"].isin(["refused", "not_found", "error"]) | (s["errors"] > 0)
        if threshold in ("warning", "info"):
            bad |= s["warnings"] > 0
        if threshold == "info":
            bad |= s["infos"] > 0
        return s[bad.to_numpy(dtype=bool)]

    @property
    def line(self) -> str:
        """``"500 videos: 480 findings, 10 refused, 10 error (41.2 videos/s)"``."""
        parts = [f"{n} {s}" for s, n in self.counts.items() if n]
        rate = self.videos_per_second
        speed = f" ({rate:.1f} videos/s)" if self.audited and not math.isnan(rate) else ""
        return f"{len(self.summary)} videos: {', '.join(parts) or 'none'}{speed}"

    def __repr__(self) -> str:
        return f"<AuditResult {self.line}>"

    def _repr_html_(self) -> str:
        colours = {
            "ok": "#1a7f37",
            "findings": "#9a6700",
            "refused": "#cf222e",
            "not_found": "#cf222e",
            "error": "#cf222e",
        }
        badges = " ".join(
            f"<span style='color:{colours[s]};margin-right:1em'><b>{n}</b> {s}</span>"
            for s, n in self.counts.items()
            if n
        )
        worst = ""
        if not self.findings.empty:
            top = (
                self.findings[self.findings["severity"].isin(["error", "warning"])]
                .groupby(["rule", "severity"], sort=False)["video_id"]
                .nunique()
                .sort_values(ascending=False)
                .head(10)
            )
            if len(top):
                items = "".join(
                    f"<li><b>{html.escape(rule)}</b> ({sev}): {n} video{'s' if n != 1 else ''}</li>"
                    for (rule, sev), n in top.items()
                )
                worst = f"<div><i>most common findings</i><ul>{items}</ul></div>"
        table = self.summary.head(50).to_html(index=False, na_rep="")
        return (
            f"<div class='hs-audit'><div><b>{html.escape(self.line)}</b></div>"
            f"<div>{badges}</div>{worst}{table}</div>"
        )


# ---------------------------------------------------------------------------- one video


@dataclass(frozen=True)
class _Job:
    """Everything the per-video code needs (same on the driver and on Dask workers)."""

    key: SigningKey | None  # None on Dask workers: they get ready tokens instead
    project_id: int | str
    base_url: str | None
    measure: bool
    timeout: float
    ttl: float = 3600.0  # lifetime of the tokens minted per video (local engine)
    tokens: Mapping[str, str] | None = None  # {video_id: token} minted on the client


def _row(video_id: str, status: str, elapsed: float, reason: str | None = None) -> dict[str, Any]:
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


async def _audit_one(
    video_id: str, job: _Job, client: AsyncClient
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Inspect and check one video; never raises (except cancellation)."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(job.timeout):
            if job.tokens is None:
                ladder = await inspect_async(
                    video_id, job.key, job.project_id, job.base_url, ttl=job.ttl, client=client
                )
            else:
                ladder = await inspect_async(
                    video_id,
                    None,
                    job.project_id,
                    job.base_url,
                    client=client,
                    token=job.tokens[video_id],
                )
            findings = await qa_async(ladder, measure=job.measure, client=client)
    except TokenRejected as exc:
        return _row(video_id, "refused", _since(start), f"{exc.reason}: {exc.detail}"), None
    except NotFound as exc:
        return _row(video_id, "not_found", _since(start), str(exc)), None
    except TimeoutError:
        reason = f"timed out after {job.timeout:g} s"
        return _row(video_id, "error", _since(start), reason), None
    except HeapStreamError as exc:
        return _row(video_id, "error", _since(start), f"{type(exc).__name__}: {exc}"), None
    except Exception as exc:  # a bug or an unforeseen library error: keep the video
        reason = f"unexpected {type(exc).__name__}: {exc}"
        return _row(video_id, "error", _since(start), reason), None
    counts = findings.counts
    row = _row(
        video_id,
        "findings" if counts["error"] or counts["warning"] else "ok",
        _since(start),
    )
    row.update(errors=counts["error"], warnings=counts["warning"], infos=counts["info"])
    if counts["error"] or counts["warning"]:
        row["worst_rule"] = findings.worst_rule
    table = findings.table
    if table.empty:
        return row, None
    table = table.copy()
    table.insert(0, "video_id", pd.array([video_id] * len(table), dtype="string"))
    return row, table


def _records(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Summary rows as plain dicts (``None`` for missing values)."""
    return [
        {k: (None if v is pd.NA or v is None else v) for k, v in row.items()}
        for row in summary.to_dict("records")
    ]


def _since(start: float) -> float:
    return time.perf_counter() - start


# ---------------------------------------------------------------------------- the pool


class _Sink:
    """Collects results; writes a part file every ``flush_every`` videos when saving."""

    def __init__(self, store: _Store | None, flush_every: int, bar: Any) -> None:
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
        summary = _summary_frame(self._pending_rows)
        findings = _concat_findings(self._pending_tables)
        self.store.write_part(summary, findings)
        self._pending_rows = []
        self._pending_tables = []


async def _run_pool(
    ids: Sequence[str],
    job: _Job,
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
                row, table = await _audit_one(video_id, job, client)
                on_result(row, table)

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(ids)))))


def _run_sync(make: Callable[[], Awaitable[T]]) -> T:
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


# ---------------------------------------------------------------------------- validation


def _check_ids(video_ids: Iterable[str]) -> list[str]:
    if isinstance(video_ids, str):
        raise InvalidArgument("video_ids must be a list of ids, not one string")
    try:
        ids = list(video_ids)
    except TypeError:
        raise InvalidArgument(
            f"video_ids must be an iterable of strings, got {type(video_ids).__name__}"
        ) from None
    bad = [v for v in ids if not isinstance(v, str)]
    if bad:
        raise InvalidArgument(f"video ids must be strings, got {bad[0]!r}")
    return list(dict.fromkeys(ids))  # de-duplicated, order kept


def _check_int(name: str, value: Any, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{name} must be an int >= 1, got {value!r}")


def _check_common(concurrency: Any, timeout: Any, flush_every: Any) -> None:
    _check_int("concurrency", concurrency)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise InvalidArgument(f"timeout must be seconds > 0, got {timeout!r}")
    _check_int("flush_every", flush_every, optional=True)


def _check_key(key: Any) -> SigningKey:
    if not isinstance(key, SigningKey):
        raise InvalidArgument(
            f"key must be a SigningKey (SigningKey.from_base64(key_id, b64) or "
            f"SigningKey.from_env()), got {type(key).__name__}"
        )
    return key


def _progress(enabled: bool, total: int, initial: int, desc: str) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="video", desc=desc)


def _assemble(
    ids: Sequence[str],
    previous: tuple[pd.DataFrame, pd.DataFrame],
    rows: list[dict[str, Any]],
    tables: list[pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Previous results (minus redone ids) + this run's, ordered like ``ids``."""
    new_summary = _summary_frame(rows)
    new_findings = _concat_findings(tables)
    old_summary, old_findings = previous
    redone = set(new_summary["video_id"].tolist())
    if not old_summary.empty:
        old_summary = old_summary[~old_summary["video_id"].isin(redone)]
        old_findings = old_findings[~old_findings["video_id"].isin(redone)]
    summary = _concat_summary([old_summary, new_summary])
    findings = _concat_findings([old_findings, new_findings])
    order = {vid: i for i, vid in enumerate(ids)}
    rank = summary["video_id"].map(lambda v: order.get(v, len(order))).astype("int64")
    summary = summary.iloc[rank.argsort(kind="stable").to_numpy()].reset_index(drop=True)
    if not findings.empty:
        frank = findings["video_id"].map(lambda v: order.get(v, len(order))).astype("int64")
        findings = findings.iloc[frank.argsort(kind="stable").to_numpy()].reset_index(drop=True)
    return summary, findings


def _prepare_store(
    out: str | os.PathLike[str] | None, resume: bool
) -> tuple[_Store | None, tuple[pd.DataFrame, pd.DataFrame]]:
    if out is None:
        return None, (_summary_frame([]), _empty_findings())
    store = _Store(out)
    if resume:
        return store, store.load()
    store.reset()
    return store, (_summary_frame([]), _empty_findings())


def _todo(ids: Sequence[str], previous: pd.DataFrame) -> list[str]:
    if previous.empty:
        return list(ids)
    done = set(previous.loc[previous["status"].isin(DONE_STATUSES), "video_id"].tolist())
    return [v for v in ids if v not in done]


# ---------------------------------------------------------------------------- local engine


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
    timeout: float = _DEFAULT_TIMEOUT,
    flush_every: int | None = None,
    token_ttl: float = 3600.0,
) -> AuditResult:
    """Async :func:`audit` with ``engine="local"`` (await it inside a running loop)."""
    ids = _check_ids(video_ids)
    _check_common(concurrency, timeout, flush_every)
    ttl = _check_ttl(token_ttl)
    job = _Job(_check_key(key), project_id, base_url, bool(measure), float(timeout), ttl=ttl)
    store, previous = _prepare_store(out, resume)
    todo = _todo(ids, previous[0]) if resume else list(ids)
    started = time.perf_counter()
    bar = _progress(progress, len(ids), len(ids) - len(todo), "audit")
    sink = _Sink(store, flush_every or max(50, concurrency * 4), bar)
    try:
        await _run_pool(todo, job, concurrency, sink.add)
    finally:
        sink.flush()
        if bar is not None:
            bar.close()
    summary, findings = _assemble(ids, previous, sink.rows, sink.tables)
    if store is not None:
        store.finalize(summary, findings)
    return AuditResult(
        summary=summary,
        findings=findings,
        elapsed=time.perf_counter() - started,
        audited=len(todo),
        out=store.path if store is not None else None,
        engine="local",
    )


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
    timeout: float = _DEFAULT_TIMEOUT,
    flush_every: int | None = None,
    partition_size: int | None = None,
    token_ttl: float | None = None,
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

    Raises:
        InvalidArgument: bad arguments (a key that is not a SigningKey, an ``out`` that is
            not .parquet/.csv, an unknown engine, dask without a client).
    """
    if engine == "local":
        if client is not None:
            raise InvalidArgument(
                "client= is the distributed.Client for engine='dask'; with engine='local' "
                "leave it out"
            )
        return _run_sync(
            lambda: audit_async(
                video_ids,
                key,
                project_id,
                base_url,
                concurrency=concurrency,
                measure=measure,
                out=out,
                resume=resume,
                progress=progress,
                timeout=timeout,
                flush_every=flush_every,
                token_ttl=3600.0 if token_ttl is None else token_ttl,
            )
        )
    if engine == "dask":
        if client is None:
            raise InvalidArgument(
                "engine='dask' needs client=distributed.Client(...) (for one machine: "
                "distributed.Client(distributed.LocalCluster()))"
            )
        return audit_dask(
            client,
            video_ids,
            key,
            project_id,
            base_url,
            concurrency=concurrency,
            measure=measure,
            out=out,
            resume=resume,
            progress=progress,
            timeout=timeout,
            partition_size=partition_size,
            token_ttl=DASK_TOKEN_TTL if token_ttl is None else token_ttl,
        )
    raise InvalidArgument(f"engine must be 'local' or 'dask', got {engine!r}")


# ---------------------------------------------------------------------------- Dask engine

#: Default lifetime (seconds) of the tokens :func:`audit_dask` mints for the workers: 6 h.
DASK_TOKEN_TTL: float = 6 * 3600.0


class _PartitionTokens:
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


def _audit_partition(
    ids: list[str],
    tokens: _PartitionTokens,
    project_id: int | str,
    base_url: str | None,
    concurrency: int,
    measure: bool,
    timeout: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs ON A DASK WORKER: the same per-video async code as the local engine, with the
    tokens minted on the client (no signing key here)."""
    rows: list[dict[str, Any]] = []
    tables: list[pd.DataFrame] = []
    job = _Job(None, project_id, base_url, measure, timeout, tokens=tokens.tokens)

    def collect(row: dict[str, Any], table: pd.DataFrame | None) -> None:
        rows.append(row)
        if table is not None:
            tables.append(table)

    asyncio.run(_run_pool(ids, job, concurrency, collect))
    return _summary_frame(rows), _concat_findings(tables)


def _mint_partition(
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
                rows.append(_row(video_id, "error", 0.0, f"{type(exc).__name__}: {exc}"))
        return tokens, rows


def _dask_workers(client: Any) -> int:
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:
        return 1


def _check_ttl(token_ttl: Any) -> float:
    if (
        isinstance(token_ttl, bool)
        or not isinstance(token_ttl, int | float)
        or not math.isfinite(token_ttl)
        or token_ttl <= 0
    ):
        raise InvalidArgument(f"token_ttl must be seconds > 0, got {token_ttl!r}")
    return float(token_ttl)


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
    timeout: float = _DEFAULT_TIMEOUT,
    partition_size: int | None = None,
    token_ttl: float = DASK_TOKEN_TTL,
) -> AuditResult:
    """:func:`audit` on a Dask cluster: partitions of ids run on the workers of ``client``
    (a ``distributed.Client``), each with the local engine's per-video async code and
    ``concurrency`` videos in flight; the results are gathered here into the same tables
    (and saved to ``out`` as each partition completes).

    **The private key never leaves this machine.**  Before submitting, one token per video
    is minted here (``key.mint_many(ids, ttl=token_ttl)``), and each partition ships only
    its ``{video_id: token}`` (redacted in reprs, since Dask logs the arguments of failed
    tasks); the workers pass each token to :func:`~hs_notebook.ladder.inspect_async`.

    ``token_ttl`` (seconds, default 6 h) must cover the time from submission until the
    last partition has finished: the wait in the cluster's queue plus the run itself.  A
    token that expired first makes its video come back ``refused`` (``expired``); resume
    with ``out=`` then audits it again with fresh tokens.

    A partition whose task fails (a worker dies) comes back with every one of its ids as
    ``error``.
    """
    require_extra("dask", "distributed", feature="the Dask engine")
    from distributed import as_completed

    ids = _check_ids(video_ids)
    _check_common(concurrency, timeout, None)
    _check_int("partition_size", partition_size, optional=True)
    key = _check_key(key)
    ttl = _check_ttl(token_ttl)
    store, previous = _prepare_store(out, resume)
    todo = _todo(ids, previous[0]) if resume else list(ids)
    started = time.perf_counter()
    size = partition_size or max(1, math.ceil(len(todo) / (_dask_workers(client) * 4)))
    parts = [todo[i : i + size] for i in range(0, len(todo), size)]
    bar = _progress(progress, len(ids), len(ids) - len(todo), "audit (dask)")
    sink = _Sink(None, 1, None)  # collects; each partition is saved as it completes

    def keep(rows: list[dict[str, Any]], findings: pd.DataFrame, done: int) -> None:
        sink.rows.extend(rows)
        if not findings.empty:
            sink.tables.append(findings)
        if store is not None:
            store.write_part(_summary_frame(rows), findings)
        if bar is not None:
            bar.update(done)

    futures = {}
    try:
        for part in parts:
            tokens, unminted = _mint_partition(key, part, ttl)
            if unminted:
                keep(unminted, _empty_findings(), len(unminted))
            runnable = [v for v in part if v in tokens]
            if not runnable:
                continue
            future = client.submit(
                _audit_partition,
                runnable,
                _PartitionTokens({v: tokens[v] for v in runnable}),
                project_id,
                base_url,
                concurrency,
                bool(measure),
                float(timeout),
                pure=False,
            )
            futures[future] = runnable
        for future in as_completed(list(futures)):
            part = futures[future]
            try:
                summary, findings = future.result()
                rows = _records(summary)
            except Exception as exc:  # the task failed: keep every id of the partition
                reason = f"Dask task failed: {type(exc).__name__}: {exc}"
                rows = [_row(v, "error", 0.0, reason) for v in part]
                findings = _empty_findings()
            keep(rows, findings, len(part))
    finally:
        if bar is not None:
            bar.close()
        for future in futures:
            with contextlib.suppress(Exception):
                future.release()
    summary, findings = _assemble(ids, previous, sink.rows, sink.tables)
    if store is not None:
        store.finalize(summary, findings)
    return AuditResult(
        summary=summary,
        findings=findings,
        elapsed=time.perf_counter() - started,
        audited=len(todo),
        out=store.path if store is not None else None,
        engine="dask",
        extra={"partitions": len(parts), "partition_size": size, "token_ttl": ttl},
    )
