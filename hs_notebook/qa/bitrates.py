"""Bitrates measured from segment sizes, and the declared-vs-measured table
(:func:`bitrate_table`) that the bitrate rules and plots read."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from hs_notebook import validate
from hs_notebook.errors import InvalidArgument
from hs_notebook.hls import average_bitrate, peak_bitrate
from hs_notebook.ladder import Ladder, LadderFacts, media_key
from hs_notebook.redaction import redact

__all__ = [
    "BITRATE_COLUMNS",
    "bitrate_table",
    "check_ladder",
    "measured_bitrates",
    "subject_of",
    "target_durations",
]


def measured_bitrates(
    sizes: pd.DataFrame, target_durations: Mapping[str, int | None] | None = None
) -> dict[str, tuple[float, float]]:
    """``{preset: (peak, average)}`` bits/s from a segment-sizes table.

    peak = :func:`hs_notebook.hls.peak_bitrate` (RFC 8216bis 4.1: the largest bit rate of a
    run of segments lasting 0.5 to 1.5 x the preset's target duration, from
    ``target_durations``; without one, the largest single-segment bit rate); average =
    sum(size)*8 / sum(duration).  Segments are taken in ``index`` order when the table has
    that column; segments of zero duration are left out of both.
    """
    validate.instance_of(
        sizes, pd.DataFrame, "sizes must be a DataFrame (ladder.measure_segment_sizes())"
    )
    missing = {"preset_id", "duration", "size"} - set(sizes.columns)
    if missing:
        raise InvalidArgument(
            f"sizes lacks the column(s) {sorted(missing)}; expected the table of "
            "ladder.measure_segment_sizes() (preset_id, duration, size)"
        )
    targets = target_durations or {}
    out: dict[str, tuple[float, float]] = {}
    columns = ["preset_id", "duration", "size"] + (["index"] if "index" in sizes else [])
    frame = sizes[columns].dropna()
    frame = frame[frame["duration"].astype(float) > 0]
    for key, part in frame.groupby("preset_id", sort=False):
        if "index" in part:
            part = part.sort_values("index", kind="stable")
        size = part["size"].astype("float64").to_numpy()
        duration = part["duration"].astype("float64").to_numpy()
        peak = peak_bitrate(duration, size, targets.get(str(key)))
        average = average_bitrate(duration, size)
        if peak is not None and average is not None:
            out[str(key)] = (peak, average)
    return out


def target_durations(facts: LadderFacts) -> dict[str, int | None]:
    """``{media key: EXT-X-TARGETDURATION}`` of a ladder's media playlists."""
    return {key: media.info.target_duration for key, media in facts.playlists.items()}


def subject_of(key: str | None, order: int) -> str:
    """How a finding names a variant: its media key (preset id, else its URI, redacted),
    else ``"variant <order>"``."""
    if key is None:
        return f"variant {order}"
    return redact(key) if "://" in key else key


def check_ladder(ladder: object) -> Ladder:
    """``ladder`` when it is a :class:`~hs_notebook.ladder.Ladder`, else InvalidArgument."""
    return validate.instance_of(
        ladder,
        Ladder,
        "qa() needs a Ladder (from fetch_ladder(), fetch_ladder_url() or ladder_from_text())",
    )


#: Columns of :func:`bitrate_table`: declared vs measured bitrates, one row per variant.
BITRATE_COLUMNS: dict[str, str] = {
    "rendition": "the variant's preset id (its redacted URI when it has none)",
    "height": "frame height in pixels (<NA> when RESOLUTION is absent)",
    "bandwidth": "declared BANDWIDTH, int bits/s",
    "average_bandwidth": "declared AVERAGE-BANDWIDTH, int bits/s (<NA> when absent)",
    "measured_peak": "measured peak segment bit rate (RFC 8216bis 4.1: the largest of any "
    "run of segments lasting 0.5-1.5 x the target duration), int bits/s "
    "(<NA> when not measured)",
    "measured_average": "measured average: sum(size)*8 / sum(EXTINF), int bits/s "
    "(<NA> when not measured)",
    "peak_off": "measured_peak / bandwidth - 1, float (peak_bitrate wants it within ±0.10)",
    "average_off": "measured_average / average_bandwidth - 1, float (average_bitrate wants "
    "it within ±0.10)",
}


def bitrate_table(ladder: Ladder, sizes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Declared (``BANDWIDTH``, ``AVERAGE-BANDWIDTH``) vs measured (peak, average) bitrate
    per variant, ordered by ``BANDWIDTH``; columns :data:`BITRATE_COLUMNS`.

    ``sizes`` is the table of ``ladder.measure_segment_sizes()`` (or any table with
    ``preset_id``, ``duration`` and ``size``); without it the measured columns are
    ``<NA>``.  Pure: makes no requests.
    """
    facts = check_ladder(ladder).facts()
    measured = measured_bitrates(sizes, target_durations(facts)) if sizes is not None else {}
    rows = sorted(
        (var for var in facts.variants if var.bandwidth),
        key=lambda var: (var.bandwidth or 0, var.order),
    )
    keys = [media_key(var) for var in rows]

    def off(value: float | None, declared: int | None) -> float | None:
        return value / declared - 1 if value is not None and declared else None

    peaks = [measured.get(key or "", (None, None))[0] for key in keys]
    averages = [measured.get(key or "", (None, None))[1] for key in keys]
    return pd.DataFrame(
        {
            "rendition": pd.array(
                [subject_of(key, var.order) for key, var in zip(keys, rows, strict=True)],
                dtype="string",
            ),
            "height": pd.array([var.height for var in rows], dtype="Int64"),
            "bandwidth": pd.array([var.bandwidth for var in rows], dtype="Int64"),
            "average_bandwidth": pd.array([var.average_bandwidth for var in rows], dtype="Int64"),
            "measured_peak": pd.array(
                [round(p) if p is not None else None for p in peaks], dtype="Int64"
            ),
            "measured_average": pd.array(
                [round(a) if a is not None else None for a in averages], dtype="Int64"
            ),
            "peak_off": pd.array(
                [off(p, var.bandwidth) for p, var in zip(peaks, rows, strict=True)],
                dtype="Float64",
            ),
            "average_off": pd.array(
                [off(a, var.average_bandwidth) for a, var in zip(averages, rows, strict=True)],
                dtype="Float64",
            ),
        }
    )
