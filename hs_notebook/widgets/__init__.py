"""ipywidgets panels for HeapStream private videos, and the Inspector app.

>>> from hs_notebook.widgets import Inspector        # doctest: +SKIP
>>> Inspector()        # the whole app; the local sandbox when no credentials are set

Panels (each usable on its own; the others follow a :class:`TokenPanel`):

- :class:`TokenPanel`: mint a token; shows token, header/claims, a live countdown, the
  diagnosis and the signed URLs.  Its ``token`` trait is what the other panels follow.
- :class:`EmbedPanel`: the player iframe for the current token.
- :class:`LadderPanel`: renditions, text tracks, audio, I-frames, segments, plots.
- :class:`StoryboardPanel`: storyboard tiles cut from the sprites, and text-track cues.
- :class:`QualityPanel`: VMAF/PSNR/SSIM of every rendition, rate-quality plot, frames.
- :class:`Inspector`: all of them in tabs (what ``notebooks/app.ipynb`` shows in Voilà).

The panels only call the public API (:mod:`hs_notebook.tokens`, :mod:`hs_notebook.urls`,
:mod:`hs_notebook.diagnose`, :mod:`hs_notebook.ladder`); :func:`browser_url` rewrites
loopback URLs for JupyterHub/Binder, where the browser reaches the sandbox through
jupyter-server-proxy.
"""

from __future__ import annotations

from hs_notebook.env import has_credentials, missing_credentials
from hs_notebook.widgets.embed_panel import EmbedPanel
from hs_notebook.widgets.inspector import Inspector, start_sandbox
from hs_notebook.widgets.ladder_panel import LadderPanel
from hs_notebook.widgets.proxy import browser_url
from hs_notebook.widgets.quality_panel import QualityPanel
from hs_notebook.widgets.storyboard_panel import StoryboardPanel, Tile, cut_tiles
from hs_notebook.widgets.token_panel import TokenPanel

__all__ = [
    "EmbedPanel",
    "Inspector",
    "LadderPanel",
    "QualityPanel",
    "StoryboardPanel",
    "Tile",
    "TokenPanel",
    "browser_url",
    "cut_tiles",
    "has_credentials",
    "missing_credentials",
    "start_sandbox",
]
