"""The environment: every variable hs_notebook reads, and the credentials logic (pure code).

One home for the names, so a variable is spelt once; modules import the constant from
here rather than writing the string.  Functions take an optional ``environ`` mapping
(default :data:`os.environ`) so notebooks and tests can pass their own.

=============================== ==========================================================
variable                        meaning
=============================== ==========================================================
``HEAPSTREAM_SIGNING_KEY_ID``   the signing key id the HeapStream API returned
``HEAPSTREAM_SIGNING_KEY``      its private key, base64 of a PEM (a secret)
``HEAPSTREAM_PROJECT_ID``       the project the panels and notebooks use
``HEAPSTREAM_VIDEO_ID``         the video the panels and notebooks use
``HEAPSTREAM_BASE_URL``         the origin (default ``https://app.heapstream.com``)
``HEAPSTREAM_STORYBOARD_ID``    the storyboard the storyboard panel shows
``HS_NOTEBOOK_SANDBOX_PROFILE`` the sandbox media profile without credentials (``demo``)
``HS_NOTEBOOK_CACHE``           the cache root (media of the sandbox)
``XDG_CACHE_HOME``              the user cache root when ``HS_NOTEBOOK_CACHE`` is unset
``JUPYTERHUB_SERVICE_PREFIX``   set by JupyterHub/Binder: browser URLs go through the proxy
=============================== ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from .errors import InvalidSigningKey

__all__ = [
    "ENV_BASE_URL",
    "ENV_CACHE",
    "ENV_KEY",
    "ENV_KEY_ID",
    "ENV_PREFIX",
    "ENV_PROJECT_ID",
    "ENV_SANDBOX_PROFILE",
    "ENV_STORYBOARD_ID",
    "ENV_VIDEO_ID",
    "ENV_XDG_CACHE",
    "credentials",
    "env_value",
    "has_credentials",
    "missing_credentials",
]

ENV_KEY_ID = "HEAPSTREAM_SIGNING_KEY_ID"
ENV_KEY = "HEAPSTREAM_SIGNING_KEY"
ENV_PROJECT_ID = "HEAPSTREAM_PROJECT_ID"
ENV_VIDEO_ID = "HEAPSTREAM_VIDEO_ID"
ENV_BASE_URL = "HEAPSTREAM_BASE_URL"
ENV_STORYBOARD_ID = "HEAPSTREAM_STORYBOARD_ID"
#: The sandbox media profile used when no credentials are set ("demo" or "tiny").
ENV_SANDBOX_PROFILE = "HS_NOTEBOOK_SANDBOX_PROFILE"
ENV_CACHE = "HS_NOTEBOOK_CACHE"
ENV_XDG_CACHE = "XDG_CACHE_HOME"
#: The environment variable JupyterHub (and so Binder) sets for single-user servers.
ENV_PREFIX = "JUPYTERHUB_SERVICE_PREFIX"

_CREDENTIALS = (ENV_KEY_ID, ENV_KEY)


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def env_value(name: str, environ: Mapping[str, str] | None = None, default: str = "") -> str:
    """The variable ``name`` with surrounding whitespace removed; ``default`` when it is
    unset or blank."""
    value = _environ(environ).get(name, "").strip()
    return value or default


def missing_credentials(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The names of the credential variables that are unset or blank, in the order
    ``$HEAPSTREAM_SIGNING_KEY_ID``, ``$HEAPSTREAM_SIGNING_KEY`` (``()`` when both are set)."""
    env = _environ(environ)
    return tuple(name for name in _CREDENTIALS if not env.get(name, "").strip())


def has_credentials(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the signing key id and key are both set in the environment."""
    return not missing_credentials(environ)


def credentials(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(key_id, base64_key)`` from the environment (what ``SigningKey.from_env`` reads).

    Raises :class:`InvalidSigningKey` naming the variable(s) that are unset or blank.  The
    key text is returned as it is (whitespace inside a base64 PEM is tolerated later).
    """
    missing = missing_credentials(environ)
    if missing:
        raise InvalidSigningKey(
            f"environment variable(s) {', '.join(missing)} not set: export the signing key "
            f"id and its base64 private key from the HeapStream API"
        )
    env = _environ(environ)
    return env[ENV_KEY_ID].strip(), env[ENV_KEY]
