"""Loudness per rendition (EBU R128): integrated loudness, loudness range and true peak,
measured by ffmpeg's ``ebur128`` filter over the whole programme, every input in one
ffmpeg run that decodes only the audio."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from hs_notebook.errors import InvalidArgument
from hs_notebook.quality._ffmpeg import MediaInput, Staging, run_ffmpeg
from hs_notebook.quality._media import media_facts

__all__ = ["LOUDNESS_COLUMNS", "loudness"]

#: Columns of :func:`loudness`.
LOUDNESS_COLUMNS: dict[str, str] = {
    "rendition": "the input's name",
    "integrated": "integrated loudness (LUFS); NaN without audio",
    "loudness_range": "loudness range (LU)",
    "true_peak": "true peak (dBTP)",
}

_SUMMARY = re.compile(
    r"\[ebur128@L(?P<index>\d+) @ [^\]]*\] Summary:\s*"
    r".*?I:\s*(?P<i>-?[\d.]+|-inf|nan) LUFS"
    r".*?LRA:\s*(?P<lra>-?[\d.]+|nan) LU"
    r".*?Peak:\s*(?P<peak>-?[\d.]+|-inf|nan) dB",
    re.S,
)


def loudness(inputs: Mapping[str, MediaInput], *, timeout: float | None = None) -> pd.DataFrame:
    """EBU R128 loudness of each input (``{name: path or bytes}``), one row each
    (:data:`LOUDNESS_COLUMNS`, in the order given).  The spread across renditions is
    ``table["integrated"].max() - table["integrated"].min()`` (LU)."""
    if not isinstance(inputs, Mapping) or not inputs:
        raise InvalidArgument(
            "inputs must be a non-empty mapping {name: path or bytes}, got "
            f"{type(inputs).__name__}"
        )
    names = list(inputs)
    with_audio = [n for n in names if media_facts(inputs[n], name=repr(n)).has_audio]
    found: dict[str, dict[str, float]] = {}
    if with_audio:
        args: list[str] = []
        chains = []
        with Staging() as staging:
            for i, name in enumerate(with_audio):
                src = staging.source(inputs[name], name=repr(name))
                args += ["-vn", "-sn", "-dn", "-i", src]
                chains.append(f"[{i}:a:0]ebur128@L{i}=peak=true:framelog=quiet[a{i}]")
            args += ["-filter_complex", ";".join(chains)]
            for i in range(len(with_audio)):
                args += ["-map", f"[a{i}]", "-f", "null", "-"]
            _out, log = run_ffmpeg(["-loglevel", "info", *args], what="loudness", timeout=timeout)
        for m in _SUMMARY.finditer(log):
            found[with_audio[int(m["index"])]] = {
                "integrated": float(m["i"]),
                "loudness_range": float(m["lra"]),
                "true_peak": float(m["peak"]),
            }
    nan: dict[str, Any] = dict.fromkeys(("integrated", "loudness_range", "true_peak"), math.nan)
    rows = [{"rendition": n, **found.get(n, nan)} for n in names]
    table = pd.DataFrame(rows, columns=list(LOUDNESS_COLUMNS))
    table["rendition"] = table["rendition"].astype("string")
    return table
