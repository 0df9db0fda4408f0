"""RSA key material for signing keys, pure code: PEM or base64 PEM in, ``cryptography``
key objects out.

HeapStream hands out a signing key as a key id plus a *base64-encoded PEM* RSA private
key; :class:`hs_notebook.tokens.SigningKey` is built on these functions.  Every error is an
:class:`~hs_notebook.errors.InvalidSigningKey` that says what is wrong and never quotes
key material.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import InvalidSigningKey

__all__ = [
    "MIN_KEY_SIZE",
    "check_key_id",
    "check_rsa_private_key",
    "describe_key",
    "key_bytes",
    "load_private_pem",
    "load_public_pem",
    "pem_from_base64",
    "restore_pem_lines",
]

#: The smallest RSA key accepted for RS256 signing, in bits.
MIN_KEY_SIZE = 2048


def check_key_id(key_id: Any) -> str:
    """``key_id`` when it is a usable HeapStream signing key id (a non-blank string)."""
    if key_id is not None and not isinstance(key_id, str):
        raise InvalidSigningKey(
            f"the signing key id must be a string (the id the HeapStream API returned with "
            f"the key), got {type(key_id).__name__}"
        )
    if key_id is None or not key_id.strip():
        raise InvalidSigningKey(
            "the signing key id is empty: pass the key id the HeapStream API returned with "
            "the key (it goes into the token header as 'kid')"
        )
    if key_id != key_id.strip():
        raise InvalidSigningKey("the signing key id has leading or trailing whitespace")
    return key_id


def describe_key(key: Any) -> str:
    """What kind of key ``key`` is, for an error message (never its material)."""
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC ({key.curve.name}) key"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "an Ed25519 key"
    if isinstance(key, ed448.Ed448PrivateKey):
        return "an Ed448 key"
    if isinstance(key, dsa.DSAPrivateKey):
        return "a DSA key"
    return f"a {type(key).__name__}"


_PEM_BLOCK = re.compile(rb"(-----BEGIN [A-Z0-9 ]+-----)(.*?)(-----END [A-Z0-9 ]+-----)", re.S)


def restore_pem_lines(text: bytes) -> bytes:
    """Put back the line breaks of a PEM pasted into a one-line field (browsers and some
    terminals drop them); a PEM that has them is returned unchanged."""
    m = _PEM_BLOCK.search(text)
    if not m or b"\n" in m.group(2).strip() or b":" in m.group(2):
        return text  # multi-line already, or PKCS#1 encryption headers we cannot rebuild
    body = b"".join(m.group(2).split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join([m.group(1), *lines, m.group(3), b""])


def load_private_pem(pem: bytes, password: bytes | None) -> rsa.RSAPrivateKey:
    """The RSA private key in a PEM (one-line pastes repaired); :class:`InvalidSigningKey`
    saying what is wrong otherwise, never quoting the key."""
    text = restore_pem_lines(pem.strip())
    if b"-----BEGIN" not in text:
        raise InvalidSigningKey(
            "the key is not PEM: expected a PKCS#8 ('PRIVATE KEY') or PKCS#1 "
            "('RSA PRIVATE KEY') PEM block"
        )
    if b"PUBLIC KEY-----" in text or b"BEGIN CERTIFICATE" in text:
        raise InvalidSigningKey(
            "this is a public key (or certificate), but signing needs the PRIVATE key: use the "
            "base64 private key the HeapStream API returned when the signing key was created"
        )
    encrypted = b"ENCRYPTED" in text
    if encrypted and password is None:
        raise InvalidSigningKey(
            "the PEM is encrypted with a passphrase: pass password=... (HeapStream's API "
            "returns unencrypted keys, so this key was re-encrypted somewhere)"
        )
    try:
        key = serialization.load_pem_private_key(text, password=password)
    except TypeError:
        raise InvalidSigningKey(
            "the PEM is encrypted with a passphrase: pass password=..."
            if password is None
            else "a password was given but the PEM is not encrypted: drop password=..."
        ) from None
    except UnsupportedAlgorithm:
        raise InvalidSigningKey("the PEM holds a key type this library cannot read") from None
    except ValueError as exc:
        hint = "wrong passphrase, or " if encrypted else ""
        raise InvalidSigningKey(
            f"the PEM could not be parsed ({hint}damaged or truncated key data): "
            f"{str(exc).splitlines()[0][:120]}"
        ) from None
    return check_rsa_private_key(key)


def check_rsa_private_key(key: Any) -> rsa.RSAPrivateKey:
    """``key`` when it is an RSA private key of at least :data:`MIN_KEY_SIZE` bits."""
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidSigningKey(
            f"the key is {describe_key(key)}, but HeapStream tokens are RS256 and need an "
            "RSA private key"
        )
    if key.key_size < MIN_KEY_SIZE:
        raise InvalidSigningKey(
            f"the RSA key has {key.key_size} bits; RS256 signing keys need at least "
            f"{MIN_KEY_SIZE} bits"
        )
    return key


def key_bytes(value: Any, what: str) -> bytes:
    """The key text as bytes, or InvalidSigningKey when it is not text at all."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise InvalidSigningKey(f"the {what} must be text (str or bytes), got {type(value).__name__}")


def pem_from_base64(b64: str | bytes) -> bytes:
    """The PEM inside the HeapStream API's base64 key (whitespace tolerated)."""
    raw = key_bytes(b64, "base64 signing key")
    compact = b"".join(raw.split())
    if not compact:
        raise InvalidSigningKey("the base64 signing key is empty")
    if compact.startswith(b"-----BEGIN"):
        raise InvalidSigningKey(
            "this is already a PEM, not base64: use SigningKey.from_pem(key_id, pem) "
            "(or SigningKey.load, which accepts both)"
        )
    try:
        pem = base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSigningKey(
            "the signing key is not valid base64: the HeapStream API returns the private key "
            "as base64 of a PEM; copy it whole, without quotes"
        ) from None
    if b"-----BEGIN" not in pem:
        raise InvalidSigningKey(
            "the base64 decodes, but not to a PEM: expected base64 of a "
            "'-----BEGIN ... PRIVATE KEY-----' block"
        )
    return pem


def load_public_pem(text: str | bytes) -> rsa.RSAPublicKey:
    """The RSA public key in PEM text/bytes or base64 of a PEM."""
    data = text.encode() if isinstance(text, str) else text
    if b"-----BEGIN" not in data:
        try:
            data = base64.b64decode(b"".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidSigningKey("the public key is neither PEM nor base64 PEM") from None
    try:
        key = serialization.load_pem_public_key(data.strip())
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidSigningKey(
            "the public key could not be parsed: expected a '-----BEGIN PUBLIC KEY-----' PEM block"
        ) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise InvalidSigningKey("the public key is not an RSA key")
    return key
