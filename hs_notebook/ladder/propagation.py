"""Tokens on child URIs: a signed playlist's token carried to the URIs it lists on its own
origin (the rules of :func:`hs_notebook.http.child_url`, over many URIs at once; a master's
variant rows with such effective URIs), and values shown in messages with their tokens
redacted."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
import pandas as pd

from hs_notebook.errors import InvalidArgument
from hs_notebook.hls import MasterPlaylist, Variant
from hs_notebook.http import child_url
from hs_notebook.redaction import redact

__all__ = ["effective_variants", "propagate_tokens", "shown", "with_uris"]


@functools.lru_cache(maxsize=256)
def _parent_facts(parent_url: str) -> tuple[str, str]:
    """(``scheme://host[:port]/`` as httpx reads it, ``token=<quoted>`` or "")."""
    parent = httpx.URL(parent_url)
    token = parent.params.get("token")
    prefix = f"{parent.scheme}://{parent.netloc.decode('ascii')}/"
    return prefix, ("token=" + quote(token, safe="")) if token else ""


def propagate_tokens(parent_url: str | None, uris: Iterable[Any]) -> list[Any]:
    """:func:`hs_notebook.http.child_url` over many absolute URIs at once (same rules:
    the parent's token is added only to URIs on the parent's origin that lack a token).

    Non-strings (``<NA>``) pass through; with no absolute parent or no parent token the
    URIs are returned unchanged.
    """
    if parent_url is not None and not isinstance(parent_url, str):
        raise InvalidArgument(f"parent_url must be a str or None, got {type(parent_url).__name__}")
    if isinstance(uris, str | bytes) or not isinstance(uris, Iterable):
        raise InvalidArgument(
            f"uris must be an iterable of URI strings (a list or a column), got "
            f"{type(uris).__name__}"
        )
    items = list(uris)
    if not parent_url or not parent_url.startswith(("http://", "https://")):
        return items
    prefix, param = _parent_facts(parent_url)
    if not param:
        return items
    out: list[Any] = []
    for uri in items:
        if not isinstance(uri, str):
            out.append(uri)
        elif uri.startswith(prefix):
            # fast path: written on exactly the parent's scheme://host:port/ (the authority
            # ends at that "/", so no parser can read another host out of it)
            base, hash_, fragment = uri.partition("#")
            query = base.partition("?")[2]
            if query and any(p.partition("=")[0] == "token" for p in query.split("&")):
                out.append(uri)  # its own token wins
            else:
                sep = "" if base.endswith(("?", "&")) else ("&" if "?" in base else "?")
                out.append(f"{base}{sep}{param}{hash_}{fragment}")
        else:
            out.append(child_url(parent_url, uri))
    return out


def effective_variants(master: MasterPlaylist) -> tuple[Variant, ...]:
    """The master's variants with effective URIs: on the master's own origin, they carry
    its token (:func:`propagate_tokens`), so they can be fetched as they are."""
    uris = propagate_tokens(master.base_uri, [v.uri for v in master.variants])
    return tuple(
        v if uri == v.uri else dataclasses.replace(v, uri=uri)
        for v, uri in zip(master.variants, uris, strict=True)
    )


def with_uris(frame: pd.DataFrame, parent_url: str | None, column: str = "uri") -> pd.DataFrame:
    """``frame`` with its ``column`` of URIs made effective (:func:`propagate_tokens`)."""
    if frame.empty or column not in frame.columns:
        return frame
    frame[column] = pd.array(propagate_tokens(parent_url, frame[column].tolist()), dtype="string")
    return frame


def shown(value: Any) -> Any:
    """``value`` as it may appear in a message: a string redacted
    (:func:`hs_notebook.redaction.redact`); else as it is."""
    if not isinstance(value, str):
        return value
    return redact(value)
