"""Saving and resuming an audit: part files written atomically beside ``out`` as results
come, merged into the final summary and findings files at the end (see
:mod:`hs_notebook.catalog`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from hs_notebook.catalog._results import (
    DONE_STATUSES,
    concat_findings,
    concat_summary,
    empty_findings,
    latest_rows,
    normalise_findings,
    normalise_summary,
    summary_frame,
)
from hs_notebook.errors import InvalidArgument

__all__ = ["ResultStore", "atomic_parquet", "pending_ids", "prepare_store"]


class ResultStore:
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
            summaries.append(normalise_summary(self._read(self.path)))
            if self.findings_path.exists():
                findings.append(normalise_findings(self._read(self.findings_path)))
        if self.parts.is_dir():
            for part in sorted(self.parts.glob("part-*-summary.parquet")):
                twin = part.with_name(part.name.replace("-summary.", "-findings."))
                summaries.append(normalise_summary(pd.read_parquet(part)))
                if twin.exists():
                    findings.append(normalise_findings(pd.read_parquet(twin)))
                number = int(part.name.split("-")[1])
                self._seq = max(self._seq, number + 1)
        summary = concat_summary(summaries)
        found = concat_findings(findings)
        return latest_rows(summary, found)

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
        atomic_parquet(findings, self.parts / f"{stem}-findings.parquet")
        atomic_parquet(summary, self.parts / f"{stem}-summary.parquet")

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
            atomic_parquet(frame, path)


def atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def prepare_store(
    out: str | os.PathLike[str] | None, resume: bool
) -> tuple[ResultStore | None, tuple[pd.DataFrame, pd.DataFrame]]:
    if out is None:
        return None, (summary_frame([]), empty_findings())
    store = ResultStore(out)
    if resume:
        return store, store.load()
    store.reset()
    return store, (summary_frame([]), empty_findings())


def pending_ids(ids: Sequence[str], previous: pd.DataFrame) -> list[str]:
    if previous.empty:
        return list(ids)
    done = set(previous.loc[previous["status"].isin(DONE_STATUSES), "video_id"].tolist())
    return [v for v in ids if v not in done]
