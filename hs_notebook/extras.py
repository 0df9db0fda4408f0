"""The optional parts of hs_notebook (pip extras), and the one check that names them.

``pip install hs_notebook`` brings what minting, signed URLs, inspection, QA and the
panels need.  The rest is opt-in (see ``pyproject.toml``):

=========== ==========================================================================
extra       brings
=========== ==========================================================================
sandbox     the local origin (:mod:`hs_notebook.sandbox`): Starlette, uvicorn, and the
            ffmpeg binary of imageio-ffmpeg that makes its media
media       media and quality checks of real segments: PyAV, imageio-ffmpeg
dask        the Dask engine of :func:`hs_notebook.audit` (``dask[distributed]``)
notebook    the notebook server stack: Voilà, jupyter-server-proxy, JupyterLab, ipykernel
all         every extra above
=========== ==========================================================================

A feature calls :func:`require_extra` where it first needs its extra; when a module is
missing that raises :class:`~hs_notebook.errors.MissingExtra`, whose message names the
``pip install`` to run.
"""

from __future__ import annotations

import importlib.util

from hs_notebook.errors import MissingExtra

__all__ = ["EXTRAS", "require_extra"]

#: extra -> the top-level modules it provides (import names, not distribution names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "sandbox": ("starlette", "uvicorn", "imageio_ffmpeg"),
    "media": ("av", "imageio_ffmpeg"),
    "dask": ("dask", "distributed"),
    "notebook": ("voila", "jupyter_server_proxy", "jupyterlab", "ipykernel"),
}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package; a broken __spec__
        return False


def require_extra(extra: str, *modules: str, feature: str | None = None) -> None:
    """Raise :class:`MissingExtra` unless every one of ``modules`` (default: all of the
    extra's modules, :data:`EXTRAS`) can be imported.

    The check looks modules up without importing them, so calling it at import time costs
    next to nothing.  ``feature`` says what needs the extra, for the message (default
    ``"this feature"``).
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    for module in modules or EXTRAS[extra]:
        if not _installed(module):
            raise MissingExtra(extra, module, feature or "this feature")
