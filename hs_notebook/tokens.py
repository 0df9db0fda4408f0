"""Signing keys and signed-URL tokens (RS256 JWTs), pure code: no I/O but reading a key file.

HeapStream hands out a signing key as ``key_id`` plus a *base64-encoded PEM* RSA private
key.  A token is a compact JWT with header ``{"alg": "RS256", "typ": "JWT", "kid": key_id}``
and claims ``sub`` (video id), ``aud`` (``"v"``), ``exp`` and optionally ``nbf``.

>>> key = SigningKey.from_base64("key-1", b64_from_the_api)      # doctest: +SKIP
>>> token = key.mint("video-id", ttl=3600)                        # doctest: +SKIP

The PEM is parsed once, when the :class:`SigningKey` is made (tens of milliseconds); each
``mint`` then costs about one RSA signature.  Encoding, decoding and verifying go through
PyJWT (with the preloaded ``cryptography`` key object); this module adds HeapStream's rules
and our own errors (:class:`InvalidToken`, :class:`TokenRejected` with a ``reason``) on top.
"""

from __future__ import annotations

import base64
import html
import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import formatting
from .env import credentials
from .errors import (
    InvalidArgument,
    InvalidSigningKey,
    InvalidToken,
    TokenRejected,
)
from .jws import MAX_JSON_DEPTH, decode_compact
from .keys import (
    MIN_KEY_SIZE,
    check_key_id,
    check_rsa_private_key,
    key_bytes,
    load_private_pem,
    load_public_pem,
    pem_from_base64,
)
from .validate import clamped_float, is_finite_number, non_negative_seconds, unix_seconds

if TYPE_CHECKING:
    from jwt.types import Options

__all__ = [
    "ALGORITHM",
    "AUDIENCE",
    "DEFAULT_LEEWAY",
    "MAX_EXP",
    "MAX_JSON_DEPTH",
    "MIN_KEY_SIZE",
    "SigningKey",
    "Token",
    "audience_matches",
    "decode_token",
    "generate_signing_key",
    "load_public_key",
    "quote_claim",
    "verify_token",
]

ALGORITHM = "RS256"
AUDIENCE = "v"
DEFAULT_LEEWAY = 30
#: The latest ``exp`` accepted when minting or verifying (9999-12-31 23:59:59 UTC): beyond
#: it a time cannot be shown as a date, and a token would in effect never expire.
MAX_EXP = 253_402_300_799
_MAX_EXP_TEXT = "the year 9999"


# ---------------------------------------------------------------------------- helpers


def quote_claim(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for quoting a header or claim value in a
    message (a value may be huge, or hold another token)."""
    try:
        text = repr(value)
    except (RecursionError, ValueError):
        return f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _to_datetime(ts: Any) -> datetime | None:
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        return None
    try:
        return datetime.fromtimestamp(ts, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _fmt_utc(ts: Any) -> str:
    dt = _to_datetime(ts)
    return (
        f"{dt:%Y-%m-%d %H:%M:%S} UTC" if dt is not None else f"{quote_claim(ts)} (not a valid time)"
    )


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
        return load_public_pem(public_key)
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
        header, claims = decode_compact(text)
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


def decode_token(token: str | Token) -> Token:
    """Decode a token's header and claims with PyJWT, checking nothing (no key needed).

    Raises :class:`InvalidToken` when the text is not a compact JWT whose header and claims
    are JSON objects (nested at most :data:`MAX_JSON_DEPTH` deep), and its subclass
    :class:`~hs_notebook.errors.UnknownCriticalHeader` when the header has ``crit``.
    """
    return Token(token)


def _as_epoch(value: datetime | float | int, now: float, what: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidArgument(
                f"{what} is a naive datetime: give it a timezone (e.g. datetime.now(UTC))"
            )
        return int(value.timestamp())
    if not is_finite_number(value):
        raise InvalidArgument(
            f"{what} must be an aware datetime or seconds relative to now, got {value!r}"
        )
    return int(now + value)


# ---------------------------------------------------------------------------- keys


#: PyJWT's JWS encoder (RS256 only) and the claims' JSON writer (jwt.encode's separators).
_JWS = jwt.PyJWS(algorithms=[ALGORITHM])
_CLAIMS_JSON = json.JSONEncoder(separators=(",", ":"))


class _HeaderOrder(json.JSONEncoder):
    """Writes a JOSE header as ``alg, typ, kid`` (PyJWT starts it with ``typ``), so minted
    tokens keep the byte layout HeapStream's docs show; other objects are unchanged."""

    def encode(self, o: Any) -> str:
        if isinstance(o, dict) and "alg" in o and "typ" in o:
            o = {"alg": o["alg"], "typ": o["typ"], **o}
        return super().encode(o)


class SigningKey:
    """An RSA signing key with its HeapStream key id, parsed once and reused.

    ``repr()``/``str()`` show the key id and size only.  Key material leaves this object
    only through the explicit export methods :meth:`private_key_pem` and
    :meth:`private_key_base64`.
    """

    __slots__ = ("__private", "_headers", "_key_id", "_public_key")

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        self._key_id = check_key_id(key_id)
        self.__private = check_rsa_private_key(private_key)
        self._public_key = private_key.public_key()
        self._headers = {"kid": key_id}  # PyJWT adds alg and typ

    # constructors ----------------------------------------------------------------------
    @classmethod
    def from_base64(cls, key_id: str, b64: str | bytes) -> SigningKey:
        """From the HeapStream API's shape: base64 of a PEM (whitespace/newlines tolerated)."""
        check_key_id(key_id)
        return cls(key_id, load_private_pem(pem_from_base64(b64), None))

    @classmethod
    def from_pem(
        cls, key_id: str, pem: str | bytes, *, password: str | bytes | None = None
    ) -> SigningKey:
        """From PEM text (PKCS#1 ``RSA PRIVATE KEY`` or PKCS#8 ``PRIVATE KEY``)."""
        check_key_id(key_id)
        data = key_bytes(pem, "PEM")
        pw = password.encode() if isinstance(password, str) else password
        return cls(key_id, load_private_pem(data, pw))

    @classmethod
    def load(
        cls, key_id: str, text: str | bytes, *, password: str | bytes | None = None
    ) -> SigningKey:
        """From either a PEM or a base64 PEM (whichever ``text`` is)."""
        data = key_bytes(text, "signing key")
        if b"-----BEGIN" in data:
            return cls.from_pem(key_id, data, password=password)
        check_key_id(key_id)
        pw = password.encode() if isinstance(password, str) else password
        return cls(key_id, load_private_pem(pem_from_base64(data), pw))

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
        """From ``HEAPSTREAM_SIGNING_KEY_ID`` and ``HEAPSTREAM_SIGNING_KEY`` (base64 PEM);
        see :func:`hs_notebook.env.credentials`."""
        return cls.load(*credentials(environ))

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
        ttl: float | timedelta | None,
        expires_at: datetime | float | None,
        not_before: datetime | float | timedelta | None,
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
            elif is_finite_number(expires_at):
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
            if not is_finite_number(ttl):
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
        # PyJWT's JWS encoder, the layer jwt.encode ends in, given the claims' JSON as
        # jwt.encode writes it: skipping jwt.encode's re-checks of claims we just validated
        # keeps mint within 10 % of one RSA signature (benchmarks/mint.py: b/c >= 0.9)
        return _JWS.encode(
            _CLAIMS_JSON.encode(claims).encode(),
            self.__private,
            algorithm=ALGORITHM,
            headers=self._headers,
            json_encoder=_HeaderOrder,
            sort_headers=False,
        )

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
    return time.time()


def generate_signing_key(key_id: str | None = None) -> SigningKey:
    """A fresh 2048-bit RSA signing key (for the sandbox and tests).

    ``key.private_key_base64()`` exports it in exactly the HeapStream API's shape and
    ``key.public_key_pem()`` gives the public half to register with an origin.
    """
    kid = key_id if key_id is not None else f"sk-{secrets.token_hex(8)}"
    private = rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_SIZE)
    return SigningKey(kid, private)


# ---------------------------------------------------------------------------- verification


def audience_matches(aud: Any, audience: str = AUDIENCE) -> bool:
    """Whether an ``aud`` claim names ``audience``, by the rule :func:`verify_token` applies.

    RFC 7519 §4.1.3 lets ``aud`` be one string or an array of strings.  The string must
    equal ``audience``; an array must hold only strings, one of them ``audience`` (PyJWT's
    rule).  Anything else (another string, an empty array, an array without it, numbers,
    objects) does not match.
    """
    if isinstance(aud, str):
        return aud == audience
    if isinstance(aud, list):
        return all(isinstance(a, str) for a in aud) and audience in aud
    return False


def _check_times(claims: Mapping[str, Any], t: float, leeway: float) -> None:
    """HeapStream's time rules: ``exp`` required, numeric, not past, at most
    :data:`MAX_EXP`; ``nbf`` (optional) numeric and not in the future; ``leeway`` both ways."""
    exp = claims.get("exp")
    if not is_finite_number(exp):
        raise TokenRejected("expired", "the token has no numeric exp claim; exp is required")
    if clamped_float(exp) + leeway < t:
        raise TokenRejected("expired", f"expired at {_fmt_utc(exp)}; it is now {_fmt_utc(t)}")
    if exp > MAX_EXP:
        raise TokenRejected(
            "malformed_token",
            f"exp {quote_claim(exp, 24)} is beyond {_MAX_EXP_TEXT}: the token would never expire "
            "(milliseconds instead of seconds?)",
        )
    nbf = claims.get("nbf")
    if nbf is not None:
        if not is_finite_number(nbf):
            raise TokenRejected("not_yet_valid", "the nbf claim is not a number")
        if clamped_float(nbf) - leeway > t:
            raise TokenRejected(
                "not_yet_valid", f"not valid before {_fmt_utc(nbf)}; it is now {_fmt_utc(t)}"
            )


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

    Checks, in order: it is a compact JWT whose JSON nests at most
    :data:`MAX_JSON_DEPTH` deep, with no ``crit`` header (RFC 7515 §4.1.11: we understand
    no extension; reason ``crit_not_understood``); ``alg`` is RS256; then PyJWT
    (``algorithms=["RS256"]``) checks the signature against ``public_key``, that ``exp``
    (and ``sub`` when ``video_id`` is given) are present, ``nbf``/``exp`` with ``leeway``
    against the clock (when ``now`` is not given: PyJWT reads the wall clock), ``aud``,
    and ``sub == video_id``; last our own time rules: ``exp`` a finite number, not past
    and not beyond the year 9999, ``nbf`` (when present) a finite number not in the
    future, judged at ``now`` (default: the clock) with ``leeway`` seconds either way.
    Duplicate JSON member names: the last one counts (RFC 7515 §4, RFC 7519 §4), as in
    :func:`decode_token` and :func:`hs_notebook.diagnose`.

    ``aud`` may be a string or, as RFC 7519 §4.1.3 allows, an array: a string must equal
    ``audience`` (``"v"``); an array is accepted when it holds only strings and one of them
    is ``audience`` (as PyJWT does), else the reason is ``wrong_audience``
    (:func:`audience_matches` states the rule; :func:`hs_notebook.diagnose` and the sandbox
    apply the same).

    Raises :class:`TokenRejected` with ``reason`` set to one of
    :data:`hs_notebook.errors.TOKEN_REJECTION_REASONS`; its message never quotes the token.
    :class:`InvalidArgument` for a ``leeway`` that is not finite seconds >= 0 or a ``now``
    that is not a datetime or finite UNIX seconds, :class:`InvalidSigningKey` for an
    unusable ``public_key``.  It does not look up ``kid``: the caller picks the public key.
    """
    key = load_public_key(public_key)
    leeway = non_negative_seconds("leeway", leeway)
    t = _now() if now is None else unix_seconds("now", now)
    if not isinstance(token, str):
        raise TokenRejected("malformed_token", "the token is not a string")
    try:
        tok = Token(token)
    except InvalidToken as exc:
        raise TokenRejected(exc.reason, str(exc)) from None
    header, claims = tok.header, tok.claims
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise TokenRejected(
            "alg_not_allowed", f"header alg is {quote_claim(alg)}; only RS256 is accepted"
        )
    clock = now is None  # PyJWT reads the wall clock; with an explicit now, we judge times
    options: Options = {
        "require": ["exp"] if video_id is None else ["exp", "sub"],
        "verify_exp": clock,
        "verify_nbf": clock,
        "verify_sub": video_id is not None,
        # iat, iss and jti are not HeapStream's rules
        "verify_iat": False,
        "verify_iss": False,
        "verify_jti": False,
    }
    try:
        jwt.decode(
            str(tok),
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            subject=video_id,
            leeway=leeway,
            options=options,
        )
    except jwt.InvalidSignatureError:
        raise TokenRejected(
            "bad_signature",
            "the signature does not match this public key (token signed with another key, "
            "or altered after signing)",
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        if exc.claim == "exp":
            _check_times(claims, t, leeway)
        raise _claim_rejection(exc.claim, claims, audience, video_id) from None
    except jwt.InvalidAudienceError:
        raise _claim_rejection("aud", claims, audience, video_id) from None
    except jwt.exceptions.InvalidSubjectError:
        raise _claim_rejection("sub", claims, audience, video_id) from None
    except (jwt.ExpiredSignatureError, jwt.ImmatureSignatureError, jwt.DecodeError) as exc:
        # PyJWT's verdict on exp/nbf (or a non-integer one): ours says it with the times
        _check_times(claims, t, leeway)
        immature = isinstance(exc, jwt.ImmatureSignatureError)
        raise TokenRejected("not_yet_valid" if immature else "expired") from None
    except jwt.InvalidTokenError as exc:  # anything else PyJWT refuses stays our exception
        raise TokenRejected(
            "malformed_token", f"PyJWT refused the token ({type(exc).__name__})"
        ) from None
    _check_times(claims, t, leeway)
    return claims


def signature_matches(token: str | Token, public_key: Any) -> bool:
    """Whether ``token`` is RS256-signed by ``public_key``'s private half, checked by PyJWT;
    no claim is judged (:func:`verify_token` does that).  A token whose ``alg`` is not
    RS256 does not match.  Raises :class:`InvalidToken` when it is not a compact JWT."""
    key = load_public_key(public_key)
    tok = Token(token)
    options: Options = {
        "verify_exp": False,
        "verify_nbf": False,
        "verify_aud": False,
        "verify_iat": False,
        "verify_iss": False,
        "verify_sub": False,
        "verify_jti": False,
    }
    try:
        jwt.decode(str(tok), key, algorithms=[ALGORITHM], options=options)
    except jwt.InvalidTokenError:  # a bad signature, or an alg other than RS256
        return False
    return True


def _claim_rejection(
    claim: str, claims: Mapping[str, Any], audience: str, video_id: str | None
) -> TokenRejected:
    if claim == "aud":
        return TokenRejected(
            "wrong_audience",
            f'aud is {quote_claim(claims.get("aud"))}; it must be "{audience}" '
            f'(or a list of strings holding "{audience}")',
        )
    if claim == "sub":
        return TokenRejected(
            "wrong_subject",
            f"sub is {quote_claim(claims.get('sub'))} but the resource belongs to video "
            f"{quote_claim(video_id)}",
        )
    return TokenRejected("expired", "the token has no numeric exp claim; exp is required")
