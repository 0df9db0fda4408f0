"""Numbers and times as people read them: the one home for human-readable formatting.

Tables keep raw values (bitrates int bits/s, durations float seconds, sizes int bytes);
these helpers turn one value into text for a message, a label, a summary line or a widget:

>>> duration(3725)
'1h 2m'
>>> seconds(120.0)
'120 s'
>>> bitrate(1_148_304)
'1,148 kbit/s'
>>> size(1_234_567)
'1.2 MB'
>>> rate(41.23, "videos")
'41.2 videos/s'
>>> ratio(2.345)
'2.35x'
>>> clock(62.25)
'1:02.2'
"""

from __future__ import annotations

import math
from datetime import timedelta

from hs_notebook.errors import InvalidArgument

__all__ = ["bitrate", "clock", "duration", "rate", "ratio", "seconds", "size"]


def duration(value: float | timedelta) -> str:
    """A compact duration, the two largest units: ``2d 3h``, ``1h 2m``, ``5m 3s``, ``42s``,
    with a ``-`` in front of a negative one (whole seconds, truncated toward zero)."""
    total = value.total_seconds() if isinstance(value, timedelta) else float(value)
    secs = int(total)
    sign = "-" if secs < 0 else ""
    secs = abs(secs)
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m"
    if minutes:
        return f"{sign}{minutes}m {secs}s"
    return f"{sign}{secs}s"


def seconds(value: float, digits: int | None = None) -> str:
    """``120 s``, ``0.25 s`` (shortest form, ``:g``), or with ``digits`` decimals: ``1.50 s``."""
    return f"{value:.{digits}f} s" if digits is not None else f"{value:g} s"


def bitrate(bits_per_second: float, unit: str = "kbit/s") -> str:
    """A bitrate given in bits/s: ``1,148 kbit/s`` (whole kbit/s, grouped) or, with
    ``unit="Mbit/s"``, ``1.15 Mbit/s``."""
    if unit == "kbit/s":
        return f"{bits_per_second / 1000:,.0f} kbit/s"
    if unit == "Mbit/s":
        return f"{bits_per_second / 1e6:,.2f} Mbit/s"
    raise InvalidArgument(f"unit must be 'kbit/s' or 'Mbit/s', got {unit!r}")


def size(nbytes: int) -> str:
    """A size given in bytes, in decimal units: ``512 B``, ``12.3 kB``, ``1.2 MB``, ``3.4 GB``."""
    value = float(nbytes)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def rate(per_second: float, unit: str) -> str:
    """A throughput: ``41.2 videos/s`` (``nan`` when it could not be measured)."""
    return "nan" if math.isnan(per_second) else f"{per_second:.1f} {unit}/s"


def ratio(value: float, digits: int = 2) -> str:
    """A ratio: ``2.35x``."""
    return f"{value:.{digits}f}x"


def clock(value: float) -> str:
    """A position in a video as a player shows it, to the tenth: ``0:02.0``, ``1:02.3``,
    ``61:00.0`` (minutes are not wrapped into hours; rounding carries: 59.96 s is
    ``1:00.0``)."""
    tenths = round(abs(value) * 10)
    minutes, rem = divmod(tenths, 600)
    sign = "-" if value < 0 and tenths else ""
    return f"{sign}{minutes}:{rem // 10:02d}.{rem % 10}"
