"""Browser-facing URLs: what the *browser* should load, when it differs from what the kernel
fetches.

The kernel always talks to an origin directly (for the sandbox: ``http://127.0.0.1:<port>``
over loopback).  The browser showing the notebook may not be on that machine: on
JupyterHub and Binder the notebook server is remote, and a loopback URL would point at the
*viewer's* computer.  There, jupyter-server-proxy serves every local port under the
server's own URL, ``<JUPYTERHUB_SERVICE_PREFIX>proxy/<port>/<path>``, so
:func:`browser_url` rewrites loopback URLs to that path.  Anywhere else (a local Jupyter or
Voilà, or a remote origin such as ``https://app.heapstream.com``) URLs are left unchanged.

>>> browser_url("http://127.0.0.1:8765/e/1/v/?token=t", prefix="/user/ann/")
'/user/ann/proxy/8765/e/1/v/?token=t'
>>> browser_url("http://127.0.0.1:8765/e/1/v/?token=t", prefix=None)
'http://127.0.0.1:8765/e/1/v/?token=t'
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from hs_notebook.env import ENV_PREFIX, env_value

__all__ = ["LOOPBACK_HOSTS", "browser_url", "proxy_prefix"]

#: Host names that mean "this machine", whose URLs the browser cannot reach when remote.
LOOPBACK_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost", "::1"})

_UNSET = object()


def proxy_prefix(environ: Mapping[str, str] | None = None) -> str | None:
    """The jupyter-server-proxy base path (``/user/<name>/``) or ``None`` when not on a hub."""
    prefix = env_value(ENV_PREFIX, environ)
    if not prefix:
        return None
    if not prefix.startswith("/"):
        prefix = "/" + prefix
    if not prefix.endswith("/"):
        prefix += "/"
    return prefix


def browser_url(url: str, *, prefix: str | object | None = _UNSET) -> str:
    """The URL a browser should load for ``url``.

    Args:
        url: an absolute URL as the kernel uses it.
        prefix: the hub prefix to use; by default it is read from
            ``$JUPYTERHUB_SERVICE_PREFIX`` (``None`` means "not behind a hub").

    Returns ``<prefix>proxy/<port>/<path>?<query>#<fragment>`` when a prefix is known and
    ``url`` is an ``http`` URL on a loopback host with an explicit port; ``url`` unchanged
    otherwise.
    """
    if prefix is _UNSET:
        base = proxy_prefix()
    elif prefix is None:
        base = None
    else:
        base = proxy_prefix({ENV_PREFIX: str(prefix)})
    if base is None or not isinstance(url, str):
        return url
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return url
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or port is None:
        return url
    path = parts.path or "/"
    return urlunsplit(("", "", f"{base}proxy/{port}{path}", parts.query, parts.fragment))
