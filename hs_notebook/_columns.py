"""Shared helper: document a table's columns once and show them in each function's docstring."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

F = Callable[..., Any]


def documents(columns: Mapping[str, Mapping[str, str]], table: str) -> Callable[[F], F]:
    """Append the column list of ``columns[table]`` to the decorated function's docstring."""

    def decorate(func: F) -> F:
        lines = [f"    - ``{c}``: {d}" for c, d in columns[table].items()]
        func.__doc__ = (func.__doc__ or "").rstrip() + (
            f"\n\n    Columns (``COLUMNS[{table!r}]``):\n\n" + "\n".join(lines) + "\n"
        )
        return func

    return decorate
