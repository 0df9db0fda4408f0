"""A local HeapStream-compatible origin with real H.264 media and HeapStream's token rules.

>>> from hs_notebook.sandbox import Sandbox, Faults          # doctest: +SKIP
>>> with Sandbox("tiny") as sb:                              # doctest: +SKIP
...     url = sb.signed_url("master", sb.video_id)

The names below are loaded lazily, so importing a submodule (such as
``hs_notebook.sandbox.media``) does not import the web server stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hs_notebook.extras import require_extra

# one clear error naming `pip install "hs_notebook[sandbox]"` (looked up, not imported)
require_extra("sandbox", feature="the sandbox")

if TYPE_CHECKING:
    from hs_notebook.sandbox.app import RequestRecord
    from hs_notebook.sandbox.defects import MEDIA_DEFECTS
    from hs_notebook.sandbox.faults import Faults
    from hs_notebook.sandbox.server import Sandbox, serve
    from hs_notebook.sandbox.videos import ProjectInfo, VideoInfo

__all__ = [
    "MEDIA_DEFECTS",
    "Faults",
    "ProjectInfo",
    "RequestRecord",
    "Sandbox",
    "VideoInfo",
    "serve",
]

_LAZY = {
    "MEDIA_DEFECTS": "hs_notebook.sandbox.defects",
    "Sandbox": "hs_notebook.sandbox.server",
    "serve": "hs_notebook.sandbox.server",
    "Faults": "hs_notebook.sandbox.faults",
    "RequestRecord": "hs_notebook.sandbox.app",
    "VideoInfo": "hs_notebook.sandbox.videos",
    "ProjectInfo": "hs_notebook.sandbox.videos",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hs_notebook.sandbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
