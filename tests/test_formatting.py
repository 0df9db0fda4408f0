"""Tests for hs_notebook.formatting: the one home for human-readable numbers and times."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hs_notebook import formatting
from hs_notebook.errors import InvalidArgument


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0s"),
        (42.9, "42s"),
        (303, "5m 3s"),
        (3725, "1h 2m"),
        (7140, "1h 59m"),
        (2 * 86400 + 3 * 3600 + 59, "2d 3h"),
        (-90, "-1m 30s"),
        (timedelta(hours=2), "2h 0m"),
        (timedelta(seconds=-5), "-5s"),
    ],
)
def test_duration(value: float | timedelta, text: str) -> None:
    assert formatting.duration(value) == text


def test_numbers() -> None:
    assert formatting.seconds(120.0) == "120 s"
    assert formatting.seconds(0.25) == "0.25 s"
    assert formatting.seconds(1.5, 2) == "1.50 s"
    assert formatting.bitrate(1_148_304) == "1,148 kbit/s"
    assert formatting.bitrate(1_148_304, "Mbit/s") == "1.15 Mbit/s"
    with pytest.raises(InvalidArgument, match="unit"):
        formatting.bitrate(1, "bps")
    assert [formatting.size(n) for n in (512, 12_345, 1_234_567, 3_400_000_000)] == [
        "512 B",
        "12.3 kB",
        "1.2 MB",
        "3.4 GB",
    ]
    assert formatting.rate(41.23, "videos") == "41.2 videos/s"
    assert formatting.rate(float("nan"), "videos") == "nan"
    assert formatting.ratio(2.345) == "2.35x"


def test_clock() -> None:
    cases = {0: "0:00.0", 2: "0:02.0", 3.04: "0:03.0", 62.25: "1:02.2", 59.96: "1:00.0"}
    cases |= {3660: "61:00.0", -1.5: "-0:01.5"}
    assert {v: formatting.clock(v) for v in cases} == cases
