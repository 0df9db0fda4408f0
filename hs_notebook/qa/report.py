"""The QA report (:class:`QAReport`): a table of findings plus the rules that passed or
were skipped, with counts, thresholds and notebook displays."""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from hs_notebook.errors import InvalidArgument
from hs_notebook.qa.rules import RULES, SEVERITIES

if TYPE_CHECKING:
    from hs_notebook.quality_rules import ScoredLadder

__all__ = ["COLOURS", "COLUMNS", "RANK", "QAReport", "empty_table", "plural"]

#: ``{severity: rank}``, 0 the most severe.
RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
#: The colour of each severity in displays and plots.
COLOURS: dict[str, str] = {"error": "#cf222e", "warning": "#9a6700", "info": "#0969da"}
_BACKGROUNDS = {"error": "#ffebe9", "warning": "#fff8c5", "info": "#ddf4ff"}

#: Columns of :attr:`QAReport.table`.
COLUMNS: dict[str, str] = {
    "rule": "the rule id (a key of RULES)",
    "severity": "error, warning or info",
    "subject": 'what the finding is about: "master", a preset id (or variant URI when the '
    'variant has no preset id), a text track id, or "<preset>:<segment index>"',
    "message": "what is wrong, in a sentence a person can act on",
    "measured": "the value found, as text (empty when not applicable)",
    "expected": "the value or range the rule wants, as text (empty when not applicable)",
}


class QAReport:
    """The result of :func:`~hs_notebook.qa.qa`: a table of findings plus the rules that
    passed or were skipped.

    Attributes:
        table: one row per finding, columns :data:`COLUMNS`, ordered by severity, then by
            rule (as in :data:`RULES`), then as found.
        passed: ids of the rules that ran and found nothing.
        skipped: ``{rule id: why it did not run}`` (also reported as ``info`` findings).
        profile: the rule profile checked (``"heapstream"``, ``"apple"``, ``"rfc8216"``;
            see :data:`~hs_notebook.qa.rules.PROFILES`), also in ``table.attrs["profile"]``,
            the repr, the notebook display and :meth:`to_dict`; ``None`` when unknown.
        quality: the scored ladder when ``qa`` ran with ``depth="quality"`` and scoring
            worked (a :class:`~hs_notebook.quality.ladder.LadderQuality`: its
            ``renditions`` table holds VMAF, PSNR, SSIM and loudness per rendition, its
            figures plot them), else ``None``.
    """

    def __init__(
        self,
        table: pd.DataFrame,
        passed: list[str],
        skipped: Mapping[str, str],
        *,
        profile: str | None = None,
        quality: ScoredLadder | None = None,
    ) -> None:
        if list(table.columns) != list(COLUMNS):
            raise InvalidArgument(f"a findings table has the columns {list(COLUMNS)}")
        self.table = table
        self.passed = list(passed)
        self.skipped = dict(skipped)
        self.profile = profile
        self.quality = quality
        if profile is not None:
            table.attrs["profile"] = profile

    # counts ---------------------------------------------------------------------------
    @property
    def counts(self) -> dict[str, int]:
        """``{"error": n, "warning": n, "info": n}``."""
        found = Counter(self.table["severity"].tolist())
        return {s: int(found.get(s, 0)) for s in SEVERITIES}

    @property
    def errors(self) -> int:
        return self.counts["error"]

    @property
    def warnings(self) -> int:
        return self.counts["warning"]

    @property
    def infos(self) -> int:
        return self.counts["info"]

    @property
    def worst(self) -> str | None:
        """The most severe severity found, or ``None`` when there are no findings."""
        return next((s for s in SEVERITIES if self.counts[s]), None)

    @property
    def worst_rule(self) -> str | None:
        """The rule of the first most severe finding, or ``None``."""
        return None if self.table.empty else str(self.table["rule"].iloc[0])

    @property
    def ok(self) -> bool:
        """No errors (warnings and infos allowed)."""
        return self.errors == 0

    def at_least(self, severity: str = "error") -> pd.DataFrame:
        """The findings at ``severity`` or more severe (``"warning"`` gives errors too)."""
        rank = _threshold(severity)
        keep = self.table["severity"].map(RANK).astype(int) <= rank
        return self.table[keep.to_numpy()]

    def fails(self, threshold: str = "error") -> bool:
        """True when a finding at ``threshold`` or more severe exists (for exit codes)."""
        return not self.at_least(threshold).empty

    def by_rule(self, rule_id: str) -> pd.DataFrame:
        """The findings of one rule."""
        if rule_id not in RULES:
            raise InvalidArgument(f"unknown rule {rule_id!r}; see RULES")
        return self.table[(self.table["rule"] == rule_id).to_numpy()]

    @property
    def summary(self) -> str:
        """``"2 errors, 1 warning, 14 rules passed"`` (plus ``", 3 skipped"``)."""
        c = self.counts
        parts = [plural(c["error"], "error"), plural(c["warning"], "warning")]
        if c["info"]:
            parts.append(plural(c["info"], "info"))
        parts.append(f"{plural(len(self.passed), 'rule')} passed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts)

    # conversions ----------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`table`."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: counts, summary, findings, passed and skipped rules."""
        return {
            "summary": self.summary,
            "counts": self.counts,
            "findings": [
                {k: (None if v is pd.NA else v) for k, v in row.items()}
                for row in self.table.to_dict("records")
            ],
            "passed": self.passed,
            "skipped": self.skipped,
            "profile": self.profile,
        }

    def to_json(self, **kwargs: Any) -> str:
        """:meth:`to_dict` as JSON text (``kwargs`` go to ``json.dumps``)."""
        return json.dumps(self.to_dict(), **kwargs)

    # container face -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, column: str) -> pd.Series:
        return self.table[column]

    # display --------------------------------------------------------------------------
    def __repr__(self) -> str:
        profile = f" ({self.profile} profile)" if self.profile else ""
        lines = [f"<QAReport{profile}: {self.summary}>"]
        for row in self.table.itertuples(index=False):
            lines.append(f"  {row.severity:<7} {row.rule:<26} {row.subject}: {row.message}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = COLOURS[self.worst] if self.worst in ("error", "warning") else "#1a7f37"
        head = (
            f"<div style='font-weight:bold;color:{colour};margin-bottom:4px'>"
            f"{html.escape(self.summary)}</div>"
        )
        if self.profile:
            head += (
                "<div style='margin-bottom:4px'>profile: "
                f"<code>{html.escape(self.profile)}</code></div>"
            )
        rows = []
        limit = 500
        for row in self.table.head(limit).itertuples(index=False):
            bg = _BACKGROUNDS.get(str(row.severity), "transparent")
            cells = "".join(
                f"<td style='text-align:left;vertical-align:top'>{html.escape(str(value))}</td>"
                for value in (
                    row.severity,
                    row.rule,
                    row.subject,
                    row.message,
                    row.measured,
                    row.expected,
                )
            )
            rows.append(f"<tr style='background:{bg};color:#1f2328'>{cells}</tr>")
        more = ""
        if len(self.table) > limit:
            more = f"<div><i>… {len(self.table) - limit} more (see .table)</i></div>"
        table = ""
        if rows:
            header = "".join(
                f"<th style='text-align:left'>{h}</th>"
                for h in ("severity", "rule", "subject", "message", "measured", "expected")
            )
            table = f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        passed = ""
        if self.passed:
            passed = (
                f"<details><summary>{plural(len(self.passed), 'rule')} passed</summary>"
                f"<div>{html.escape(', '.join(self.passed))}</div></details>"
            )
        skipped = ""
        if self.skipped:
            items = "".join(
                f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                for k, v in self.skipped.items()
            )
            skipped = (
                f"<details><summary>{len(self.skipped)} skipped</summary><ul>{items}</ul></details>"
            )
        return f"<div class='hs-findings'>{head}{table}{more}{passed}{skipped}</div>"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _threshold(severity: str) -> int:
    if severity not in RANK:
        raise InvalidArgument(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
    return RANK[severity]


def empty_table() -> pd.DataFrame:
    return pd.DataFrame({c: pd.array([], dtype="string") for c in COLUMNS})
