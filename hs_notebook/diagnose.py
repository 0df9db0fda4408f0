"""Explain why a signed URL would be refused, from the token alone (pure code).

>>> diagnose(token, url=signed_url)        # doctest: +SKIP
[]                                          # empty: nothing wrong that we can see
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import InvalidToken
from .tokens import (
    ALGORITHM,
    AUDIENCE,
    DEFAULT_LEEWAY,
    Token,
    audience_matches,
    quote_claim,
    signature_matches,
)
from .urls import VIDEO_ID_KINDS, parse_signed_url
from .validate import clamped_float, is_finite_number, non_negative_seconds, unix_seconds

__all__ = ["TOKEN_FINDING_CODES", "Diagnosis", "TokenFinding", "diagnose"]

#: Every code :func:`diagnose` can report, with what it means.
TOKEN_FINDING_CODES: dict[str, str] = {
    "malformed_token": "the text is not a compact JWT",
    "crit_not_understood": "the header lists critical extensions (crit) that are not "
    "understood (RFC 7515 §4.1.11)",
    "alg_not_allowed": "the header alg is not RS256",
    "kid_missing": "the header has no kid, so the origin cannot find the signing key",
    "kid_in_claims": "kid is in the claims instead of the header (as the Go example in "
    "HeapStream's docs does)",
    "wrong_audience": 'aud is not "v" (nor a list of strings holding "v")',
    "sub_missing": "there is no sub claim (the video id)",
    "wrong_subject": "sub is not the video in the URL",
    "token_mismatch": "the URL carries a different token than the one diagnosed",
    "exp_missing": "there is no exp claim; HeapStream requires one",
    "expired": "exp is in the past",
    "not_yet_valid": "nbf is in the future",
    "exp_implausible": "exp is implausibly far away (milliseconds instead of seconds?)",
    "bad_signature": "the signature does not match the public key",
}

_FAR = timedelta(days=366)


@dataclass(frozen=True)
class TokenFinding:
    """One problem with a token. ``severity`` is ``error`` (would be refused) or
    ``warning`` (accepted, but probably not what was meant)."""

    code: str
    severity: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.code}: {self.message}"


class Diagnosis(list[TokenFinding]):
    """A list of :class:`TokenFinding` (empty when all is well) that renders in notebooks."""

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self]

    def __repr__(self) -> str:
        if not self:
            return "Diagnosis([]): no problems found"
        return "Diagnosis([\n" + "".join(f"  {f},\n" for f in self) + "])"

    def _repr_html_(self) -> str:
        if not self:
            return "<div class='hs-diagnosis' style='color:#1a7f37'>✔ no problems found</div>"
        colours = {"error": "#cf222e", "warning": "#9a6700"}
        items = "".join(
            f"<li style='color:{colours.get(f.severity, 'inherit')}'><b>{html.escape(f.code)}"
            f"</b> ({f.severity}): {html.escape(f.message)}</li>"
            for f in self
        )
        return f"<div class='hs-diagnosis'><ul>{items}</ul></div>"


def _fmt(ts: float) -> str:
    try:
        return f"{datetime.fromtimestamp(ts, UTC):%Y-%m-%d %H:%M:%S} UTC"
    except (OverflowError, OSError, ValueError):
        return f"{quote_claim(ts, 24)} (not a valid time)"


def _ago(seconds: float) -> str:
    try:
        return f" ({timedelta(seconds=int(seconds))} ago)"
    except OverflowError:
        return ""


def diagnose(
    token: Any,
    url: str | None = None,
    public_key: Any = None,
    *,
    now: datetime | float | None = None,
    leeway: float = DEFAULT_LEEWAY,
) -> Diagnosis:
    """Findings that explain why a signed URL would be refused; empty when all is well.

    Args:
        token: the token (a :class:`Token` or the compact string).
        url: the signed URL it is used with; lets us check ``sub`` against a video id in
            the path, and that the URL carries this token.
        public_key: the signing key's public half (PEM, cryptography key or SigningKey)
            to check the signature.
        now: the time to judge ``exp``/``nbf`` against (default: now).
        leeway: seconds of clock skew forgiven either way (finite, >= 0).

    ``aud`` is judged by :func:`hs_notebook.tokens.audience_matches`, the rule
    :func:`~hs_notebook.tokens.verify_token` and the sandbox apply.  A token that does not
    decode gives one finding, its :class:`~hs_notebook.errors.InvalidToken` reason.
    """
    out = Diagnosis()
    t = datetime.now(UTC).timestamp() if now is None else unix_seconds("now", now)
    leeway = non_negative_seconds("leeway", leeway)
    try:
        tok = Token(token)
    except InvalidToken as exc:  # malformed_token, crit_not_understood or bad_signature
        out.append(TokenFinding(exc.reason, "error", str(exc)))
        return out
    header, claims = tok.header, tok.claims

    alg = header.get("alg")
    if alg != ALGORITHM:
        out.append(
            TokenFinding(
                "alg_not_allowed",
                "error",
                f"header alg is {quote_claim(alg)}; HeapStream accepts RS256",
            )
        )
    if not header.get("kid"):
        if claims.get("kid"):
            out.append(
                TokenFinding(
                    "kid_in_claims",
                    "error",
                    f"kid {quote_claim(claims['kid'])} is in the claims, not in the JWT header "
                    "(as the Go example in HeapStream's docs does); put it in the header: "
                    "jwt.encode(..., headers={'kid': key_id})",
                )
            )
        else:
            out.append(
                TokenFinding(
                    "kid_missing",
                    "error",
                    "the header has no kid: the origin cannot tell which signing key to use",
                )
            )
    aud = claims.get("aud")
    if not audience_matches(aud):
        out.append(
            TokenFinding(
                "wrong_audience",
                "error",
                f'aud is {quote_claim(aud)}; it must be "{AUDIENCE}" '
                f'(or a list of strings holding "{AUDIENCE}")',
            )
        )

    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        out.append(TokenFinding("sub_missing", "error", "there is no sub claim (the video id)"))
    if url is not None:
        parsed = parse_signed_url(url)
        if parsed is not None:
            if parsed.kind in VIDEO_ID_KINDS and isinstance(sub, str) and sub != parsed.id:
                out.append(
                    TokenFinding(
                        "wrong_subject",
                        "error",
                        f"sub is {quote_claim(sub)} but the URL is for video {parsed.id!r}: "
                        f"mint the token for {parsed.id!r}",
                    )
                )
            if parsed.token is not None and parsed.token != str(tok):
                out.append(
                    TokenFinding(
                        "token_mismatch",
                        "warning",
                        "the URL carries a different token than the one diagnosed",
                    )
                )

    exp = claims.get("exp")
    if exp is None or not is_finite_number(exp):
        out.append(
            TokenFinding(
                "exp_missing", "error", "there is no numeric exp claim; HeapStream requires one"
            )
        )
    else:
        exp_s = clamped_float(exp)
        if exp > 1e11:
            out.append(
                TokenFinding(
                    "exp_implausible",
                    "error" if exp_s + leeway >= t else "warning",
                    f"exp is {quote_claim(exp, 24)}, which looks like milliseconds: JWT times "
                    "are UNIX seconds",
                )
            )
        elif exp_s - t > _FAR.total_seconds():
            out.append(
                TokenFinding(
                    "exp_implausible",
                    "warning",
                    f"exp is {_fmt(exp)}, more than a year away: tokens are bearer credentials, "
                    "prefer short lifetimes",
                )
            )
        if exp_s + leeway < t:
            out.append(
                TokenFinding(
                    "expired",
                    "error",
                    f"expired at {_fmt(exp)}; it is now {_fmt(t)}" + _ago(t - exp_s),
                )
            )
    nbf = claims.get("nbf")
    if nbf is not None:
        if not is_finite_number(nbf):
            out.append(
                TokenFinding("not_yet_valid", "error", f"nbf is {quote_claim(nbf)}, not a number")
            )
        elif clamped_float(nbf) - leeway > t:
            out.append(
                TokenFinding(
                    "not_yet_valid",
                    "error",
                    f"not valid before {_fmt(nbf)}; it is now {_fmt(t)}",
                )
            )

    if public_key is not None and alg == ALGORITHM and not signature_matches(tok, public_key):
        out.append(
            TokenFinding(
                "bad_signature",
                "error",
                "the signature does not match this public key (token signed with another key, "
                "or altered after signing)",
            )
        )
    return out
