"""Small helpers shared by the panels: HTML snippets, redacted tables, a ticker (figures, and
figure_png, live in :mod:`hs_notebook.plots`).

Nothing here fetches or parses anything; the panels get their data from the public API.
"""

from __future__ import annotations

import asyncio
import html
import threading
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as W
import pandas as pd

from hs_notebook.redaction import redact

__all__ = [
    "TABLE_BOX_CLASS",
    "Ticker",
    "error_html",
    "info_html",
    "table_box",
    "table_html",
    "warning_html",
]

_BOX = "padding:6px 10px;border-radius:4px;margin:4px 0;"

#: CSS class of the :func:`table_box` HTML widgets.  ipywidgets lays an HTML widget's
#: content out as a flex item whose ``min-width`` is ``auto``, so a wide table would widen
#: the whole panel (and be cut off by the tab); ``min-width:0`` (set by the ``<style>`` of
#: :func:`table_html`) keeps the content at the panel's width and the table's own
#: ``overflow-x:auto`` box scrolls instead, in narrow notebooks too.
TABLE_BOX_CLASS = "hs-table-box"

_TABLE_STYLE = (
    "<style>.hs-table{border-collapse:collapse;font-size:12px}"
    ".hs-table th,.hs-table td{padding:2px 8px;border-bottom:1px solid #ddd;"
    "text-align:left;white-space:nowrap}"
    f".{TABLE_BOX_CLASS}>.widget-html-content{{min-width:0}}"
    ".hs-table-scroll{overflow-x:auto;max-width:100%}</style>"
)


def table_box(value: str = "") -> W.HTML:
    """An HTML widget for :func:`table_html` output: a wide table scrolls sideways inside
    it instead of widening (and clipping) the panel."""
    box = W.HTML(value=value)
    box.add_class(TABLE_BOX_CLASS)
    return box


def error_html(message: str, title: str = "Error") -> str:
    """A red box with ``message`` (escaped)."""
    return (
        f"<div class='hs-error' role='alert' style='{_BOX}background:#ffebe9;"
        f"border:1px solid #ff8182;color:#82071e'><b>{html.escape(title)}:</b> "
        f"{html.escape(message)}</div>"
    )


def info_html(message: str) -> str:
    """A blue note with ``message`` (escaped)."""
    return (
        f"<div class='hs-info' style='{_BOX}background:#ddf4ff;border:1px solid #54aeff;"
        f"color:#0a3069'>{html.escape(message)}</div>"
    )


def warning_html(message: str) -> str:
    """An amber note with ``message`` (escaped): something the user probably wants to fix."""
    return (
        f"<div class='hs-warning' role='status' style='{_BOX}background:#fff8c5;"
        f"border:1px solid #d4a72c;color:#4d2d00'>{html.escape(message)}</div>"
    )


_NA = "–"
_GROUPED = ("bandwidth", "bitrate", "size")


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists, arrays
        return False


def _redact_cell(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def table_html(
    df: pd.DataFrame,
    *,
    columns: Iterable[str] | None = None,
    max_rows: int = 200,
    css_class: str = "hs-table",
) -> str:
    """A DataFrame as an HTML table with every ``token=`` value redacted.

    Long tables are cut to ``max_rows`` rows (a note says how many were left out).  The
    table sits in a box that scrolls sideways when it is wider than the panel; show it in a
    :func:`table_box` so that the box, not the panel, gets the panel's width.
    """
    view = df if columns is None else df[[c for c in columns if c in df.columns]]
    view = view.head(max_rows).copy()
    for col in view.columns:
        if view[col].dtype == object or pd.api.types.is_string_dtype(view[col].dtype):
            view[col] = pd.Series(
                [_NA if _missing(v) else _redact_cell(v) for v in view[col].tolist()],
                index=view.index,
                dtype=object,
            )
        elif pd.api.types.is_integer_dtype(view[col].dtype) and any(
            word in str(col) for word in _GROUPED
        ):  # bits/s and bytes: 1,148,304 reads better than 1148304
            view[col] = pd.Series(
                [_NA if _missing(v) else f"{int(v):,}" for v in view[col].tolist()],
                index=view.index,
                dtype=object,
            )
        elif view[col].hasnans:
            view[col] = view[col].astype(object).where(view[col].notna(), _NA)
    body = view.to_html(
        index=False,
        classes=css_class,
        border=0,
        na_rep=_NA,
        escape=True,
        float_format="{:g}".format,
    )
    more = ""
    if len(df) > max_rows:
        more = f"<div><i>… {len(df) - max_rows} more rows not shown</i></div>"
    return f"{_TABLE_STYLE}<div class='hs-table-scroll'>{body}</div>{more}"


class Ticker:
    """Call ``callback`` about once per ``interval`` seconds until it returns ``False`` or
    :meth:`stop` is called.

    Uses the running asyncio event loop when there is one (a Jupyter or Voilà kernel runs
    cells inside it), and a daemon thread otherwise (plain Python, tests), so it never
    needs an event loop to exist.
    """

    def __init__(self, callback: Callable[[], bool | None], interval: float = 1.0) -> None:
        self._callback = callback
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self._stop_event: threading.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        if self._task is not None:
            return not self._task.done()
        return self._thread is not None and self._thread.is_alive()

    @property
    def mode(self) -> str | None:
        """``"asyncio"``, ``"thread"`` or ``None`` when not running."""
        if not self.running:
            return None
        return "asyncio" if self._task is not None else "thread"

    def start(self) -> None:
        self.stop()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            self._task = loop.create_task(self._run_async())
        else:
            stop = threading.Event()
            self._stop_event = stop
            self._thread = threading.Thread(
                target=self._run_thread, args=(stop,), name="hs-notebook-ticker", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if self._stop_event is not None:
            self._stop_event.set()
            self._stop_event = None
        self._thread = None

    def _tick(self) -> bool:
        try:
            return self._callback() is not False
        except Exception:  # a closed widget or similar: stop quietly
            return False

    async def _run_async(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            if not self._tick():
                return

    def _run_thread(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval):
            if not self._tick():
                return


def png_output(fig: Any, alt: str) -> dict[str, Any]:
    """A matplotlib figure as one ``display_data`` output (PNG) for an ``Output`` widget's
    ``outputs``."""
    import base64

    from hs_notebook.plots import figure_png

    png = figure_png(fig)
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": alt},
        "metadata": {},
    }
