"""Signing keys and signed-URL tokens (RS256 JWTs), pure code: no I/O but reading a key file.

HeapStream hands out a signing key as ``key_id`` plus a *base64-encoded PEM* RSA private
key.  A token is a compact JWT with header ``{"alg": "RS256", "typ": "JWT", "kid": key_id}``
and claims ``sub`` (video id), ``aud`` (``"v"``), ``exp`` and optionally ``nbf``.

>>> key = SigningKey.from_base64("key-1", b64_from_the_api)      # doctest: +SKIP
>>> token = key.mint("video-id", ttl=3600)                        # doctest: +SKIP

The PEM is parsed once, when the :class:`SigningKey` is made (tens of milliseconds); each
``mint`` then costs about one RSA signature.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import math
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import formatting
from .errors import InvalidArgument, InvalidSigningKey, InvalidToken, TokenRejected

__all__ = [
    "ALGORITHM",
    "AUDIENCE",
    "DEFAULT_LEEWAY",
    "ENV_KEY",
    "ENV_KEY_ID",
    "MAX_EXP",
    "MIN_KEY_SIZE",
    "SigningKey",
    "Token",
    "b64url_decode",
    "b64url_encode",
    "generate_signing_key",
    "inspect_token",
    "load_public_key",
    "verify_token",
]

ALGORITHM = "RS256"
AUDIENCE = "v"
MIN_KEY_SIZE = 2048
DEFAULT_LEEWAY = 30
ENV_KEY_ID = "HEAPSTREAM_SIGNING_KEY_ID"
ENV_KEY = "HEAPSTREAM_SIGNING_KEY"
#: The latest ``exp`` accepted when minting or verifying (9999-12-31 23:59:59 UTC): beyond
#: it a time cannot be shown as a date, and a token would in effect never expire.
MAX_EXP = 253_402_300_799
_MAX_EXP_TEXT = "the year 9999"

_PKCS1v15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


# ---------------------------------------------------------------------------- helpers


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url, as JWTs use."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url; raises ``binascii.Error``/``ValueError`` on bad input."""
    if any(c in text for c in "+/="):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_part(data: Mapping[str, Any]) -> str:
    return b64url_encode(json.dumps(data, separators=(",", ":")).encode())


def _to_datetime(ts: Any) -> datetime | None:
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _fmt_utc(ts: Any) -> str:
    dt = _to_datetime(ts)
    return f"{dt:%Y-%m-%d %H:%M:%S} UTC" if dt is not None else f"{ts!r} (not a valid time)"


def _finite_number(value: Any) -> bool:
    """An int or a finite float (JSON's NaN/Infinity and 1e400 are not NumericDates)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _check_key_id(key_id: Any) -> str:
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


def _describe_key(key: Any) -> str:
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


def _restore_pem_lines(text: bytes) -> bytes:
    """Put back the line breaks of a PEM pasted into a one-line field (browsers and some
    terminals drop them); a PEM that has them is returned unchanged."""
    m = _PEM_BLOCK.search(text)
    if not m or b"\n" in m.group(2).strip() or b":" in m.group(2):
        return text  # multi-line already, or PKCS#1 encryption headers we cannot rebuild
    body = b"".join(m.group(2).split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return b"\n".join([m.group(1), *lines, m.group(3), b""])


def _load_private_pem(pem: bytes, password: bytes | None) -> rsa.RSAPrivateKey:
    text = _restore_pem_lines(pem.strip())
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
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidSigningKey(
            f"the key is {_describe_key(key)}, but HeapStream tokens are RS256 and need an "
            "RSA private key"
        )
    if key.key_size < MIN_KEY_SIZE:
        raise InvalidSigningKey(
            f"the RSA key has {key.key_size} bits; RS256 signing keys need at least "
            f"{MIN_KEY_SIZE} bits"
        )
    return key


def _key_bytes(value: Any, what: str) -> bytes:
    """The key text as bytes, or InvalidSigningKey when it is not text at all."""
    if isinstance(value, str):
        return value.encode("utf-8", "replace")
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise InvalidSigningKey(f"the {what} must be text (str or bytes), got {type(value).__name__}")


def _b64_to_pem(b64: str | bytes) -> bytes:
    raw = _key_bytes(b64, "base64 signing key")
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


def load_public_key(public_key: Any) -> rsa.RSAPublicKey:
    """Accept an RSA public key as a cryptography object, PEM text/bytes, base64 of a PEM,
    or a :class:`SigningKey` (its public half)."""
    if isinstance(public_key, SigningKey):
        return public_key.public_key
    if isinstance(public_key, rsa.RSAPrivateKey):
        return public_key.public_key()
    if isinstance(public_key, rsa.RSAPublicKey):
        return public_key
    if isinstance(public_key, str | bytes):
        data = public_key.encode() if isinstance(public_key, str) else public_key
        if b"-----BEGIN" not in data:
            try:
                data = base64.b64decode(b"".join(data.split()), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidSigningKey("the public key is neither PEM nor base64 PEM") from None
        try:
            key = serialization.load_pem_public_key(data.strip())
        except (ValueError, UnsupportedAlgorithm):
            raise InvalidSigningKey(
                "the public key could not be parsed: expected a '-----BEGIN PUBLIC KEY-----' "
                "PEM block"
            ) from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise InvalidSigningKey("the public key is not an RSA key")
        return key
    raise InvalidSigningKey(
        f"expected an RSA public key (PEM, cryptography key or SigningKey), got "
        f"{type(public_key).__name__}"
    )


# ---------------------------------------------------------------------------- tokens


class Token(str):
    """A compact JWT that also knows its decoded header and claims.

    A ``Token`` *is* the string (``str(token)`` is the JWT, so it can go anywhere a string
    can); its attributes decode it without any key.  Nothing here verifies the signature:
    use :func:`verify_token` for that.
    """

    header: dict[str, Any]
    claims: dict[str, Any]

    def __new__(cls, compact: str) -> Token:
        if isinstance(compact, Token):
            return compact
        if isinstance(compact, bytes):
            compact = compact.decode("ascii", "replace")
        if not isinstance(compact, str):
            raise InvalidToken(f"a token must be a string, got {type(compact).__name__}")
        text = compact.strip()
        header, claims = _decode_parts(text)
        self = super().__new__(cls, text)
        self.header = header
        self.claims = claims
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Token, (str(self),))

    # claims --------------------------------------------------------------------------
    @property
    def key_id(self) -> str | None:
        """The ``kid`` of the header (``None`` when absent)."""
        kid = self.header.get("kid")
        return kid if isinstance(kid, str) else None

    @property
    def video_id(self) -> str | None:
        """The ``sub`` claim: the video this token unlocks."""
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) else None

    @property
    def audience(self) -> Any:
        return self.claims.get("aud")

    @property
    def expires_at(self) -> datetime | None:
        """``exp`` as an aware UTC datetime (``None`` when absent or not a number)."""
        return _to_datetime(self.claims.get("exp"))

    @property
    def not_before(self) -> datetime | None:
        """``nbf`` as an aware UTC datetime (``None`` when absent)."""
        return _to_datetime(self.claims.get("nbf"))

    def remaining(self, now: datetime | None = None) -> timedelta:
        """Time left until ``exp`` (negative once expired; zero when there is no exp)."""
        exp = self.expires_at
        if exp is None:
            return timedelta(0)
        return exp - (now or datetime.now(UTC))

    @property
    def is_expired(self) -> bool:
        exp = self.expires_at
        return exp is None or exp <= datetime.now(UTC)

    # display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        exp = self.expires_at
        when = (
            "no exp"
            if exp is None
            else ("expired " if self.is_expired else "expires in ")
            + formatting.duration(abs(self.remaining()))
            + (" ago" if self.is_expired else "")
        )
        return f"<Token sub={self.video_id!r} kid={self.key_id!r} {when}>"

    def describe_claims(self) -> list[tuple[str, str]]:
        """(name, human value) pairs for the claims, with times made readable."""
        rows = []
        for name, value in self.claims.items():
            shown = json.dumps(value)
            if name in ("exp", "nbf", "iat"):
                dt = _to_datetime(value)
                if dt is not None:
                    rel = dt - datetime.now(UTC)
                    rel_text = (
                        f"in {formatting.duration(rel)}"
                        if rel.total_seconds() >= 0
                        else f"{formatting.duration(-rel)} ago"
                    )
                    shown = f"{value} — {dt:%Y-%m-%d %H:%M:%S} UTC ({rel_text})"
            rows.append((name, shown))
        return rows

    def _repr_html_(self) -> str:
        def table(rows: Iterable[tuple[str, str]]) -> str:
            cells = "".join(
                f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
                f"<td style='text-align:left'><code>{html.escape(v)}</code></td></tr>"
                for k, v in rows
            )
            return f"<table>{cells}</table>"

        header_rows = [(k, json.dumps(v)) for k, v in self.header.items()]
        state = html.escape(repr(self)[1:-1])
        return (
            f"<div class='hs-token'><b>{state}</b>"
            f"<div><i>header</i>{table(header_rows)}</div>"
            f"<div><i>claims</i>{table(self.describe_claims())}</div>"
            f"<details><summary>token (bearer credential)</summary>"
            f"<code style='word-break:break-all'>{html.escape(str(self))}</code></details></div>"
        )


def _decode_parts(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    parts = text.split(".")
    if len(parts) != 3:
        raise InvalidToken(
            f"not a compact JWT: expected three dot-separated parts "
            f"(header.claims.signature), found {len(parts)}"
        )
    decoded = []
    for name, part in zip(("header", "claims"), parts[:2], strict=True):
        try:
            value = json.loads(b64url_decode(part))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidToken(
                f"not a JWT: the {name} part is not base64url-encoded JSON"
            ) from None
        if not isinstance(value, dict):
            raise InvalidToken(f"not a JWT: the {name} part is JSON but not an object")
        decoded.append(value)
    try:
        b64url_decode(parts[2])
    except (ValueError, binascii.Error):
        raise InvalidToken("not a JWT: the signature part is not base64url") from None
    return decoded[0], decoded[1]


def inspect_token(token: str | Token) -> Token:
    """Decode a token's header and claims without checking anything (no key needed).

    Raises :class:`InvalidToken` when the text is not a compact JWT.
    """
    return Token(token)


def _as_epoch(value: datetime | float | int, now: float, what: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidArgument(
                f"{what} is a naive datetime: give it a timezone (e.g. datetime.now(UTC))"
            )
        return int(value.timestamp())
    if not _finite_number(value):
        raise InvalidArgument(
            f"{what} must be an aware datetime or seconds relative to now, got {value!r}"
        )
    return int(now + value)


# ---------------------------------------------------------------------------- keys


class SigningKey:
    """An RSA signing key with its HeapStream key id, parsed once and reused.

    ``repr()``/``str()`` show the key id and size only.  Key material leaves this object
    only through the explicit export methods :meth:`private_key_pem` and
    :meth:`private_key_base64`.
    """

    __slots__ = ("__private", "_header_b64", "_key_id", "_public_key")

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        self._key_id = _check_key_id(key_id)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise InvalidSigningKey(
                f"the key is {_describe_key(private_key)}, but HeapStream tokens are RS256 and "
                "need an RSA private key"
            )
        if private_key.key_size < MIN_KEY_SIZE:
            raise InvalidSigningKey(
                f"the RSA key has {private_key.key_size} bits; RS256 signing keys need at "
                f"least {MIN_KEY_SIZE} bits"
            )
        self.__private = private_key
        self._public_key = private_key.public_key()
        self._header_b64 = _json_part({"alg": ALGORITHM, "typ": "JWT", "kid": key_id})

    # constructors ----------------------------------------------------------------------
    @classmethod
    def from_base64(cls, key_id: str, b64: str | bytes) -> SigningKey:
        """From the HeapStream API's shape: base64 of a PEM (whitespace/newlines tolerated)."""
        _check_key_id(key_id)
        return cls(key_id, _load_private_pem(_b64_to_pem(b64), None))

    @classmethod
    def from_pem(
        cls, key_id: str, pem: str | bytes, *, password: str | bytes | None = None
    ) -> SigningKey:
        """From PEM text (PKCS#1 ``RSA PRIVATE KEY`` or PKCS#8 ``PRIVATE KEY``)."""
        _check_key_id(key_id)
        data = _key_bytes(pem, "PEM")
        pw = password.encode() if isinstance(password, str) else password
        return cls(key_id, _load_private_pem(data, pw))

    @classmethod
    def load(
        cls, key_id: str, text: str | bytes, *, password: str | bytes | None = None
    ) -> SigningKey:
        """From either a PEM or a base64 PEM (whichever ``text`` is)."""
        data = _key_bytes(text, "signing key")
        if b"-----BEGIN" in data:
            return cls.from_pem(key_id, data, password=password)
        _check_key_id(key_id)
        pw = password.encode() if isinstance(password, str) else password
        return cls(key_id, _load_private_pem(_b64_to_pem(data), pw))

    @classmethod
    def from_file(
        cls, key_id: str, path: str | os.PathLike[str], *, password: str | bytes | None = None
    ) -> SigningKey:
        """From a file holding a PEM or a base64 PEM."""
        p = Path(path).expanduser()
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise InvalidSigningKey(f"no key file at {p}") from None
        except OSError as exc:
            raise InvalidSigningKey(f"cannot read the key file {p}: {exc.strerror}") from None
        return cls.load(key_id, data, password=password)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SigningKey:
        """From ``HEAPSTREAM_SIGNING_KEY_ID`` and ``HEAPSTREAM_SIGNING_KEY`` (base64 PEM)."""
        env = os.environ if environ is None else environ
        key_id = env.get(ENV_KEY_ID, "")
        b64 = env.get(ENV_KEY, "")
        missing = [n for n, v in ((ENV_KEY_ID, key_id), (ENV_KEY, b64)) if not v.strip()]
        if missing:
            raise InvalidSigningKey(
                f"environment variable(s) {', '.join(missing)} not set: export the signing key "
                f"id and its base64 private key from the HeapStream API"
            )
        return cls.load(key_id.strip(), b64)

    # facts ------------------------------------------------------------------------------
    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def key_size(self) -> int:
        return self._public_key.key_size

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self._public_key

    def public_key_pem(self) -> str:
        """The public half as a SubjectPublicKeyInfo PEM (safe to share)."""
        return self._public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    # explicit exports -------------------------------------------------------------------
    def private_key_pem(self) -> str:
        """EXPORT the private key as an unencrypted PKCS#8 PEM. Treat the result as a secret."""
        return self.__private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def private_key_base64(self) -> str:
        """EXPORT the private key in the HeapStream API's shape: base64 of the PEM.
        Treat the result as a secret."""
        return base64.b64encode(self.private_key_pem().encode()).decode()

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self._key_id!r}, RSA-{self.key_size})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError(
            "SigningKey is not picklable, so private key material cannot leak into pickles; "
            "pass SigningKey.private_key_base64() explicitly where a copy is really needed"
        )

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(repr(self))}</code>"

    # minting ----------------------------------------------------------------------------
    def _claims(
        self,
        video_id: Any,
        ttl: float | None,
        expires_at: datetime | float | None,
        not_before: datetime | float | None,
        audience: str,
        now: float,
    ) -> dict[str, Any]:
        if not isinstance(video_id, str):
            raise InvalidArgument(f"video_id must be a string, got {type(video_id).__name__}")
        if not video_id.strip():
            raise InvalidArgument("video_id is empty")
        if not isinstance(audience, str) or not audience:
            raise InvalidArgument("audience must be a non-empty string (HeapStream uses 'v')")
        if expires_at is not None:
            if ttl is not None:
                raise InvalidArgument("give either ttl or expires_at, not both")
            if isinstance(expires_at, datetime):
                exp = _as_epoch(expires_at, now, "expires_at")
            elif _finite_number(expires_at):
                exp = int(expires_at)  # absolute UNIX seconds
            else:
                raise InvalidArgument(
                    f"expires_at must be an aware datetime or UNIX seconds, got {expires_at!r}"
                )
        else:
            if ttl is None:
                raise InvalidArgument("give ttl (seconds) or expires_at")
            if isinstance(ttl, timedelta):
                ttl = ttl.total_seconds()
            if not _finite_number(ttl):
                raise InvalidArgument(f"ttl must be a finite number of seconds, got {ttl!r}")
            if ttl <= 0:
                raise InvalidArgument(f"ttl must be > 0 seconds, got {ttl}")
            exp = int(now + ttl)
        if exp <= int(now):
            raise InvalidArgument("expires_at is not in the future")
        if exp > MAX_EXP:
            ms = 1e11 < exp < 1e14  # a millisecond UNIX time of our era
            hint = " (it looks like milliseconds: JWT times are UNIX seconds)" if ms else ""
            raise InvalidArgument(
                f"the expiry {exp if exp < 1e15 else f'{exp:.3g}'} is beyond {_MAX_EXP_TEXT}"
                f"{hint}: tokens are bearer credentials, give them minutes or hours"
            )
        claims: dict[str, Any] = {"sub": video_id, "aud": audience, "exp": exp}
        if not_before is not None:
            if isinstance(not_before, timedelta):
                not_before = not_before.total_seconds()
            nbf = _as_epoch(not_before, now, "not_before")
            if nbf >= exp:
                raise InvalidArgument(
                    f"not_before ({datetime.fromtimestamp(nbf, UTC):%Y-%m-%d %H:%M:%S} UTC) must "
                    f"be before the expiry ({datetime.fromtimestamp(exp, UTC):%Y-%m-%d %H:%M:%S} "
                    "UTC)"
                )
            claims["nbf"] = nbf
        return claims

    def _sign(self, claims: dict[str, Any]) -> str:
        signing_input = f"{self._header_b64}.{_json_part(claims)}"
        signature = self.__private.sign(signing_input.encode("ascii"), _PKCS1v15, _SHA256)
        return f"{signing_input}.{b64url_encode(signature)}"

    def mint(
        self,
        video_id: str,
        ttl: float | timedelta | None = None,
        *,
        expires_at: datetime | float | None = None,
        not_before: datetime | float | timedelta | None = None,
        audience: str = AUDIENCE,
    ) -> Token:
        """Mint a token for ``video_id``.

        Args:
            video_id: the HeapStream video id (becomes ``sub``).
            ttl: lifetime in seconds (default 3600 when ``expires_at`` is not given).
            expires_at: an aware datetime or UNIX seconds, instead of ``ttl``.
            not_before: an aware datetime, or seconds relative to now (may be negative).
            audience: the ``aud`` claim; HeapStream requires ``"v"``.
        """
        if ttl is None and expires_at is None:
            ttl = 3600
        claims = self._claims(video_id, ttl, expires_at, not_before, audience, _now())
        compact = self._sign(claims)
        tok = str.__new__(Token, compact)
        tok.header = {"alg": ALGORITHM, "typ": "JWT", "kid": self._key_id}
        tok.claims = claims
        return tok

    def mint_many(
        self,
        video_ids: Iterable[str],
        ttl: float | timedelta | None = None,
        *,
        expires_at: datetime | float | None = None,
        not_before: datetime | float | timedelta | None = None,
        audience: str = AUDIENCE,
    ) -> dict[str, Token]:
        """Mint one token per video id (same lifetime for all); returns ``{video_id: token}``.

        All arguments are validated before anything is signed, so a bad id loses nothing.
        """
        if ttl is None and expires_at is None:
            ttl = 3600
        if isinstance(video_ids, str | bytes):
            raise InvalidArgument(
                "mint_many takes a list of video ids, not one string: use mint(video_id)"
            )
        try:
            ids = list(video_ids)
        except TypeError:
            raise InvalidArgument(
                f"mint_many takes a list of video ids, got {type(video_ids).__name__}"
            ) from None
        now = _now()
        claims = [self._claims(v, ttl, expires_at, not_before, audience, now) for v in ids]
        header = {"alg": ALGORITHM, "typ": "JWT", "kid": self._key_id}
        out: dict[str, Token] = {}
        for vid, c in zip(ids, claims, strict=True):
            tok = str.__new__(Token, self._sign(c))
            tok.header = dict(header)
            tok.claims = c
            out[vid] = tok
        return out


def _now() -> float:
    return datetime.now(UTC).timestamp()


def generate_signing_key(key_id: str | None = None) -> SigningKey:
    """A fresh 2048-bit RSA signing key (for the sandbox and tests).

    ``key.private_key_base64()`` exports it in exactly the HeapStream API's shape and
    ``key.public_key_pem()`` gives the public half to register with an origin.
    """
    kid = key_id if key_id is not None else f"sk-{secrets.token_hex(8)}"
    private = rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_SIZE)
    return SigningKey(kid, private)


# ---------------------------------------------------------------------------- verification


def verify_token(
    token: str | Token,
    public_key: Any,
    video_id: str | None = None,
    leeway: float = DEFAULT_LEEWAY,
    *,
    audience: str = AUDIENCE,
    now: datetime | float | None = None,
) -> dict[str, Any]:
    """Check a token as HeapStream does and return its claims.

    Checks, in order: it is a compact JWT; ``alg`` is RS256; the signature matches
    ``public_key``; ``aud`` is ``"v"``; ``sub`` is ``video_id`` (when given); ``exp`` is
    present and not past; ``nbf`` (when present) is not in the future.  Times allow
    ``leeway`` seconds.  Raises :class:`TokenRejected` with ``reason`` set to one of
    :data:`hs_notebook.errors.TOKEN_REJECTION_REASONS`.  It does not look up ``kid``:
    the caller picks the public key.
    """
    key = load_public_key(public_key)
    text = str(token).strip() if isinstance(token, str) else token
    if not isinstance(text, str):
        raise TokenRejected("malformed_token", "the token is not a string")
    try:
        header, claims = _decode_parts(text)
    except InvalidToken as exc:
        raise TokenRejected("malformed_token", str(exc)) from None
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise TokenRejected("alg_not_allowed", f"header alg is {alg!r}; only RS256 is accepted")
    signing_input, _, sig_b64 = text.rpartition(".")
    try:
        key.verify(b64url_decode(sig_b64), signing_input.encode("ascii"), _PKCS1v15, _SHA256)
    except (InvalidSignature, ValueError, UnicodeEncodeError):
        raise TokenRejected(
            "bad_signature",
            "the signature does not match this public key (token signed with another key, "
            "or altered after signing)",
        ) from None
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise TokenRejected("wrong_audience", f'aud is {aud!r}; it must be "{audience}"')
    if video_id is not None and claims.get("sub") != video_id:
        raise TokenRejected(
            "wrong_subject",
            f"sub is {claims.get('sub')!r} but the resource belongs to video {video_id!r}",
        )
    t = now.timestamp() if isinstance(now, datetime) else (_now() if now is None else now)
    exp = claims.get("exp")
    if not _finite_number(exp):
        raise TokenRejected("expired", "the token has no numeric exp claim; exp is required")
    if exp + leeway < t:
        raise TokenRejected("expired", f"expired at {_fmt_utc(exp)}; it is now {_fmt_utc(t)}")
    if exp > MAX_EXP:
        raise TokenRejected(
            "malformed_token",
            f"exp {exp} is beyond {_MAX_EXP_TEXT}: the token would never expire "
            "(milliseconds instead of seconds?)",
        )
    nbf = claims.get("nbf")
    if nbf is not None:
        if not _finite_number(nbf):
            raise TokenRejected("not_yet_valid", "the nbf claim is not a number")
        if nbf - leeway > t:
            raise TokenRejected(
                "not_yet_valid", f"not valid before {_fmt_utc(nbf)}; it is now {_fmt_utc(t)}"
            )
    return claims
