"""The audit's tables: statuses, documented columns, the typed summary and findings frames
(also as read back from disk), and :class:`AuditResult`, what an audit returns."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hs_notebook import formatting
from hs_notebook.errors import InvalidArgument
from hs_notebook.qa import COLUMNS as FINDING_COLUMNS_QA
from hs_notebook.qa import SEVERITIES

__all__ = [
    "DONE_STATUSES",
    "FINDINGS_COLUMNS",
    "STATUSES",
    "SUMMARY_COLUMNS",
    "AuditResult",
    "assemble",
    "concat_findings",
    "concat_summary",
    "empty_findings",
    "latest_rows",
    "normalise_findings",
    "normalise_summary",
    "records",
    "summary_frame",
]

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


# ---------------------------------------------------------------------------- tables


def summary_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
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


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.array([], dtype="string") for c in FINDINGS_COLUMNS})


def _columns_of(frame: pd.DataFrame, columns: dict[str, str], what: str, hint: str) -> pd.DataFrame:
    """``frame``'s documented columns, in order, or InvalidArgument naming the missing ones."""
    missing = set(columns) - set(frame.columns)
    if missing:
        raise InvalidArgument(
            f"the {what} file lacks the column(s) {sorted(missing)}: it was not written by "
            f"hs_notebook.audit{hint}"
        )
    return frame[list(columns)].copy()


def normalise_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a summary table read back from disk to the documented dtypes."""
    hint = " (use another out= path, or resume=False to overwrite it)"
    out = _columns_of(frame, SUMMARY_COLUMNS, "audit", hint)
    for col in ("video_id", "status", "worst_rule", "reason"):
        values = out[col].astype("string")
        if col in ("worst_rule", "reason"):
            values = values.mask(values == "")
        out[col] = values
    for col in _INT_COLUMNS:
        out[col] = pd.to_numeric(out[col]).astype("int64")
    out["elapsed"] = pd.to_numeric(out["elapsed"]).astype("float64")
    return out


def normalise_findings(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a findings table read back from disk to the documented dtypes (text)."""
    out = _columns_of(frame, FINDINGS_COLUMNS, "findings", "")
    for col in FINDINGS_COLUMNS:
        out[col] = out[col].astype("string").fillna("")
    return out


# ---------------------------------------------------------------------------- storage
def concat_summary(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return summary_frame([])
    return pd.concat(frames, ignore_index=True)


def concat_findings(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_findings()
    return pd.concat(frames, ignore_index=True)


def latest_rows(summary: pd.DataFrame, findings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
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
        shown = self.audited and not math.isnan(rate)
        speed = f" ({formatting.rate(rate, 'videos')})" if shown else ""
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
                    f"<li><b>{html.escape(str(rule))}</b> ({sev}): {n} video"
                    f"{'s' if n != 1 else ''}</li>"
                    for (rule, sev), n in zip(top.index.tolist(), top.tolist(), strict=True)
                )
                worst = f"<div><i>most common findings</i><ul>{items}</ul></div>"
        table = self.summary.head(50).to_html(index=False, na_rep="")
        return (
            f"<div class='hs-audit'><div><b>{html.escape(self.line)}</b></div>"
            f"<div>{badges}</div>{worst}{table}</div>"
        )


# ---------------------------------------------------------------------------- one video
def records(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Summary rows as plain dicts (``None`` for missing values)."""
    return [
        {str(k): (None if v is pd.NA or v is None else v) for k, v in row.items()}
        for row in summary.to_dict("records")
    ]


def assemble(
    ids: Sequence[str],
    previous: tuple[pd.DataFrame, pd.DataFrame],
    rows: list[dict[str, Any]],
    tables: list[pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Previous results (minus redone ids) + this run's, ordered like ``ids``."""
    new_summary = summary_frame(rows)
    new_findings = concat_findings(tables)
    old_summary, old_findings = previous
    redone = set(new_summary["video_id"].tolist())
    if not old_summary.empty:
        old_summary = old_summary[~old_summary["video_id"].isin(redone)]
        old_findings = old_findings[~old_findings["video_id"].isin(redone)]
    summary = concat_summary([old_summary, new_summary])
    findings = concat_findings([old_findings, new_findings])
    order = {vid: i for i, vid in enumerate(ids)}
    rank = summary["video_id"].map(lambda v: order.get(v, len(order))).astype("int64")
    summary = summary.iloc[rank.argsort(kind="stable").to_numpy()].reset_index(drop=True)
    if not findings.empty:
        frank = findings["video_id"].map(lambda v: order.get(v, len(order))).astype("int64")
        findings = findings.iloc[frank.argsort(kind="stable").to_numpy()].reset_index(drop=True)
    return summary, findings
