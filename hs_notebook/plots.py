"""Every figure of hs_notebook, as a :class:`matplotlib.figure.Figure`.

Figures are built with ``matplotlib.figure.Figure`` (never pyplot): no global state and no
GUI backend; a returned figure renders itself in a notebook cell, and :func:`figure_png`
turns one into PNG bytes (the widgets show figures that way).  matplotlib is imported
inside the functions, when a figure is drawn, so importing this module costs nothing.

Ladder: :func:`ladder_figure` (bitrate vs resolution), :func:`segments_figure` (segment
durations and sizes of one rendition).  QA: :func:`findings_by_rule_figure` (findings per
rule, coloured by severity, for one ladder or a whole audit), :func:`bitrate_figure`
(declared vs measured bitrate per rendition).  Quality (:mod:`hs_notebook.quality`):
:func:`rate_quality_figure` (bitrate vs VMAF with the upper convex hull),
:func:`vmaf_over_time_figure` (a score over time per rendition),
:func:`frame_comparison_figure` (the reference beside each rendition, optionally zoomed).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from hs_notebook.errors import InvalidArgument

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "SEVERITY_COLOURS",
    "bitrate_figure",
    "figure_png",
    "findings_by_rule_figure",
    "frame_comparison_figure",
    "ladder_figure",
    "rate_quality_figure",
    "segments_figure",
    "vmaf_over_time_figure",
]

#: Colours of the QA severities (bars, badges).
SEVERITY_COLOURS: dict[str, str] = {"error": "#cf222e", "warning": "#9a6700", "info": "#0969da"}


class HasFindingsTable(Protocol):
    """A QA report (what :func:`hs_notebook.qa.qa` returns): anything with a findings
    ``table``."""

    @property
    def table(self) -> pd.DataFrame: ...


def figure_png(fig: Figure, dpi: int = 96) -> bytes:
    """Render a figure to PNG bytes with the Agg canvas (no GUI backend involved, nothing
    shown twice)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


# ---------------------------------------------------------------------------- ladder


def _num(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def ladder_figure(renditions: pd.DataFrame) -> Figure:
    """Bitrate vs resolution: peak (``bandwidth``) and ``average_bandwidth`` per rendition,
    in Mbit/s against frame height (``Ladder.renditions``)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.4))
    ax = fig.add_subplot()
    rows: list[tuple[float, float, float | None]] = []
    for r in renditions.itertuples():
        height, peak = _num(r.height), _num(r.bandwidth)
        if height is not None and peak is not None:
            rows.append((height, peak, _num(r.average_bandwidth)))
    rows.sort(key=lambda row: (row[0], row[1]))
    if rows:
        heights = [r[0] for r in rows]
        ax.plot(heights, [r[1] / 1e6 for r in rows], "o-", label="peak (BANDWIDTH)")
        avg = [(r[0], r[2] / 1e6) for r in rows if r[2] is not None]
        if avg:
            ax.plot([a[0] for a in avg], [a[1] for a in avg], "s--", label="AVERAGE-BANDWIDTH")
        for h, b, _a in rows:
            ax.annotate(
                f"{int(h)}p", (h, b / 1e6), textcoords="offset points", xytext=(7, -11), fontsize=8
            )
        ax.legend(loc="upper left", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no renditions with a resolution", ha="center", transform=ax.transAxes)
    ax.set_xlabel("frame height (pixels)")
    ax.set_ylabel("bitrate (Mbit/s)")
    ax.set_title("Rendition ladder: bitrate vs resolution", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.set_ylim(bottom=0)
    return fig


def segments_figure(segments: pd.DataFrame, title: str = "") -> Figure:
    """Segment durations (bars, with ``EXT-X-TARGETDURATION`` as a line when known) and,
    when a ``size`` column is present, segment sizes in kB (``Ladder.segments(preset_id)``)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    has_size = "size" in segments.columns and segments["size"].notna().any()
    fig = Figure(figsize=(6.4, 4.6 if has_size else 2.6))
    index = segments["index"].to_numpy() if "index" in segments.columns else range(len(segments))
    ax = fig.add_subplot(2 if has_size else 1, 1, 1)
    ax.bar(index, segments["duration"].astype(float).to_numpy(), color="#4c72b0")
    target = segments.attrs.get("target_duration")
    if target:
        ax.axhline(float(target), color="#c44e52", ls="--", lw=1, label="target duration")
        ax.legend(loc="lower right", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("duration (s)")
    ax.set_title(f"Segments{': ' + title if title else ''}", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    if has_size:
        ax2 = fig.add_subplot(2, 1, 2, sharex=ax)
        sizes = segments["size"].astype("Float64").to_numpy(dtype=float, na_value=float("nan"))
        ax2.bar(index, sizes / 1000, color="#55a868")
        ax2.set_ylabel("size (kB)")
        ax2.grid(True, axis="y", alpha=0.3)
        ax2.set_xlabel("segment index")
    else:
        ax.set_xlabel("segment index")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- QA


def _findings_frame(findings: HasFindingsTable | pd.DataFrame) -> pd.DataFrame:
    table = findings if isinstance(findings, pd.DataFrame) else getattr(findings, "table", None)
    if not isinstance(table, pd.DataFrame) or not {"rule", "severity"} <= set(table.columns):
        raise InvalidArgument(
            "findings must be a QAReport (qa()) or a findings table with rule and severity "
            f"columns (QAReport.table, AuditResult.findings), got {type(findings).__name__}"
        )
    return table


def findings_by_rule_figure(
    findings: HasFindingsTable | pd.DataFrame,
    *,
    count: str = "findings",
    include_info: bool = True,
    title: str | None = None,
) -> Figure:
    """A horizontal bar chart of findings per rule, stacked and coloured by severity (red
    error, amber warning, blue info), rules in :data:`RULES` order.

    Args:
        findings: a :class:`QAReport`, its ``table``, or an audit's long findings table
            (:attr:`hs_notebook.catalog.AuditResult.findings`).
        count: ``"findings"`` (rows) or ``"videos"`` (distinct ``video_id`` per rule and
            severity; needs an audit's findings table).
        include_info: also plot ``info`` findings (the "not checked" notes among them).
        title: the axes title (a default says what is counted).

    Returns:
        a :class:`matplotlib.figure.Figure` (no pyplot state; it renders in a notebook cell).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    from hs_notebook.qa import RULES, SEVERITIES

    table = _findings_frame(findings)
    if count not in ("findings", "videos"):
        raise InvalidArgument(f"count must be 'findings' or 'videos', got {count!r}")
    if count == "videos" and "video_id" not in table.columns:
        raise InvalidArgument("count='videos' needs a findings table with a video_id column")
    if not isinstance(include_info, bool):
        raise InvalidArgument(f"include_info must be True or False, got {include_info!r}")
    frame = table[["rule", "severity", *(["video_id"] if count == "videos" else [])]]
    frame = frame.astype("string")
    if not include_info:
        frame = frame[(frame["severity"] != "info").to_numpy()]
    if count == "videos":
        counts = frame.drop_duplicates().groupby(["rule", "severity"]).size()
    else:
        counts = frame.groupby(["rule", "severity"]).size()
    order = {rule_id: i for i, rule_id in enumerate(RULES)}
    rules = sorted({str(r) for r, _ in counts.index}, key=lambda r: (order.get(r, len(order)), r))
    fig = Figure(figsize=(7.0, 0.9 + 0.32 * max(len(rules), 2)), layout="constrained")
    ax = fig.add_subplot()
    if not rules:
        ax.text(0.5, 0.5, "no findings", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    else:
        positions = list(range(len(rules)))
        left = [0] * len(rules)
        shown = []
        for severity in SEVERITIES:
            widths = [int(counts.get((rule, severity), 0)) for rule in rules]
            if not any(widths):
                continue
            ax.barh(
                positions,
                widths,
                left=left,
                color=SEVERITY_COLOURS[severity],
                label=severity,
                height=0.7,
            )
            left = [a + b for a, b in zip(left, widths, strict=True)]
            shown.append(severity)
        ax.set_yticks(positions, rules, fontsize=8)
        ax.invert_yaxis()  # first rule on top
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0, max(left) * 1.12)
        for y, total in zip(positions, left, strict=True):
            ax.annotate(
                str(total),
                (total, y),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.legend(
            handles=[Patch(color=SEVERITY_COLOURS[s], label=s) for s in shown],
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
        )
        ax.grid(True, axis="x", alpha=0.3)
    ax.set_xlabel("videos" if count == "videos" else "findings")
    ax.set_title(
        title or ("Videos with findings, by rule" if count == "videos" else "Findings by rule"),
        fontsize=10,
    )
    return fig


def bitrate_figure(
    ladder: Any, sizes: pd.DataFrame | None = None, *, title: str | None = None
) -> Figure:
    """Declared vs measured bitrate per rendition: grouped bars of ``BANDWIDTH`` and the
    measured peak, ``AVERAGE-BANDWIDTH`` and the measured average (Mbit/s), the declared
    bars with whiskers at ±10 % (the tolerance of the peak_bitrate and average_bitrate
    rules).

    Args:
        ladder: a Ladder (with ``sizes`` from ``ladder.measure_segment_sizes()``), or a
            table from :func:`bitrate_table`.
        sizes: the measured segment sizes (ignored when ``ladder`` is already a table).
        title: the axes title.

    Returns:
        a :class:`matplotlib.figure.Figure` (no pyplot state).
    """
    from matplotlib.figure import Figure

    from hs_notebook.qa import BITRATE_COLUMNS, BITRATE_TOLERANCE, bitrate_table

    if isinstance(ladder, pd.DataFrame):
        missing = set(BITRATE_COLUMNS) - set(ladder.columns)
        if missing:
            raise InvalidArgument(
                f"a bitrate table needs the columns of bitrate_table(); {sorted(missing)} "
                "are missing"
            )
        table = ladder
    else:
        table = bitrate_table(ladder, sizes)

    def mbit(column: str) -> list[float]:
        return [float("nan") if pd.isna(x) else float(x) / 1e6 for x in table[column].tolist()]

    series = (
        ("bandwidth", "BANDWIDTH (declared peak)", "#8fb8de", True),
        ("measured_peak", "measured peak", "#1f5f99", False),
        ("average_bandwidth", "AVERAGE-BANDWIDTH (declared)", "#f2b77d", True),
        ("measured_average", "measured average", "#b35806", False),
    )
    fig = Figure(figsize=(7.0, 3.6), layout="constrained")
    ax = fig.add_subplot()
    n = len(table)
    width = 0.2
    for i, (column, label, colour, declared) in enumerate(series):
        values = mbit(column)
        xs = [k + (i - 1.5) * width for k in range(n)]
        whiskers = [v * BITRATE_TOLERANCE for v in values] if declared else None
        ax.bar(xs, values, width, label=label, color=colour, yerr=whiskers, capsize=3)
    labels = [
        f"{r}\n{h}p" if not pd.isna(h) else str(r)
        for r, h in zip(table["rendition"].tolist(), table["height"].tolist(), strict=True)
    ]
    ax.set_xticks(list(range(n)), labels, fontsize=8)
    ax.set_ylabel("bitrate (Mbit/s)")
    measured = bool(table["measured_peak"].notna().any())
    ax.set_title(
        title
        or (
            "Declared vs measured bitrate per rendition (whiskers: ±10 %)"
            if measured
            else "Declared bitrate per rendition (not measured)"
        ),
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_ylim(bottom=0)
    if n == 0:
        ax.text(0.5, 0.5, "no variants", ha="center", va="center", transform=ax.transAxes)
    return fig


# ---------------------------------------------------------------------------- quality

_RENDITION_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def rate_quality_figure(
    renditions: pd.DataFrame,
    *,
    bitrate: str = "bitrate",
    quality: str = "vmaf_mean",
    label: str = "rendition",
    title: str | None = None,
) -> Figure:
    """Bitrate against quality for a ladder, with the upper convex hull of the points
    (:func:`hs_notebook.quality.upper_hull`); a rung below the hull is drawn hollow and
    its gap (quality points below the hull) is annotated.

    Args:
        renditions: one row per rendition, e.g. :attr:`QualityScores.renditions
            <hs_notebook.quality.QualityScores>`.
        bitrate, quality, label: the columns to use (bits/s, score, name).
        title: the axes title.
    """
    from matplotlib.figure import Figure

    from hs_notebook.quality.hull import hull_gap, upper_hull

    missing = {bitrate, quality, label} - set(renditions.columns)
    if missing:
        raise InvalidArgument(f"the renditions table lacks the column(s) {sorted(missing)}")
    rates = [_num(v) for v in renditions[bitrate].tolist()]
    scores = [_num(v) for v in renditions[quality].tolist()]
    names = [str(v) for v in renditions[label].tolist()]
    xs = [math.nan if r is None else r for r in rates]
    ys = [math.nan if s is None else s for s in scores]
    on = upper_hull(xs, ys)
    gaps = hull_gap(xs, ys)
    fig = Figure(figsize=(6.4, 3.8), layout="constrained")
    ax = fig.add_subplot()
    if on:
        ax.plot(
            [xs[i] / 1e6 for i in on],
            [ys[i] for i in on],
            "-",
            color="#1a7f37",
            lw=1.5,
            label="upper convex hull",
            zorder=1,
        )
    for i, name in enumerate(names):
        if math.isnan(xs[i]) or math.isnan(ys[i]):
            continue
        hull_point = i in on
        ax.scatter(
            [xs[i] / 1e6],
            [ys[i]],
            s=45,
            zorder=2,
            facecolors="#1f5f99" if hull_point else "none",
            edgecolors="#1f5f99",
        )
        note = name if hull_point or not gaps[i] > 0 else f"{name} ({gaps[i]:.1f} below)"
        ax.annotate(
            note, (xs[i] / 1e6, ys[i]), textcoords="offset points", xytext=(6, -12), fontsize=8
        )
    if not on:
        ax.text(0.5, 0.5, "no scored renditions", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("bitrate (Mbit/s)")
    ax.set_ylabel(quality.replace("_", " "))
    ax.set_title(title or "Rate-quality: bitrate vs VMAF per rendition", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.set_xlim(left=0)
    return fig


def vmaf_over_time_figure(
    scores: pd.DataFrame, *, column: str = "vmaf", title: str | None = None
) -> Figure:
    """A score over time, one line per rendition: the frames table (``time``) or the
    per-second table (``second``) of :class:`hs_notebook.quality.QualityScores`.  Gaps
    between sampled windows are left open rather than bridged."""
    from matplotlib.figure import Figure

    when = "time" if "time" in scores.columns else "second"
    missing = {"rendition", when, column} - set(scores.columns)
    if missing:
        raise InvalidArgument(
            f"the scores table lacks the column(s) {sorted(missing)} (give QualityScores.frames "
            "or .per_second)"
        )
    fig = Figure(figsize=(7.0, 3.4), layout="constrained")
    ax = fig.add_subplot()
    names = list(dict.fromkeys(str(v) for v in scores["rendition"].tolist()))
    for k, name in enumerate(names):
        mine = scores[(scores["rendition"] == name).to_numpy()].sort_values(when)
        xs = mine[when].to_numpy(dtype=float)
        ys = mine[column].to_numpy(dtype=float)
        if len(xs) > 2:  # break the line where windows leave a gap
            steps = np.diff(xs)
            cut = np.flatnonzero(steps > 3 * float(np.median(steps)))
            xs = np.insert(xs, cut + 1, np.nan)
            ys = np.insert(ys, cut + 1, np.nan)
        colour = _RENDITION_COLOURS[k % len(_RENDITION_COLOURS)]
        ax.plot(xs, ys, "-", lw=1.2, color=colour, label=name)
    if names:
        ax.legend(loc="lower left", fontsize=8, ncols=min(len(names), 4))
    else:
        ax.text(0.5, 0.5, "no scores", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(column.replace("_", " "))
    ax.set_title(title or f"{column.upper()} over time per rendition", fontsize=10)
    ax.grid(True, alpha=0.3)
    return fig


def frame_comparison_figure(
    images: Mapping[str, np.ndarray],
    *,
    crop: tuple[int, int, int, int] | None = None,
    title: str | None = None,
) -> Figure:
    """The same frame side by side: the reference and each rendition (all at the
    reference's size, e.g. from :func:`hs_notebook.quality.frames_at`), and with ``crop``
    (``x, y, width, height`` in reference pixels) a second row of zoomed crops, the crop
    outlined on the full frames."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    if not isinstance(images, Mapping) or not images:
        raise InvalidArgument("images must be a non-empty mapping {name: RGB array}")
    arrays = {str(k): np.asarray(v) for k, v in images.items()}
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3:
        raise InvalidArgument(
            f"images must be RGB arrays of one size (height, width, 3), got {sorted(shapes)}"
        )
    height, width, _ = next(iter(shapes))
    if crop is not None:
        x, y, w, h = (int(v) for v in crop)
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
            raise InvalidArgument(
                f"crop (x, y, width, height) = {crop!r} must lie inside the {width}x{height} frame"
            )
    n = len(arrays)
    rows = 2 if crop is not None else 1
    panel = 3.2
    fig = Figure(figsize=(panel * n, panel * height / width * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, n, squeeze=False)
    for k, (name, image) in enumerate(arrays.items()):
        ax = axes[0][k]
        ax.imshow(image, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_axis_off()
        if crop is not None:
            ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor="#ffd33d", lw=1.2))
            zoom = axes[1][k]
            zoom.imshow(image[y : y + h, x : x + w], interpolation="nearest")
            zoom.set_title(f"{name} (zoom)", fontsize=8)
            zoom.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
