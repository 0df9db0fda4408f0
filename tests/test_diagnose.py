"""Tests for hs_notebook.diagnose: one finding at a time, each from a token built by hand
(json + base64url + cryptography signing), and an empty diagnosis for a good token.

The clock is pinned with ``now=`` wherever a message's times are compared exactly.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from hs_notebook.diagnose import TOKEN_FINDING_CODES, Diagnosis, TokenFinding, diagnose
from hs_notebook.errors import (
    TOKEN_REJECTION_REASONS,
    InvalidSigningKey,
    InvalidToken,
    UnknownCriticalHeader,
)
from hs_notebook.tokens import SigningKey
from hs_notebook.urls import HeapStream

KID = "diag-key"
VID = "vid-diag"
T = 1_800_000_000  # 2027-01-15 08:00:00 UTC, the pinned "now"
HS = HeapStream(7)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def part(value: Any) -> str:
    return b64u(value.encode() if isinstance(value, str) else json.dumps(value).encode())


def hand_token(key: rsa.RSAPrivateKey, claims: Any, header: Any = None) -> str:
    header = {"alg": "RS256", "typ": "JWT", "kid": KID} if header is None else header
    signing_input = f"{part(header)}.{part(claims)}"
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64u(sig)}"


def claims(**over: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"sub": VID, "aud": "v", "exp": T + 3600}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def public_pem(rsa_key: rsa.RSAPrivateKey) -> str:
    return (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def codes(d: Diagnosis) -> list[str]:
    assert isinstance(d, Diagnosis)
    assert all(isinstance(f, TokenFinding) for f in d)
    assert all(f.code in TOKEN_FINDING_CODES for f in d)
    assert all(f.severity in ("error", "warning") for f in d)
    return d.codes


def only(d: Diagnosis, code: str) -> TokenFinding:
    assert codes(d) == [code], list(d)
    return d[0]


# ---------------------------------------------------------------------------- clean


def test_good_hand_built_token_url_and_key_is_empty(
    rsa_key: rsa.RSAPrivateKey, public_pem: str
) -> None:
    token = hand_token(rsa_key, claims(nbf=T - 60))
    for url in (
        HS.embed_url(VID, token),
        HS.master_playlist_url(VID, token),
        HS.original_url(VID, token),
        HS.preset_playlist_url("preset-1", token),
    ):
        d = diagnose(token, url=url, public_key=public_pem, now=T)
        assert d == []
        assert d.ok
        assert "no problems" in repr(d)
        assert "no problems" in d._repr_html_()


def test_good_minted_token_is_empty(rsa_key: rsa.RSAPrivateKey) -> None:
    key = SigningKey(KID, rsa_key)
    token = key.mint(VID, 600)
    d = diagnose(token, url=HS.embed_url(VID, token), public_key=key)
    assert d == []
    assert diagnose(str(token), url=HS.embed_url(VID, token), public_key=key.public_key) == []


# ---------------------------------------------------------------------------- header


@pytest.mark.parametrize("alg", ["HS256", "none", "RS512", None])
def test_alg_not_rs256(rsa_key: rsa.RSAPrivateKey, public_pem: str, alg: str | None) -> None:
    header = {"typ": "JWT", "kid": KID}
    if alg is not None:
        header["alg"] = alg
    token = hand_token(rsa_key, claims(), header)
    f = only(diagnose(token, public_key=public_pem, now=T), "alg_not_allowed")
    assert f.severity == "error"
    assert repr(alg) in f.message and "RS256" in f.message


def test_kid_missing(rsa_key: rsa.RSAPrivateKey) -> None:
    for header in ({"alg": "RS256", "typ": "JWT"}, {"alg": "RS256", "kid": ""}):
        f = only(diagnose(hand_token(rsa_key, claims(), header), now=T), "kid_missing")
        assert f.severity == "error"
        assert "kid" in f.message


def test_kid_in_claims_like_the_go_example(rsa_key: rsa.RSAPrivateKey) -> None:
    token = hand_token(rsa_key, claims(kid="key-from-go"), {"alg": "RS256", "typ": "JWT"})
    f = only(diagnose(token, now=T), "kid_in_claims")
    assert f.severity == "error"
    assert "'key-from-go'" in f.message
    assert "header" in f.message


# ---------------------------------------------------------------------------- claims


@pytest.mark.parametrize("aud", ["video", "V", ["x"], None])
def test_aud_not_v(rsa_key: rsa.RSAPrivateKey, aud: Any) -> None:
    c = claims()
    c.pop("aud")
    if aud is not None:
        c["aud"] = aud
    f = only(diagnose(hand_token(rsa_key, c), now=T), "wrong_audience")
    assert repr(aud) in f.message
    assert '"v"' in f.message


def test_aud_list_with_v_is_fine(rsa_key: rsa.RSAPrivateKey) -> None:
    assert diagnose(hand_token(rsa_key, claims(aud=["v", "x"])), now=T) == []


@pytest.mark.parametrize("method", ["embed_url", "master_playlist_url", "original_url"])
def test_sub_not_the_video_in_the_url(rsa_key: rsa.RSAPrivateKey, method: str) -> None:
    token = hand_token(rsa_key, claims(sub="vid-other"))
    url = getattr(HS, method)(VID, token)
    f = only(diagnose(token, url=url, now=T), "wrong_subject")
    assert f.severity == "error"
    assert "'vid-other'" in f.message and f"'{VID}'" in f.message


def test_sub_not_checked_where_the_path_id_is_not_a_video(rsa_key: rsa.RSAPrivateKey) -> None:
    token = hand_token(rsa_key, claims(sub="vid-other"))
    for url in (
        HS.preset_playlist_url("preset-1", token),
        HS.poster_url("poster-1", token),
        HS.storyboard_url(3, token),
    ):
        assert diagnose(token, url=url, now=T) == []
    assert diagnose(token, now=T) == []  # no URL, nothing to compare with


def test_sub_missing(rsa_key: rsa.RSAPrivateKey) -> None:
    c = claims()
    c.pop("sub")
    only(diagnose(hand_token(rsa_key, c), now=T), "sub_missing")


def test_url_with_another_token(rsa_key: rsa.RSAPrivateKey) -> None:
    token = hand_token(rsa_key, claims())
    other = hand_token(rsa_key, claims(exp=T + 60))
    f = only(diagnose(token, url=HS.embed_url(VID, other), now=T), "token_mismatch")
    assert f.severity == "warning"


# ---------------------------------------------------------------------------- times


def test_expired_message_has_both_times(rsa_key: rsa.RSAPrivateKey) -> None:
    token = hand_token(rsa_key, claims(exp=T - 7200))
    f = only(diagnose(token, now=T), "expired")
    assert f.severity == "error"
    assert "2027-01-15 06:00:00 UTC" in f.message  # exp
    assert "2027-01-15 08:00:00 UTC" in f.message  # now
    assert "2:00:00 ago" in f.message


def test_not_yet_valid_message_has_both_times(rsa_key: rsa.RSAPrivateKey) -> None:
    token = hand_token(rsa_key, claims(nbf=T + 1800))
    f = only(diagnose(token, now=T), "not_yet_valid")
    assert "2027-01-15 08:30:00 UTC" in f.message  # nbf
    assert "2027-01-15 08:00:00 UTC" in f.message  # now


def test_leeway_applies(rsa_key: rsa.RSAPrivateKey) -> None:
    assert diagnose(hand_token(rsa_key, claims(exp=T - 20)), now=T) == []
    assert codes(diagnose(hand_token(rsa_key, claims(exp=T - 40)), now=T)) == ["expired"]
    assert diagnose(hand_token(rsa_key, claims(nbf=T + 20)), now=T) == []
    assert codes(diagnose(hand_token(rsa_key, claims(nbf=T + 40)), now=T)) == ["not_yet_valid"]


def test_real_clock_expired(rsa_key: rsa.RSAPrivateKey) -> None:
    token = hand_token(rsa_key, claims(exp=int(time.time()) - 3600))
    assert codes(diagnose(token)) == ["expired"]


def test_exp_in_milliseconds(rsa_key: rsa.RSAPrivateKey) -> None:
    token = hand_token(rsa_key, claims(exp=(T + 3600) * 1000))
    f = only(diagnose(token, now=T), "exp_implausible")
    assert "milliseconds" in f.message
    assert str((T + 3600) * 1000) in f.message


def test_exp_more_than_a_year_away(rsa_key: rsa.RSAPrivateKey) -> None:
    far = hand_token(rsa_key, claims(exp=T + 400 * 86400))
    f = only(diagnose(far, now=T), "exp_implausible")
    assert f.severity == "warning"
    assert "year" in f.message
    d = diagnose(far, now=T)
    assert d.ok  # a warning alone does not make it fail
    assert diagnose(hand_token(rsa_key, claims(exp=T + 300 * 86400)), now=T) == []


@pytest.mark.parametrize(
    "claims_json",
    [
        f'{{"sub": "{VID}", "aud": "v"}}',
        f'{{"sub": "{VID}", "aud": "v", "exp": "{T + 60}"}}',
        f'{{"sub": "{VID}", "aud": "v", "exp": NaN}}',
        f'{{"sub": "{VID}", "aud": "v", "exp": 1e400}}',
    ],
)
def test_exp_missing_or_not_a_number(rsa_key: rsa.RSAPrivateKey, claims_json: str) -> None:
    only(diagnose(hand_token(rsa_key, claims_json), now=T), "exp_missing")


def test_absurd_past_exp_does_not_crash(rsa_key: rsa.RSAPrivateKey) -> None:
    f = only(diagnose(hand_token(rsa_key, claims(exp=-(10**20))), now=T), "expired")
    assert "not a valid time" in f.message


# ---------------------------------------------------------------------------- signature


def test_signature_not_matching_the_public_key(
    rsa_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey, public_pem: str
) -> None:
    token = hand_token(other_key, claims())
    f = only(diagnose(token, public_key=public_pem, now=T), "bad_signature")
    assert f.severity == "error"
    assert diagnose(token, now=T) == []  # without a key the signature is not judged
    assert diagnose(token, public_key=other_key.public_key(), now=T) == []


def test_tampered_claims(rsa_key: rsa.RSAPrivateKey, public_pem: str) -> None:
    h, _, s = hand_token(rsa_key, claims()).split(".")
    forged = f"{h}.{part(claims(sub='vid-stolen'))}.{s}"
    only(diagnose(forged, public_key=public_pem, now=T), "bad_signature")


def test_bad_signature_found_alongside_claim_problems(
    other_key: rsa.RSAPrivateKey, public_pem: str
) -> None:
    token = hand_token(other_key, claims(aud="x", exp=T - 3600))
    assert sorted(codes(diagnose(token, public_key=public_pem, now=T))) == [
        "bad_signature",
        "expired",
        "wrong_audience",
    ]


def test_unusable_public_key_raises() -> None:
    with pytest.raises(InvalidSigningKey):
        diagnose(f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims())}.c2ln", public_key="x")


# ---------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    "text", ["garbage", "a.b", "", f"{part([1])}.{part(claims())}.sig", 12345, None]
)
def test_malformed(text: Any) -> None:
    f = only(diagnose(text, url="https://app.heapstream.com/e/7/v/?token=x"), "malformed_token")
    assert f.severity == "error"


# ---------------------------------------------------------------------------- rendering


def test_many_findings_and_html_escapes(rsa_key: rsa.RSAPrivateKey) -> None:
    token = hand_token(
        rsa_key,
        {"sub": "<b>v</b>", "aud": "<script>alert(1)</script>", "exp": T - 100},
        {"alg": "HS256"},
    )
    d = diagnose(token, url=HS.embed_url(VID, "x"), now=T)
    assert codes(d) == [
        "alg_not_allowed",
        "kid_missing",
        "wrong_audience",
        "wrong_subject",
        "token_mismatch",
        "expired",
    ]
    assert not d.ok
    page = d._repr_html_()
    assert "<script>" not in page and "<b>v</b>" not in page
    assert "&lt;script&gt;" in page
    assert page.count("<li") == len(d)
    text = repr(d)
    for f in d:
        assert str(f) in text
        assert str(f).startswith(f"{f.severity}: {f.code}: ")


def test_every_reason_an_undecodable_token_carries_is_a_finding_code() -> None:
    """diagnose reports an InvalidToken by its reason (malformed_token, or crit_not_understood
    for a crit header, or bad_signature for a signature part that is not whole base64url)."""
    reasons = {InvalidToken.reason, UnknownCriticalHeader.reason}
    assert reasons == {"malformed_token", "crit_not_understood"}
    for code in (*reasons, "bad_signature"):
        assert code in TOKEN_FINDING_CODES and code in TOKEN_REJECTION_REASONS


def test_crit_header_is_one_finding(rsa_key: rsa.RSAPrivateKey, public_pem: str) -> None:
    token = hand_token(rsa_key, claims(), {"alg": "RS256", "kid": KID, "crit": ["exp"], "exp": 1})
    f = only(diagnose(token, public_key=public_pem, now=T), "crit_not_understood")
    assert f.severity == "error" and "RFC 7515" in f.message and token not in f.message


def test_truncated_signature_is_bad_signature_even_without_a_key(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    token = hand_token(rsa_key, claims())
    f = only(diagnose(token[:-1], now=T), "bad_signature")  # 341 base64url letters: never whole
    assert "truncated" in f.message
