"""Tests for hs_notebook.tokens: signing keys, minting, Token, decode_token, verify_token.

Every key is generated at test time with ``cryptography``.  Tokens that exercise
verify_token's rejections are built by hand here (json + base64url + cryptography or hmac
signing, or pyjwt with explicit headers), never with ``key.mint``, so the checks do not
depend on the code under test producing its own inputs.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import math
import pickle
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hs_notebook.diagnose import diagnose
from hs_notebook.errors import (
    TOKEN_REJECTION_REASONS,
    HeapStreamError,
    InvalidArgument,
    InvalidSigningKey,
    InvalidToken,
    TokenRejected,
    UnknownCriticalHeader,
)
from hs_notebook.tokens import (
    MAX_JSON_DEPTH,
    SigningKey,
    Token,
    audience_matches,
    decode_token,
    generate_signing_key,
    verify_token,
)

KID = "key-1"
_JSON_STR = '"str"'

# ---------------------------------------------------------------------------- helpers


def b64u(data: bytes) -> str:
    """Unpadded base64url, written here rather than taken from the module under test."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def json_part(value: Any) -> str:
    raw = value.encode() if isinstance(value, str) else json.dumps(value).encode()
    return b64u(raw)


def hand_token(
    private_key: rsa.RSAPrivateKey | None,
    claims: Any,
    header: Any = None,
) -> str:
    """A compact JWT signed RS256 with ``private_key`` (``None``: empty signature).

    ``claims``/``header`` may be dicts or raw JSON text (to write NaN and friends).
    """
    header = {"alg": "RS256", "typ": "JWT", "kid": KID} if header is None else header
    signing_input = f"{json_part(header)}.{json_part(claims)}"
    if private_key is None:
        return signing_input + "."
    sig = private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64u(sig)}"


def decode_compact(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    h, c, s = str(token).split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(c)), b64u_decode(s)


def pem_of(key: Any, fmt: serialization.PrivateFormat, enc: Any = None) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc or serialization.NoEncryption())


def secret_windows(*secrets: str | bytes, width: int = 40) -> set[str]:
    """Every ``width``-character slice of each secret, whitespace removed."""
    out: set[str] = set()
    for s in secrets:
        text = s.decode() if isinstance(s, bytes) else s
        for line in text.splitlines():  # drop PEM armour lines, keep the key body
            if line.startswith("-----"):
                text = text.replace(line, "")
        compact = "".join(text.split())
        out.update(compact[i : i + width] for i in range(len(compact) - width + 1))
    return out


def assert_no_secret(text: str, windows: set[str], width: int = 40) -> None:
    compact = "".join(str(text).split())
    for i in range(len(compact) - width + 1):
        assert compact[i : i + width] not in windows, f"key material leaked into: {text[:200]!r}"


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def pkcs8_pem(rsa_key: rsa.RSAPrivateKey) -> bytes:
    return pem_of(rsa_key, serialization.PrivateFormat.PKCS8)


@pytest.fixture(scope="module")
def pkcs1_pem(rsa_key: rsa.RSAPrivateKey) -> bytes:
    return pem_of(rsa_key, serialization.PrivateFormat.TraditionalOpenSSL)


@pytest.fixture(scope="module")
def key_b64(pkcs8_pem: bytes) -> str:
    return base64.b64encode(pkcs8_pem).decode()


@pytest.fixture(scope="module")
def public_pem(rsa_key: rsa.RSAPrivateKey) -> bytes:
    return rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture(scope="module")
def skey(rsa_key: rsa.RSAPrivateKey) -> SigningKey:
    return SigningKey(KID, rsa_key)


@pytest.fixture(scope="module")
def windows(pkcs8_pem: bytes, pkcs1_pem: bytes, key_b64: str) -> set[str]:
    return secret_windows(pkcs8_pem, pkcs1_pem, key_b64)


@pytest.fixture(scope="module")
def generated() -> SigningKey:
    return generate_signing_key("gen-1")


def same_key(a: SigningKey, b: rsa.RSAPrivateKey) -> bool:
    return a.public_key.public_numbers() == b.public_key().public_numbers()


# ---------------------------------------------------------------------------- loading keys


def test_from_base64_pkcs8_and_pkcs1(
    rsa_key: rsa.RSAPrivateKey, pkcs8_pem: bytes, pkcs1_pem: bytes
) -> None:
    for pem in (pkcs8_pem, pkcs1_pem):
        b64 = base64.b64encode(pem).decode()
        for value in (b64, b64.encode()):
            key = SigningKey.from_base64(KID, value)
            assert key.key_id == KID
            assert key.key_size == 2048
            assert same_key(key, rsa_key)


def test_from_base64_tolerates_whitespace_and_newlines(
    rsa_key: rsa.RSAPrivateKey, key_b64: str
) -> None:
    wrapped = "\n".join(key_b64[i : i + 76] for i in range(0, len(key_b64), 76))
    messy = "  " + wrapped.replace("A", " A", 3) + "\r\n\t"
    assert messy != key_b64
    key = SigningKey.from_base64(KID, messy)
    assert same_key(key, rsa_key)


def test_from_pem_str_and_bytes_both_formats(
    rsa_key: rsa.RSAPrivateKey, pkcs8_pem: bytes, pkcs1_pem: bytes
) -> None:
    # (markers split so that scanners for committed keys do not flag this file)
    assert b"BEGIN " + b"PRIVATE KEY" in pkcs8_pem
    assert b"BEGIN " + b"RSA PRIVATE KEY" in pkcs1_pem
    for pem in (pkcs8_pem, pkcs1_pem):
        for value in (pem, pem.decode()):
            key = SigningKey.from_pem(KID, value)
            assert same_key(key, rsa_key)


def test_from_file_pem_and_base64(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, pkcs1_pem: bytes, key_b64: str
) -> None:
    pem_file = tmp_path / "key.pem"
    pem_file.write_bytes(pkcs1_pem)
    b64_file = tmp_path / "key.b64"
    b64_file.write_text(key_b64 + "\n")
    for path in (pem_file, str(b64_file)):
        key = SigningKey.from_file(KID, path)
        assert key.key_id == KID
        assert same_key(key, rsa_key)


def test_from_file_missing(tmp_path: Path) -> None:
    with pytest.raises(InvalidSigningKey, match="no key file") as info:
        SigningKey.from_file(KID, tmp_path / "nope.pem")
    assert "nope.pem" in str(info.value)


def test_from_env_mapping_and_os_environ(
    monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey, key_b64: str
) -> None:
    env = {"HEAPSTREAM_SIGNING_KEY_ID": "env-kid", "HEAPSTREAM_SIGNING_KEY": key_b64}
    key = SigningKey.from_env(env)
    assert key.key_id == "env-kid"
    assert same_key(key, rsa_key)

    monkeypatch.setenv("HEAPSTREAM_SIGNING_KEY_ID", "os-kid")
    monkeypatch.setenv("HEAPSTREAM_SIGNING_KEY", key_b64)
    key = SigningKey.from_env()
    assert key.key_id == "os-kid"
    assert same_key(key, rsa_key)


@pytest.mark.parametrize(
    ("env", "missing", "present"),
    [
        ({}, ["HEAPSTREAM_SIGNING_KEY_ID", "HEAPSTREAM_SIGNING_KEY"], []),
        ({"HEAPSTREAM_SIGNING_KEY_ID": "k"}, ["HEAPSTREAM_SIGNING_KEY"], ["_KEY_ID"]),
        ({"HEAPSTREAM_SIGNING_KEY": "abcd"}, ["HEAPSTREAM_SIGNING_KEY_ID"], []),
        ({"HEAPSTREAM_SIGNING_KEY_ID": "  ", "HEAPSTREAM_SIGNING_KEY": "abcd"}, ["_KEY_ID"], []),
    ],
)
def test_from_env_names_the_missing_variables(
    env: dict[str, str], missing: list[str], present: list[str]
) -> None:
    with pytest.raises(InvalidSigningKey) as info:
        SigningKey.from_env(env)
    msg = str(info.value)
    assert "not set" in msg
    for name in missing:
        assert name in msg
    for name in present:
        assert name not in msg


def test_load_accepts_pem_and_base64(
    rsa_key: rsa.RSAPrivateKey, pkcs8_pem: bytes, key_b64: str
) -> None:
    assert same_key(SigningKey.load(KID, pkcs8_pem.decode()), rsa_key)
    assert same_key(SigningKey.load(KID, key_b64), rsa_key)


def test_encrypted_pem_with_passphrase_loads(rsa_key: rsa.RSAPrivateKey) -> None:
    enc = pem_of(
        rsa_key,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    assert same_key(SigningKey.from_pem(KID, enc, password="s3cret"), rsa_key)
    with pytest.raises(InvalidSigningKey, match="wrong passphrase"):
        SigningKey.from_pem(KID, enc, password="not-it")


# ---------------------------------------------------------------------------- key errors


def test_not_base64() -> None:
    with pytest.raises(InvalidSigningKey) as info:
        SigningKey.from_base64(KID, "this is *not* base64!")
    assert "not valid base64" in str(info.value)
    assert isinstance(info.value, HeapStreamError)


def test_base64_but_not_pem() -> None:
    b64 = base64.b64encode(b"hello, I am not a key at all").decode()
    with pytest.raises(InvalidSigningKey, match="not to a PEM"):
        SigningKey.from_base64(KID, b64)


def test_empty_base64() -> None:
    with pytest.raises(InvalidSigningKey, match="empty"):
        SigningKey.from_base64(KID, " \n ")


def test_pem_given_to_from_base64_is_named(pkcs8_pem: bytes, windows: set[str]) -> None:
    with pytest.raises(InvalidSigningKey, match="already a PEM") as info:
        SigningKey.from_base64(KID, pkcs8_pem)
    assert_no_secret(str(info.value), windows)


def test_not_pem() -> None:
    with pytest.raises(InvalidSigningKey, match="not PEM"):
        SigningKey.from_pem(KID, "just some text, no armour")


def test_damaged_pem(pkcs8_pem: bytes, windows: set[str]) -> None:
    lines = pkcs8_pem.decode().splitlines()
    damaged = "\n".join(lines[:8] + lines[-1:])  # truncated body
    with pytest.raises(InvalidSigningKey, match="could not be parsed") as info:
        SigningKey.from_pem(KID, damaged)
    assert_no_secret(str(info.value), windows)


@pytest.mark.parametrize("fmt", ["pkcs8", "pkcs1"])
def test_encrypted_pem_without_passphrase(
    rsa_key: rsa.RSAPrivateKey, windows: set[str], fmt: str
) -> None:
    pf = (
        serialization.PrivateFormat.PKCS8
        if fmt == "pkcs8"
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    enc = pem_of(rsa_key, pf, serialization.BestAvailableEncryption(b"pw"))
    for load in (
        lambda: SigningKey.from_pem(KID, enc),
        lambda: SigningKey.from_base64(KID, base64.b64encode(enc)),
    ):
        with pytest.raises(InvalidSigningKey) as info:
            load()
        assert "encrypted with a passphrase" in str(info.value)
        assert_no_secret(str(info.value), windows | secret_windows(enc))


def test_password_for_unencrypted_pem_is_named(pkcs8_pem: bytes) -> None:
    with pytest.raises(InvalidSigningKey) as info:
        SigningKey.from_pem(KID, pkcs8_pem, password="pw")
    assert "not encrypted" in str(info.value)
    assert "is encrypted" not in str(info.value)


def test_ec_key_is_refused() -> None:
    pem = pem_of(ec.generate_private_key(ec.SECP256R1()), serialization.PrivateFormat.PKCS8)
    for load in (
        lambda: SigningKey.from_pem(KID, pem),
        lambda: SigningKey.from_base64(KID, base64.b64encode(pem).decode()),
    ):
        with pytest.raises(InvalidSigningKey) as info:
            load()
        msg = str(info.value)
        assert "EC (secp256r1)" in msg
        assert "RSA" in msg
        assert_no_secret(msg, secret_windows(pem))


def test_ed25519_key_is_refused() -> None:
    pem = pem_of(ed25519.Ed25519PrivateKey.generate(), serialization.PrivateFormat.PKCS8)
    with pytest.raises(InvalidSigningKey) as info:
        SigningKey.from_pem(KID, pem)
    assert "Ed25519" in str(info.value)
    assert "RSA" in str(info.value)


def test_short_rsa_key_is_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = pem_of(small, serialization.PrivateFormat.PKCS8)
    for load in (
        lambda: SigningKey.from_pem(KID, pem),
        lambda: SigningKey(KID, small),
    ):
        with pytest.raises(InvalidSigningKey) as info:
            load()
        assert "1024 bits" in str(info.value)
        assert "2048" in str(info.value)
        assert_no_secret(str(info.value), secret_windows(pem))


@pytest.mark.parametrize("fmt", ["spki", "pkcs1"])
def test_public_key_where_private_needed(rsa_key: rsa.RSAPrivateKey, fmt: str) -> None:
    pub = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo
        if fmt == "spki"
        else serialization.PublicFormat.PKCS1,
    )
    for load in (
        lambda: SigningKey.from_pem(KID, pub),
        lambda: SigningKey.from_base64(KID, base64.b64encode(pub)),
    ):
        with pytest.raises(InvalidSigningKey) as info:
            load()
        assert "public key" in str(info.value)
        assert "PRIVATE key" in str(info.value)


@pytest.mark.parametrize("kid", ["", "   ", None])
def test_empty_key_id(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, pkcs8_pem: bytes, key_b64: str, kid: Any
) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(pkcs8_pem)
    for load in (
        lambda: SigningKey.from_base64(kid, key_b64),
        lambda: SigningKey.from_pem(kid, pkcs8_pem),
        lambda: SigningKey.from_file(kid, path),
        lambda: SigningKey.load(kid, key_b64),
        lambda: SigningKey(kid, rsa_key),
    ):
        with pytest.raises(InvalidSigningKey, match="key id is empty"):
            load()


def test_key_id_with_surrounding_whitespace(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(InvalidSigningKey, match="whitespace"):
        SigningKey(" k ", rsa_key)


# ---------------------------------------------------------------------------- secrecy


def test_repr_and_str_show_id_and_size_only(skey: SigningKey, windows: set[str]) -> None:
    for text in (repr(skey), str(skey), skey._repr_html_()):
        assert KID in text
        assert "2048" in text
        assert_no_secret(text, windows)
    assert repr(skey) == "SigningKey(key_id='key-1', RSA-2048)"


def test_loaded_key_repr_leaks_nothing(key_b64: str, windows: set[str]) -> None:
    key = SigningKey.from_base64(KID, key_b64)
    assert_no_secret(repr(key) + str(key) + key._repr_html_(), windows)
    assert_no_secret(f"{key!r} {key} {[key]} { ({'k': key}) }", windows)


def test_secret_check_would_catch_a_leak(key_b64: str, windows: set[str]) -> None:
    """The leak detector itself must be able to fail."""
    with pytest.raises(AssertionError):
        assert_no_secret(f"oops {key_b64[100:141]} oops", windows)


def test_signing_key_refuses_pickling(skey: SigningKey, windows: set[str]) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError, match="not picklable") as info:
            pickle.dumps(skey, protocol=protocol)
        assert_no_secret(str(info.value), windows)
    with pytest.raises(TypeError):
        copy.deepcopy(skey)


# ---------------------------------------------------------------------------- generate


def test_generate_signing_key(generated: SigningKey) -> None:
    assert generated.key_id == "gen-1"
    assert generated.key_size == 2048
    other = generate_signing_key()
    assert other.key_id and other.key_id != generated.key_id


def test_private_key_base64_round_trips(generated: SigningKey) -> None:
    b64 = generated.private_key_base64()
    pem = base64.b64decode(b64)
    assert pem.startswith(b"-----BEGIN " + b"PRIVATE KEY-----")
    again = SigningKey.from_base64("gen-1", b64)
    assert again.public_key.public_numbers() == generated.public_key.public_numbers()
    token = again.mint("vid-rt")
    assert jwt.decode(token, generated.public_key_pem(), algorithms=["RS256"], audience="v")[
        "sub"
    ] == ("vid-rt")


def test_public_key_pem(generated: SigningKey) -> None:
    text = generated.public_key_pem()
    assert text.startswith("-----BEGIN PUBLIC KEY-----")
    loaded = serialization.load_pem_public_key(text.encode())
    assert isinstance(loaded, rsa.RSAPublicKey)
    assert loaded.public_numbers() == generated.public_key.public_numbers()
    assert "PRIVATE" not in text


# ---------------------------------------------------------------------------- mint


def test_mint_header_and_claims_exact(skey: SigningKey) -> None:
    before = int(time.time())
    token = skey.mint("vid-1")
    after = int(time.time())
    header, claims, _ = decode_compact(token)
    assert header == {"alg": "RS256", "typ": "JWT", "kid": KID}
    assert list(header) == ["alg", "typ", "kid"]
    assert set(claims) == {"sub", "aud", "exp"}
    assert claims["sub"] == "vid-1"
    assert claims["aud"] == "v"
    assert type(claims["exp"]) is int
    assert before + 3600 <= claims["exp"] <= after + 3600
    assert token.header == header
    assert token.claims == claims


def test_mint_ttl_and_nbf_relative(skey: SigningKey) -> None:
    before = int(time.time())
    token = skey.mint("vid-1", 120, not_before=-30)
    after = int(time.time())
    _, claims, _ = decode_compact(token)
    assert set(claims) == {"sub", "aud", "exp", "nbf"}
    assert type(claims["nbf"]) is int
    assert before + 120 <= claims["exp"] <= after + 120
    assert before - 30 <= claims["nbf"] <= after - 30
    token = skey.mint("vid-1", timedelta(minutes=5), not_before=timedelta(seconds=10))
    _, claims, _ = decode_compact(token)
    assert before + 300 <= claims["exp"] <= int(time.time()) + 300
    assert before + 10 <= claims["nbf"] <= int(time.time()) + 10


def test_mint_absolute_times(skey: SigningKey) -> None:
    exp = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    nbf = exp - timedelta(hours=1)
    _, claims, _ = decode_compact(skey.mint("vid-1", expires_at=exp, not_before=nbf))
    assert claims["exp"] == int(exp.timestamp())
    assert claims["nbf"] == int(nbf.timestamp())
    unix = int(time.time()) + 999
    _, claims, _ = decode_compact(skey.mint("vid-1", expires_at=unix))
    assert claims["exp"] == unix


def test_mint_audience_parameter(skey: SigningKey) -> None:
    _, claims, _ = decode_compact(skey.mint("vid-1", audience="other"))
    assert claims["aud"] == "other"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"video_id": ""}, "video_id is empty"),
        ({"video_id": "   "}, "video_id is empty"),
        ({"video_id": None}, "video_id must be a string"),
        ({"video_id": 123}, "video_id must be a string"),
        ({"ttl": 0}, "ttl must be > 0"),
        ({"ttl": -5}, "ttl must be > 0"),
        ({"ttl": math.nan}, "finite"),
        ({"ttl": math.inf}, "finite"),
        ({"ttl": "60"}, "ttl must be"),
        ({"ttl": 60, "expires_at": 2_000_000_000}, "not both"),
        ({"expires_at": 1_000}, "not in the future"),
        ({"expires_at": datetime(2099, 1, 1)}, "naive datetime"),
        ({"not_before": datetime(2000, 1, 1)}, "naive datetime"),
        ({"ttl": 60, "not_before": 60}, "must be before the expiry"),
        ({"ttl": 60, "not_before": 600}, "must be before the expiry"),
        ({"not_before": "soon"}, "not_before must be"),
        ({"audience": ""}, "audience"),
    ],
)
def test_mint_invalid_arguments(skey: SigningKey, kwargs: dict[str, Any], needle: str) -> None:
    args = {"video_id": "vid-1", **kwargs}
    with pytest.raises(InvalidArgument) as info:
        skey.mint(**args)
    assert needle in str(info.value)
    assert isinstance(info.value, HeapStreamError)


def test_minted_token_verifies_with_pyjwt(skey: SigningKey, public_pem: bytes) -> None:
    token = skey.mint("vid-py", 600, not_before=-5)
    claims = jwt.decode(token, public_pem, algorithms=["RS256"], audience="v")
    assert claims == token.claims
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": KID}
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, public_pem, algorithms=["RS256"], audience="x")


def test_minted_token_verifies_with_cryptography(
    skey: SigningKey, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = skey.mint("vid-raw")
    h, c, s = str(token).split(".")
    assert "=" not in token and "+" not in token and "/" not in token
    signature = b64u_decode(s)
    assert len(signature) == 256
    rsa_key.public_key().verify(signature, f"{h}.{c}".encode(), padding.PKCS1v15(), hashes.SHA256())
    forged = json_part({"sub": "other", "aud": "v", "exp": 2_000_000_000})
    with pytest.raises(InvalidSignature):
        rsa_key.public_key().verify(
            signature, f"{h}.{forged}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )


# ---------------------------------------------------------------------------- Token


def test_token_is_a_str_with_decoded_parts(skey: SigningKey) -> None:
    token = skey.mint("vid-t", 600, not_before=-60)
    assert isinstance(token, str)
    assert isinstance(token, Token)
    assert str(token).count(".") == 2
    assert f"?token={token}".endswith(str(token))
    assert token.video_id == "vid-t"
    assert token.key_id == KID
    exp, nbf = token.expires_at, token.not_before
    assert exp is not None and nbf is not None
    assert exp.tzinfo is not None and exp.utcoffset() == timedelta(0)
    assert nbf.tzinfo is not None
    assert exp == datetime.fromtimestamp(token.claims["exp"], UTC)
    assert nbf == datetime.fromtimestamp(token.claims["nbf"], UTC)
    assert timedelta(seconds=590) < token.remaining() <= timedelta(seconds=600)
    assert token.is_expired is False


def test_token_from_hand_built_text(rsa_key: rsa.RSAPrivateKey) -> None:
    past = int(time.time()) - 100
    text = hand_token(rsa_key, {"sub": "vid-old", "aud": "v", "exp": past})
    token = Token("  " + text + "\n")
    assert token == text
    assert token.header == {"alg": "RS256", "typ": "JWT", "kid": KID}
    assert token.claims == {"sub": "vid-old", "aud": "v", "exp": past}
    assert token.not_before is None
    assert token.is_expired is True
    assert token.remaining() < timedelta(seconds=-99)
    assert Token(token) is token
    assert Token(text.encode()) == text


def test_token_repr_html_shows_header_claims_and_human_times(skey: SigningKey) -> None:
    token = skey.mint("vid-h", 7200, not_before=-60)
    page = token._repr_html_()
    for needle in ("header", "claims", "alg", "RS256", "kid", KID, "sub", "vid-h", "exp", "nbf"):
        assert needle in page, needle
    exp_text = f"{token.expires_at:%Y-%m-%d %H:%M:%S} UTC"
    nbf_text = f"{token.not_before:%Y-%m-%d %H:%M:%S} UTC"
    assert exp_text in page
    assert nbf_text in page
    assert "in 1h 59m" in page or "in 2h 0m" in page
    assert "ago" in page  # nbf a minute ago


def test_token_repr_html_escapes(rsa_key: rsa.RSAPrivateKey) -> None:
    text = hand_token(
        rsa_key,
        {"sub": "<script>x</script>", "aud": "v", "exp": int(time.time()) + 60},
        {"alg": "RS256", "kid": "<b>k</b>"},
    )
    page = Token(text)._repr_html_()
    assert "<script>" not in page
    assert "<b>k</b>" not in page
    assert "&lt;script&gt;" in page


def test_token_repr_does_not_show_the_signature(skey: SigningKey) -> None:
    token = skey.mint("vid-r")
    text = repr(token)
    assert "vid-r" in text and KID in text and "expires in" in text
    assert str(token).split(".")[2][:20] not in text


def test_token_pickles(skey: SigningKey) -> None:
    token = skey.mint("vid-p", 600, not_before=-1)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(token, protocol=protocol))
        assert type(again) is Token
        assert again == token
        assert again.header == token.header
        assert again.claims == token.claims


# ---------------------------------------------------------------------------- mint_many


def test_mint_many(skey: SigningKey, public_pem: bytes) -> None:
    ids = [f"vid-{i}" for i in range(5)]
    out = skey.mint_many(ids, 300)
    assert list(out) == ids
    exps = {t.claims["exp"] for t in out.values()}
    assert len(exps) == 1
    for vid, token in out.items():
        assert isinstance(token, Token)
        assert jwt.decode(token, public_pem, algorithms=["RS256"], audience="v")["sub"] == vid
        assert token.header == {"alg": "RS256", "typ": "JWT", "kid": KID}


class _CountingKey(SigningKey):
    """A real SigningKey that records each signature it makes (no mock: same code path)."""

    def _sign(self, claims: dict[str, Any]) -> str:
        self.signed.append(claims)  # type: ignore[attr-defined]
        return super()._sign(claims)


def test_mint_many_validates_everything_before_signing(rsa_key: rsa.RSAPrivateKey) -> None:
    key = _CountingKey(KID, rsa_key)
    key.signed = []  # type: ignore[attr-defined]
    with pytest.raises(InvalidArgument, match="video_id is empty"):
        key.mint_many(["ok-1", "ok-2", "", "ok-3"])
    assert key.signed == []  # type: ignore[attr-defined]
    key.mint_many(["ok-1", "ok-2"])
    assert len(key.signed) == 2  # type: ignore[attr-defined]


def test_mint_many_refuses_a_single_string(skey: SigningKey) -> None:
    with pytest.raises(InvalidArgument, match="not one string"):
        skey.mint_many("vid-1")


# ---------------------------------------------------------------------------- decode_token


def test_inspect_token_without_key(rsa_key: rsa.RSAPrivateKey) -> None:
    text = hand_token(rsa_key, {"sub": "s", "aud": "v", "exp": 5}, {"alg": "RS256", "kid": "x"})
    token = decode_token(text)
    assert token.header == {"alg": "RS256", "kid": "x"}
    assert token.claims == {"sub": "s", "aud": "v", "exp": 5}
    # no key is needed, and nothing is verified: an unsigned token still decodes
    unsigned = decode_token(hand_token(None, {"sub": "s"}, {"alg": "none"}))
    assert unsigned.header == {"alg": "none"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("abc.def", "found 2"),
        ("a.b.c.d", "found 4"),
        ("", "found 1"),
        (f"ey+J.{json_part({'a': 1})}.sig", "header part is not base64url"),
        (f"{json_part({'a': 1})}.{b64u(b'not json')}.sig", "claims part is not base64url"),
        (f"{json_part('[1, 2]')}.{json_part({'a': 1})}.sig", "header part is JSON but not"),
        (f"{json_part({'a': 1})}.{json_part('[1]')}.sig", "claims part is JSON but not"),
        (f"{json_part({'a': 1})}.{json_part(_JSON_STR)}.sig", "claims part is JSON but not"),
        (f"{json_part({'a': 1})}.{json_part({'b': 2})}.a=b", "signature part is not"),
    ],
)
def test_inspect_token_garbage(text: str, needle: str) -> None:
    with pytest.raises(InvalidToken) as info:
        decode_token(text)
    assert needle in str(info.value)
    assert isinstance(info.value, HeapStreamError)


def test_inspect_token_non_string() -> None:
    with pytest.raises(InvalidToken, match="must be a string"):
        decode_token(12345)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- verify_token


def good_claims(**over: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": "vid-1", "aud": "v", "exp": int(time.time()) + 600}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def rejected(token: str, key: Any, **kwargs: Any) -> TokenRejected:
    with pytest.raises(TokenRejected) as info:
        verify_token(token, key, **kwargs)
    exc = info.value
    assert exc.reason in TOKEN_REJECTION_REASONS
    assert exc.reason in str(exc)
    assert isinstance(exc, HeapStreamError)
    return exc


def test_verify_accepts_a_good_hand_built_token(
    rsa_key: rsa.RSAPrivateKey, public_pem: bytes, skey: SigningKey
) -> None:
    claims = good_claims(nbf=int(time.time()) - 5)
    text = hand_token(rsa_key, claims)
    for key in (public_pem, public_pem.decode(), rsa_key.public_key(), skey):
        assert verify_token(text, key, video_id="vid-1") == claims
    assert verify_token(hand_token(rsa_key, good_claims(aud=["x", "v"])), public_pem)["aud"] == [
        "x",
        "v",
    ]


def test_verify_accepts_pyjwt_encoded_token(pkcs8_pem: bytes, public_pem: bytes) -> None:
    text = jwt.encode(good_claims(), pkcs8_pem, algorithm="RS256", headers={"kid": KID})
    assert verify_token(text, public_pem, video_id="vid-1")["sub"] == "vid-1"


@pytest.mark.parametrize("text", ["garbage", "a.b", "a.b.c", "", "x" * 50])
def test_verify_malformed(public_pem: bytes, text: str) -> None:
    assert rejected(text, public_pem).reason == "malformed_token"


def test_verify_alg_none(public_pem: bytes) -> None:
    text = hand_token(None, good_claims(), {"alg": "none", "typ": "JWT", "kid": KID})
    exc = rejected(text, public_pem)
    assert exc.reason == "alg_not_allowed"
    assert "'none'" in exc.detail


def test_verify_hs256_signed_with_the_public_key_as_secret(public_pem: bytes) -> None:
    """The classic key-confusion attack: HMAC with the public PEM as the shared secret."""
    signing_input = (
        f"{json_part({'alg': 'HS256', 'typ': 'JWT', 'kid': KID})}.{json_part(good_claims())}"
    )
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    text = f"{signing_input}.{b64u(mac)}"
    exc = rejected(text, public_pem)
    assert exc.reason == "alg_not_allowed"
    assert "HS256" in exc.detail


def test_verify_signed_by_another_key(other_rsa_key: rsa.RSAPrivateKey, public_pem: bytes) -> None:
    text = hand_token(other_rsa_key, good_claims())
    assert rejected(text, public_pem).reason == "bad_signature"


def test_verify_tampered_payload(rsa_key: rsa.RSAPrivateKey, public_pem: bytes) -> None:
    h, _, s = hand_token(rsa_key, good_claims()).split(".")
    forged = f"{h}.{json_part(good_claims(sub='vid-2'))}.{s}"
    assert rejected(forged, public_pem, video_id="vid-2").reason == "bad_signature"
    truncated = f"{h}.{json_part(good_claims())}.{s[:-4]}"
    assert rejected(truncated, public_pem).reason == "bad_signature"


@pytest.mark.parametrize("aud", ["x", "V", None, ["x"], 1])
def test_verify_wrong_audience(rsa_key: rsa.RSAPrivateKey, public_pem: bytes, aud: Any) -> None:
    claims = good_claims()
    claims.pop("aud")
    if aud is not None:
        claims["aud"] = aud
    exc = rejected(hand_token(rsa_key, claims), public_pem)
    assert exc.reason == "wrong_audience"
    assert '"v"' in exc.detail


def test_verify_wrong_subject(pkcs8_pem: bytes, public_pem: bytes) -> None:
    text = jwt.encode(good_claims(), pkcs8_pem, algorithm="RS256", headers={"kid": KID})
    exc = rejected(text, public_pem, video_id="vid-other")
    assert exc.reason == "wrong_subject"
    assert "vid-1" in exc.detail and "vid-other" in exc.detail


@pytest.mark.parametrize(
    "claims_json",
    [
        '{"sub": "vid-1", "aud": "v"}',
        '{"sub": "vid-1", "aud": "v", "exp": "2999999999"}',
        '{"sub": "vid-1", "aud": "v", "exp": null}',
        '{"sub": "vid-1", "aud": "v", "exp": true}',
        '{"sub": "vid-1", "aud": "v", "exp": NaN}',
        '{"sub": "vid-1", "aud": "v", "exp": Infinity}',
        '{"sub": "vid-1", "aud": "v", "exp": 1e400}',
    ],
)
def test_verify_missing_or_non_numeric_exp(
    rsa_key: rsa.RSAPrivateKey, public_pem: bytes, claims_json: str
) -> None:
    exc = rejected(hand_token(rsa_key, claims_json), public_pem)
    assert exc.reason == "expired"
    assert "exp" in exc.detail


def test_verify_expired(rsa_key: rsa.RSAPrivateKey, public_pem: bytes) -> None:
    t = 1_800_000_000
    exc = rejected(hand_token(rsa_key, good_claims(exp=t - 3600)), public_pem, now=t)
    assert exc.reason == "expired"
    assert "2027-01-15 07:00:00 UTC" in exc.detail  # exp
    assert "2027-01-15 08:00:00 UTC" in exc.detail  # now


def test_verify_expired_far_in_the_past_is_still_a_rejection(
    rsa_key: rsa.RSAPrivateKey, public_pem: bytes
) -> None:
    exc = rejected(hand_token(rsa_key, good_claims(exp=-(10**20))), public_pem)
    assert exc.reason == "expired"


def test_verify_not_yet_valid(rsa_key: rsa.RSAPrivateKey, public_pem: bytes) -> None:
    t = 1_800_000_000
    text = hand_token(rsa_key, good_claims(exp=t + 7200, nbf=t + 3600))
    exc = rejected(text, public_pem, now=t)
    assert exc.reason == "not_yet_valid"
    assert "2027-01-15 09:00:00 UTC" in exc.detail
    # nbf in milliseconds: a rejection, not a crash while formatting the date
    text = hand_token(rsa_key, good_claims(nbf=int(time.time() * 1000)))
    assert rejected(text, public_pem).reason == "not_yet_valid"
    text = hand_token(rsa_key, '{"sub": "vid-1", "aud": "v", "exp": 4000000000, "nbf": "x"}')
    assert rejected(text, public_pem).reason == "not_yet_valid"


def test_verify_leeway_boundaries_fixed_clock(
    rsa_key: rsa.RSAPrivateKey, public_pem: bytes
) -> None:
    t = 1_800_000_000
    assert verify_token(hand_token(rsa_key, good_claims(exp=t - 20)), public_pem, now=t)
    assert rejected(hand_token(rsa_key, good_claims(exp=t - 40)), public_pem, now=t)
    assert verify_token(hand_token(rsa_key, good_claims(exp=t - 30)), public_pem, now=t)
    assert rejected(hand_token(rsa_key, good_claims(exp=t - 31)), public_pem, now=t)
    exp = t + 3600
    assert verify_token(hand_token(rsa_key, good_claims(exp=exp, nbf=t + 20)), public_pem, now=t)
    exc = rejected(hand_token(rsa_key, good_claims(exp=exp, nbf=t + 40)), public_pem, now=t)
    assert exc.reason == "not_yet_valid"
    # leeway=0 is strict; a larger leeway forgives more
    text = hand_token(rsa_key, good_claims(exp=t - 1))
    assert rejected(text, public_pem, now=t, leeway=0).reason == "expired"
    assert verify_token(
        hand_token(rsa_key, good_claims(exp=t - 100)), public_pem, now=t, leeway=120
    )
    when = datetime.fromtimestamp(t, UTC)
    assert verify_token(hand_token(rsa_key, good_claims(exp=t - 20)), public_pem, now=when)


def test_verify_leeway_boundaries_real_clock(rsa_key: rsa.RSAPrivateKey, public_pem: bytes) -> None:
    """The same boundaries against the real clock (10 s of slack either side)."""
    now = int(time.time())
    assert verify_token(hand_token(rsa_key, good_claims(exp=now - 20)), public_pem, leeway=30)
    exc = rejected(hand_token(rsa_key, good_claims(exp=now - 40)), public_pem, leeway=30)
    assert exc.reason == "expired"


def test_verify_bad_public_key() -> None:
    with pytest.raises(InvalidSigningKey):
        verify_token("a.b.c", "not a key")
    with pytest.raises(InvalidSigningKey):
        verify_token("a.b.c", 42)


def test_a_pem_pasted_on_one_line_still_loads() -> None:
    """Browsers and some terminals turn a pasted PEM's line breaks into spaces."""
    key = generate_signing_key("one-line")
    pem = key.private_key_pem()
    for mangled in (" ".join(pem.splitlines()), pem.replace("\n", "")):
        again = SigningKey.load("one-line", mangled)
        assert again.public_key_pem() == key.public_key_pem()
    # a damaged one-line PEM is still a clear InvalidSigningKey, not a crash
    with pytest.raises(InvalidSigningKey, match="could not be parsed"):
        SigningKey.load("one-line", " ".join(pem.splitlines())[:-60] + " -----END PRIVATE KEY-----")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ttl": 1e20}, "beyond the year 9999"),
        ({"expires_at": 1e300}, "beyond the year 9999"),
        ({"expires_at": 1_795_980_959_000}, "milliseconds"),
    ],
)
def test_absurd_lifetimes_are_refused(kwargs: dict, message: str) -> None:
    key = generate_signing_key("far")
    with pytest.raises(InvalidArgument, match=message):
        key.mint("v", **kwargs)


def test_verify_refuses_a_token_that_never_expires(rsa_key: rsa.RSAPrivateKey) -> None:
    token = hand_token(rsa_key, {"sub": "v", "aud": "v", "exp": 1e300})
    with pytest.raises(TokenRejected) as info:
        verify_token(token, rsa_key.public_key())
    assert info.value.reason == "malformed_token" and "never expire" in str(info.value)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: SigningKey.from_pem("k", None), "must be text"),
        (lambda: SigningKey.from_base64("k", None), "must be text"),
        (lambda: SigningKey.load("k", 42), "must be text"),
        (lambda: SigningKey.from_pem(5, "x"), "must be a string"),
    ],
)
def test_wrong_types_for_keys_are_invalid_signing_key(call: Any, message: str) -> None:
    with pytest.raises(InvalidSigningKey, match=message):
        call()


def test_mint_many_of_none_is_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match="list of video ids"):
        generate_signing_key("m").mint_many(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- hostile input
# (issue 10) Whatever a token's JSON holds, decode_token, verify_token and diagnose answer
# with our exceptions (never RecursionError/OverflowError), the sandbox with 403 (never 500),
# and no message quotes the token.


def _deep(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def _claims_json(exp: Any = None, **extra: str) -> str:
    """Claims as JSON text with raw (unchecked) values spliced in."""
    fields = {"sub": '"vid-1"', "aud": '"v"', "exp": str(int(time.time()) + 600)}
    if exp is not None:
        fields["exp"] = exp
    fields.update(extra)
    return "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}"


_HEADER = json.dumps({"alg": "RS256", "typ": "JWT", "kid": KID})
#: (header JSON, claims JSON) that are not tokens at all: refused as malformed_token.
UNDECODABLE = {
    "claims nested 100,000 deep": (_HEADER, _claims_json(x=_deep(100_000))),
    "header nested 100,000 deep": (
        _HEADER[:-1] + ',"x":' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "}",
        _claims_json(),
    ),
    "claims nested 900 deep": (_HEADER, _claims_json(x=_deep(900))),
    "aud nested 33 deep": (_HEADER, _claims_json(aud=_deep(32, '"v"'))),
    "a 5,000-digit exp": (_HEADER, _claims_json(exp="9" * 5000)),
    "a non-string kid": ('{"alg":"RS256","kid":5}', _claims_json()),
}


def _refusal_texts(text: str, key: Any) -> list[str]:
    """Every message decode_token, verify_token and diagnose give for ``text``."""
    out = []
    with pytest.raises(InvalidToken) as bad:
        decode_token(text)
    out.append(str(bad.value))
    out.append(rejected(text, key, video_id="vid-1").detail)
    out.extend(f.message for f in diagnose(text, public_key=key))
    return out


@pytest.mark.parametrize("case", list(UNDECODABLE))
def test_hostile_json_is_an_invalid_token_everywhere(
    case: str, rsa_key: rsa.RSAPrivateKey, public_pem: bytes
) -> None:
    header, claims = UNDECODABLE[case]
    text = hand_token(rsa_key, claims, header)
    assert rejected(text, public_pem).reason == "malformed_token"
    assert diagnose(text, public_key=public_pem).codes == ["malformed_token"]
    messages = _refusal_texts(text, public_pem)
    assert any("deeper than 32" in m for m in messages) == ("nested" in case)
    for message in messages:
        assert text not in message and text.rsplit(".", 1)[1][:16] not in message
        assert len(message) < 400


def test_nesting_up_to_the_limit_still_decodes(rsa_key: rsa.RSAPrivateKey) -> None:
    assert MAX_JSON_DEPTH == 32
    text = hand_token(rsa_key, _claims_json(x=_deep(31)))  # the claims object is level 1
    assert decode_token(text).claims["sub"] == "vid-1"
    over = hand_token(rsa_key, _claims_json(x=_deep(32)))
    with pytest.raises(InvalidToken, match="deeper than 32"):
        decode_token(over)


# (claims JSON, verify_token's reason or None, diagnose's error codes): values that decode
# but are not what HeapStream means; they are judged, not crashed on.  Duplicate names:
# the last one wins (RFC 7515 §4 and RFC 7519 §4 allow a parser that keeps the lexically
# last member, which is what PyJWT's json does), the same in all three.
_FAR = "9" * 400  # an int far beyond a float
JUDGED = {
    "exp NaN": (_claims_json(exp="NaN"), "expired", ["exp_missing"]),
    "exp -Infinity": (_claims_json(exp="-Infinity"), "expired", ["exp_missing"]),
    "exp 1e400": (_claims_json(exp="1e400"), "expired", ["exp_missing"]),
    "exp a 400-digit int": (_claims_json(exp=_FAR), "malformed_token", ["exp_implausible"]),
    "exp minus a 400-digit int": (_claims_json(exp="-" + _FAR), "expired", ["expired"]),
    "nbf a 400-digit int": (_claims_json(nbf=_FAR), "not_yet_valid", ["not_yet_valid"]),
    "nbf NaN": (_claims_json(nbf="NaN"), "not_yet_valid", ["not_yet_valid"]),
    "aud NaN": (_claims_json(aud="NaN"), "wrong_audience", ["wrong_audience"]),
    "sub a lone surrogate": (_claims_json(sub='"\\ud800"'), "wrong_subject", []),
    "sub twice, the last right": ('{"sub":"vid-2","sub":"vid-1","aud":"v","exp":4e9}', None, []),
    "sub twice, the last wrong": (
        '{"sub":"vid-1","sub":"vid-2","aud":"v","exp":4e9}',
        "wrong_subject",
        [],
    ),
    "aud twice, the last wrong": (
        '{"sub":"vid-1","aud":"v","aud":"x","exp":4e9}',
        "wrong_audience",
        ["wrong_audience"],
    ),
}


@pytest.mark.parametrize("case", list(JUDGED))
def test_hostile_values_are_judged_not_crashed_on(
    case: str, rsa_key: rsa.RSAPrivateKey, public_pem: bytes
) -> None:
    claims, reason, errors = JUDGED[case]
    text = hand_token(rsa_key, claims)
    token = decode_token(text)  # decodes: nothing structural is wrong
    assert repr(token) and token._repr_html_()  # and renders
    if reason is None:
        assert verify_token(text, public_pem, video_id="vid-1")["sub"] == "vid-1"
    else:
        exc = rejected(text, public_pem, video_id="vid-1")
        assert exc.reason == reason
        assert text not in str(exc) and len(str(exc)) < 400
    found = diagnose(text, public_key=public_pem)
    assert [f.code for f in found if f.severity == "error"] == errors
    assert all(text not in f.message and len(f.message) < 400 for f in found)


def test_leeway_and_now_are_checked(rsa_key: rsa.RSAPrivateKey, public_pem: bytes) -> None:
    text = hand_token(rsa_key, good_claims())
    for leeway in (math.nan, -1, math.inf, "30"):
        with pytest.raises(InvalidArgument, match="leeway"):
            verify_token(text, public_pem, leeway=leeway)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="leeway"):
            diagnose(text, leeway=leeway)  # type: ignore[arg-type]
    for now in (math.nan, "now", math.inf):
        with pytest.raises(InvalidArgument, match="now"):
            verify_token(text, public_pem, now=now)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument, match="now"):
            diagnose(text, now=now)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- crit
# RFC 7515 §4.1.11: a recipient must refuse a JWS whose crit lists an extension it does not
# understand.  HeapStream tokens use none, so any crit (and RFC 7797's b64) is refused.

CRIT_HEADERS = {
    "crit names a claim": {"crit": ["exp"], "exp": 1},
    "crit names an unknown extension": {
        "crit": ["http://example.com/x"],
        "http://example.com/x": 1,
    },
    "crit names b64 (understood by PyJWT, not by us)": {"crit": ["b64"], "b64": True},
    "crit with b64 false": {"crit": ["b64"], "b64": False},
    "b64 false without crit": {"b64": False},
    "crit empty": {"crit": []},
    "crit not a list": {"crit": "exp"},
    "crit names a missing parameter": {"crit": ["zip2"]},
}


@pytest.mark.parametrize("case", list(CRIT_HEADERS))
def test_crit_is_refused(case: str, rsa_key: rsa.RSAPrivateKey, public_pem: bytes) -> None:
    header = {"alg": "RS256", "typ": "JWT", "kid": KID, **CRIT_HEADERS[case]}
    text = hand_token(rsa_key, good_claims(), header)
    with pytest.raises(UnknownCriticalHeader) as info:
        decode_token(text)
    assert isinstance(info.value, InvalidToken) and "RFC 7515" in str(info.value)
    exc = rejected(text, public_pem, video_id="vid-1")
    assert exc.reason == "crit_not_understood"
    assert "crit" in exc.detail
    found = diagnose(text, public_key=public_pem)
    assert found.codes == ["crit_not_understood"] and not found.ok
    assert text not in str(exc) and text not in found[0].message


# ---------------------------------------------------------------------------- aud as a list
# RFC 7519 §4.1.3 lets aud be an array.  The lead's decision: a list of strings holding "v"
# is accepted (as PyJWT does); anything else is wrong_audience, in verify_token, diagnose
# and the sandbox alike.

AUDIENCES: list[tuple[Any, bool]] = [
    ("v", True),
    (["v"], True),
    (["x", "v"], True),
    (["v", "v"], True),
    (["x"], False),
    ([], False),
    ("", False),
    (["v", 1], False),
    ([["v"]], False),
    ({"v": 1}, False),
    ("V", False),
    ("v ", False),
    (1, False),
    (None, False),
]


@pytest.mark.parametrize(("aud", "ok"), AUDIENCES)
def test_aud_rule_is_one_rule(
    aud: Any, ok: bool, rsa_key: rsa.RSAPrivateKey, public_pem: bytes
) -> None:
    text = hand_token(rsa_key, good_claims(aud=aud))
    assert audience_matches(aud) is ok
    if ok:
        assert verify_token(text, public_pem, video_id="vid-1")["aud"] == aud
    else:
        exc = rejected(text, public_pem, video_id="vid-1")
        assert exc.reason == "wrong_audience" and '"v"' in exc.detail
    assert ("wrong_audience" in diagnose(text, public_key=public_pem).codes) is not ok


# ---------------------------------------------------------------------------- the sandbox agrees


@pytest.fixture(scope="module")
def sandbox_private(sandbox: Any) -> rsa.RSAPrivateKey:
    pem = sandbox.signing_key.private_key_pem().encode()
    return serialization.load_pem_private_key(pem, password=None)  # type: ignore[return-value]


def _sandbox_answer(sandbox: Any, http: Any, text: str) -> tuple[int, str | None]:
    got = http.get(sandbox.url("master", sandbox.video_id, text))
    assert got.status_code in (200, 403), got.text[:200]
    if got.status_code == 200:
        return 200, None
    assert text not in got.text  # a refusal never echoes the token
    return 403, got.json()["reason"]


def _sandbox_token(sandbox: Any, key: rsa.RSAPrivateKey, claims: Any, **header: Any) -> str:
    return hand_token(key, claims, {"alg": "RS256", "kid": sandbox.signing_key.key_id, **header})


#: hostile JSON that fits in a URL the server reads (uvicorn takes request lines < 16 KiB);
#: 5,000 levels is still five times Python's recursion limit.
SANDBOX_UNDECODABLE = {
    "claims nested 5,000 deep": (_HEADER, _claims_json(x=_deep(5000))),
    "header nested 5,000 deep": (_HEADER[:-1] + ',"x":' + _deep(5000) + "}", _claims_json()),
    "claims nested 900 deep": UNDECODABLE["claims nested 900 deep"],
    "aud nested 33 deep": UNDECODABLE["aud nested 33 deep"],
    "a 5,000-digit exp": UNDECODABLE["a 5,000-digit exp"],
    "a non-string kid": UNDECODABLE["a non-string kid"],
}


@pytest.mark.slow  # the sandbox generates its media first (about 10 s alone)
@pytest.mark.parametrize("case", list(SANDBOX_UNDECODABLE))
def test_sandbox_answers_hostile_json_403_malformed(
    case: str, sandbox: Any, http: Any, sandbox_private: rsa.RSAPrivateKey
) -> None:
    header, claims = SANDBOX_UNDECODABLE[case]
    header = header.replace(KID, sandbox.signing_key.key_id)
    claims = claims.replace('"vid-1"', f'"{sandbox.video_id}"')
    text = hand_token(sandbox_private, claims, header)
    assert _sandbox_answer(sandbox, http, text) == (403, "malformed_token")


@pytest.mark.slow  # the sandbox generates its media first (about 10 s alone)
def test_sandbox_refuses_crit(sandbox: Any, http: Any, sandbox_private: rsa.RSAPrivateKey) -> None:
    claims = good_claims(sub=sandbox.video_id)
    for extra in CRIT_HEADERS.values():
        text = _sandbox_token(sandbox, sandbox_private, claims, **extra)
        assert _sandbox_answer(sandbox, http, text) == (403, "crit_not_understood"), extra
    assert _sandbox_answer(sandbox, http, _sandbox_token(sandbox, sandbox_private, claims)) == (
        200,
        None,
    )


@pytest.mark.slow  # the sandbox generates its media first (about 10 s alone)
def test_sandbox_verify_token_and_diagnose_agree_on_aud_and_hostile_values(
    sandbox: Any, http: Any, sandbox_private: rsa.RSAPrivateKey
) -> None:
    key = sandbox.signing_key
    vid = sandbox.video_id
    texts = [
        _sandbox_token(sandbox, sandbox_private, good_claims(sub=vid, aud=a)) for a, _ in AUDIENCES
    ]
    texts += [
        _sandbox_token(sandbox, sandbox_private, claims.replace('"vid-1"', f'"{vid}"'))
        for claims, _, _ in JUDGED.values()
    ]
    for text in texts:
        try:
            verify_token(text, key, video_id=vid)
            expected: tuple[int, str | None] = (200, None)
        except TokenRejected as exc:
            expected = (403, exc.reason)
        assert _sandbox_answer(sandbox, http, text) == expected
        errors = [f.code for f in diagnose(text, public_key=key) if f.severity == "error"]
        if expected[1] in ("wrong_audience", "expired", "not_yet_valid"):
            assert errors, text  # diagnose names a problem too
        if expected == (200, None):
            assert errors == []


# ---------------------------------------------------------------------------- properties

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_claim_maps = st.dictionaries(
    st.sampled_from(["sub", "aud", "exp", "nbf", "kid", "iat", "x"]), _json_values, max_size=6
)
_header_maps = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS256", "none", "HS256"]) | _json_values},
    optional={
        "kid": st.text(max_size=10) | _json_values,
        "crit": _json_values,
        "typ": _json_values,
    },
)


def _all_messages(text: str, key: Any) -> list[str]:
    """decode_token, verify_token and diagnose on ``text``: every message they produce.
    Anything but a return or one of our exceptions fails the test."""
    out: list[str] = []
    try:
        out.append(repr(decode_token(text)))
    except HeapStreamError as exc:
        out.append(str(exc))
    try:
        verify_token(text, key, video_id="vid-1")
    except HeapStreamError as exc:
        out.append(str(exc))
    found = diagnose(text, public_key=key)
    out += [repr(found), found._repr_html_()]
    return out


@pytest.mark.slow  # many RSA signatures and decodes
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=_header_maps, claims=_claim_maps)
def test_property_any_json_gives_our_answers_without_quoting_the_token(
    header: dict[str, Any],
    claims: dict[str, Any],
    rsa_key: rsa.RSAPrivateKey,
    skey: SigningKey,
    windows: set[str],
) -> None:
    text = hand_token(rsa_key, claims, header)
    for message in _all_messages(text, skey):
        assert text not in message
        assert text.rsplit(".", 1)[1][:24] not in message  # not even the signature
        assert_no_secret(message, windows)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_mutated_tokens_give_our_answers_without_quoting_the_token(
    data: st.DataObject, skey: SigningKey, windows: set[str]
) -> None:
    text = str(skey.mint("vid-1", 600))
    pos = data.draw(st.integers(0, len(text) - 1))
    how = data.draw(st.sampled_from(["flip", "cut", "dup", "insert"]))
    if how == "flip":
        text = text[:pos] + data.draw(st.characters(max_codepoint=0x10FFFF)) + text[pos + 1 :]
    elif how == "cut":
        text = text[:pos]
    elif how == "dup":
        text = text[:pos] + text[pos:] * 2
    else:
        text = text[:pos] + data.draw(st.text(max_size=8)) + text[pos:]
    for message in _all_messages(text, skey):
        if len(text) >= 24:
            assert text not in message
        assert_no_secret(message, windows)
