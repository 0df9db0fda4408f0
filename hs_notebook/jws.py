"""Compact JWS text -> header and claims, decoded by PyJWT with our errors (pure code).

PyJWT does the decoding (base64url, JSON, its header checks); this module adds what a
token from an untrusted place needs before anyone looks at it: the compact shape checked
strictly (RFC 7515 §7.1), JSON nesting bounded (:data:`MAX_JSON_DEPTH`), a ``crit`` header
refused (RFC 7515 §4.1.11: HeapStream tokens use no extension), and every failure turned
into our :class:`~hs_notebook.errors.InvalidToken` with a message that never quotes the
token.  :mod:`hs_notebook.tokens` builds :class:`~hs_notebook.tokens.Token` on it.
"""

from __future__ import annotations

import re
from typing import Any

import jwt

from .errors import InvalidToken, UnknownCriticalHeader

__all__ = ["MAX_JSON_DEPTH", "decode_compact"]

#: How deeply a token's header or claims may nest JSON arrays/objects (HeapStream's use 1).
MAX_JSON_DEPTH = 32

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_PART_NAMES = ("header", "claims", "signature")
_CRIT_MESSAGE = (
    "the JWT header uses an extension (crit, or b64 of RFC 7797) this library does not "
    "understand (RFC 7515 §4.1.11: such a token must be refused); HeapStream tokens use "
    "none: mint without crit"
)


def _json_depth(value: Any) -> int:
    """How deeply ``value`` nests lists/dicts (0 for a scalar), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _pyjwt_decode_error(exc: jwt.DecodeError) -> InvalidToken:
    """Our message for what PyJWT could not decode (PyJWT names the payload ``payload`` and
    the signature ``crypto``); never quotes the token."""
    text = str(exc)
    if "b64" in text:  # an unencoded payload (RFC 7797), with or without crit
        return UnknownCriticalHeader(_CRIT_MESSAGE)
    if isinstance(exc.__cause__, RecursionError):
        return InvalidToken(f"not a JWT: its JSON nests deeper than {MAX_JSON_DEPTH} levels")
    for theirs, ours in (("header", "header"), ("payload", "claims")):
        if text.startswith(f"Invalid {theirs} string: must be a json object"):
            return InvalidToken(f"not a JWT: the {ours} part is JSON but not an object")
        if text.startswith(f"Invalid {theirs}"):
            return InvalidToken(f"not a JWT: the {ours} part is not base64url-encoded JSON")
    if text.startswith("Invalid crypto"):  # base64url letters, but not a canonical encoding
        err = InvalidToken(
            "the signature part is not a whole base64url encoding (truncated or altered after "
            "signing?)"
        )
        err.reason = "bad_signature"
        return err
    return InvalidToken("not a compact JWT (header.claims.signature) that can be decoded")


def decode_compact(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a compact JWS, decoded by PyJWT without verifying anything.

    Before PyJWT sees it, the text must be three unpadded base64url parts (RFC 7515 §7.1;
    PyJWT tolerates padding).  Raises :class:`InvalidToken` (or its subclass
    :class:`UnknownCriticalHeader` for a ``crit`` header) with a message that never
    quotes the token.
    """
    parts = text.split(".")
    if len(parts) != 3:
        raise InvalidToken(
            f"not a compact JWT: expected three dot-separated parts "
            f"(header.claims.signature), found {len(parts)}"
        )
    for name, part in zip(_PART_NAMES, parts, strict=True):
        if not _SEGMENT.fullmatch(part):
            what = "base64url" if name == "signature" else "base64url-encoded JSON"
            raise InvalidToken(f"not a JWT: the {name} part is not {what}")
    try:
        decoded = jwt.decode_complete(text, options={"verify_signature": False})
    except jwt.DecodeError as exc:
        raise _pyjwt_decode_error(exc) from None
    except jwt.InvalidTokenError as exc:  # PyJWT's header checks: kid, crit, b64
        if "crit" in str(exc).lower() or "b64" in str(exc):
            raise UnknownCriticalHeader(_CRIT_MESSAGE) from None
        raise InvalidToken("not a valid JWT header: its kid must be a string") from None
    except RecursionError:  # older PyJWT releases let json's RecursionError through
        raise InvalidToken(
            f"not a JWT: its JSON nests deeper than {MAX_JSON_DEPTH} levels"
        ) from None
    header, claims = decoded["header"], decoded["payload"]
    for name, value in (("header", header), ("claims", claims)):
        if _json_depth(value) > MAX_JSON_DEPTH:
            raise InvalidToken(
                f"not a JWT: its {name} JSON nests deeper than {MAX_JSON_DEPTH} levels"
            )
    if "crit" in header:  # PyJWT understands "b64"; HeapStream tokens use no extension
        raise UnknownCriticalHeader(_CRIT_MESSAGE)
    return header, claims
