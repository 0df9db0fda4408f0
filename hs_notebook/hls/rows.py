"""Typed rows and the tables made of them.

A table of :mod:`hs_notebook.hls` (``renditions``, ``text_tracks``, ``audio``, ``iframes``)
is a sequence of frozen row dataclasses whose fields are its columns, by name and in
order (``COLUMNS[table]``).  The column dtype follows the field's annotation:

========================  ======================================
annotation                column dtype
========================  ======================================
``int``                   ``int64``
``bool``                  ``bool``
``int | None``            ``Int64`` (missing is ``<NA>``)
``float | None``          ``Float64``
``str`` / ``str | None``  ``string``
========================  ======================================

so adding a column is one field on its row class (plus its line in ``COLUMNS``).
:func:`table_of` lays rows out as a DataFrame; :func:`rows_of` reads them back from one
(possibly edited) table.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np
import pandas as pd

from hs_notebook.errors import InvalidArgument
from hs_notebook.hls._arrays import ints, strings
from hs_notebook.hls.columns import COLUMNS

__all__ = ["Row", "rows_of", "table_of"]


class Row(Protocol):
    """A row class: a dataclass naming its table in ``TABLE`` (a key of ``COLUMNS``)."""

    TABLE: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Any]]


R = TypeVar("R", bound=Row)

_ARRAYS: dict[str, Callable[[list[Any]], Any]] = {
    "int": lambda values: np.asarray(values, dtype=np.int64),
    "bool": lambda values: np.array(values, dtype=bool),
    "int | None": ints,
    "float | None": lambda values: pd.array(values, dtype="Float64"),
    "str": strings,
    "str | None": strings,
}


def _plain(value: Any) -> Any:
    """``None`` for pandas/NumPy missing values, plain Python scalars otherwise."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


_CASTS: dict[str, Callable[[Any], Any]] = {
    "int": int,
    "bool": bool,
    "int | None": int,
    "float | None": float,
    "str": str,
    "str | None": str,
}


def _columns_of(row_type: type[Row]) -> list[tuple[str, str]]:
    cols = [(f.name, str(f.type)) for f in fields(row_type)]
    if [name for name, _ in cols] != list(COLUMNS[row_type.TABLE]):
        raise AssertionError(f"{row_type.__name__} fields out of sync with COLUMNS")
    return cols


def table_of(row_type: type[R], rows: Sequence[R]) -> pd.DataFrame:
    """The DataFrame of ``rows`` (instances of ``row_type``): one column per field, in
    ``COLUMNS[row_type.TABLE]`` order, typed by the field's annotation."""
    columns = _columns_of(row_type)
    # one attrgetter call per row reads all its fields; zip(*) turns rows into columns
    values: Any = zip(*map(operator.attrgetter(*[name for name, _ in columns]), rows), strict=True)
    if not rows:
        values = [()] * len(columns)
    out: dict[str, Any] = {}
    for (name, annotation), column in zip(columns, values, strict=True):
        out[name] = _ARRAYS[annotation](list(column))
    return pd.DataFrame(out, copy=False)


def rows_of(row_type: type[R], table: pd.DataFrame) -> list[R]:
    """The rows of a table of ``row_type`` (e.g. one a user edited), as ``row_type``
    instances with plain Python values (``None`` where missing; a missing column is all
    ``None``)."""
    if not isinstance(table, pd.DataFrame):
        raise InvalidArgument(
            f"a {row_type.TABLE} table must be a DataFrame, got {type(table).__name__}"
        )
    n = len(table)
    columns: dict[str, list[Any]] = {}
    for name, annotation in _columns_of(row_type):
        cast = _CASTS[annotation]
        if name not in table.columns:
            columns[name] = [None] * n
            continue
        values = [_plain(x) for x in table[name].tolist()]
        columns[name] = [None if x is None else cast(x) for x in values]
    if "order" in columns:  # a row without its position keeps its place in the table
        columns["order"] = [i if x is None else x for i, x in enumerate(columns["order"])]
    names = list(columns)
    return [
        row_type(**dict(zip(names, values, strict=True)))
        for values in zip(*columns.values(), strict=True)
    ]
