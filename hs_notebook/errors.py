"""The exceptions of hs_notebook, all under one base :class:`HeapStreamError`.

Every message is written for a person: it says what was wrong and, where we can tell,
what to do about it. None of them ever contains private key material.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "TOKEN_REJECTION_REASONS",
    "DownloadError",
    "FetchError",
    "HeapStreamError",
    "InvalidArgument",
    "InvalidId",
    "InvalidSigningKey",
    "InvalidToken",
    "MediaError",
    "MissingExtra",
    "NotFound",
    "PlaylistError",
    "SandboxError",
    "TokenRejected",
    "UnknownCriticalHeader",
    "VTTError",
]


class HeapStreamError(Exception):
    """Base class of every error raised by hs_notebook."""


class InvalidArgument(HeapStreamError, ValueError):
    """An argument has the wrong type or value (a TTL <= 0, both ttl and expires_at, ...)."""


class InvalidId(InvalidArgument):
    """A project, video, preset, poster, text-track or storyboard id is not usable in a URL."""


class InvalidSigningKey(HeapStreamError, ValueError):
    """The signing key could not be used: not base64, not PEM, not RSA, too short, ..."""


class InvalidToken(HeapStreamError, ValueError):
    """The text given as a token is not a compact JWT (three base64url parts of JSON)."""

    #: the :data:`TOKEN_REJECTION_REASONS` entry an origin answers for such a token
    reason: str = "malformed_token"


class UnknownCriticalHeader(InvalidToken):
    """The JWS header's ``crit`` lists extensions we do not understand (RFC 7515 §4.1.11:
    such a token must be refused)."""

    reason = "crit_not_understood"


#: Why an origin (or :func:`hs_notebook.verify_token`) refuses a token.  The sandbox
#: answers ``403 {"error": "token_rejected", "reason": R}`` with exactly these values.
TOKEN_REJECTION_REASONS: dict[str, str] = {
    "missing_token": "the URL has no ?token= parameter and the video is private",
    "malformed_token": "the token is not a compact RS256 JWT",
    "alg_not_allowed": "the token's header alg is not RS256",
    "crit_not_understood": "the token's header lists critical extensions (crit) that are not "
    "understood (RFC 7515 §4.1.11); HeapStream tokens use none",
    "unknown_kid": "no signing key with the token's kid is registered for this project",
    "bad_signature": "the signature does not match the signing key's public key",
    "wrong_audience": 'the aud claim is not "v"',
    "wrong_subject": "the sub claim is not the video that owns the requested resource",
    "expired": "the exp claim is in the past (or missing)",
    "not_yet_valid": "the nbf claim is in the future",
    "revoked_key": "the signing key with the token's kid has been revoked",
    "originals_not_kept": "the project does not keep originals (keep_originals is false), "
    "so /dlo/ cannot serve the upload",
}


class TokenRejected(HeapStreamError):
    """A token was refused, locally by :func:`verify_token` or by the origin (HTTP 401/403).

    Attributes:
        reason: one of :data:`TOKEN_REJECTION_REASONS` when known, else a short slug.
        detail: a human sentence with the specifics (times, ids).
        url: the URL that was refused (token redacted), when it came from an HTTP answer.
        status: the HTTP status, when it came from an HTTP answer.
        diagnosis: local :func:`hs_notebook.diagnose` findings for the token, when known.
    """

    def __init__(
        self,
        reason: str,
        detail: str | None = None,
        *,
        url: str | None = None,
        status: int | None = None,
        diagnosis: Sequence[Any] | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail or TOKEN_REJECTION_REASONS.get(reason, reason)
        self.url = url
        self.status = status
        self.diagnosis = list(diagnosis) if diagnosis is not None else []
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" ({self.status} from {self.url})" if self.url else ""
        msg = f"token rejected: {self.reason}: {self.detail}{where}"
        if self.diagnosis:
            hints = "; ".join(str(getattr(f, "message", f)) for f in self.diagnosis)
            msg += f". Local diagnosis: {hints}"
        return msg


class FetchError(HeapStreamError):
    """An HTTP request failed for a reason other than a refused token (timeouts,
    connection errors, 5xx after the retries were spent, unexpected statuses)."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        self.url = url
        self.status = status
        super().__init__(message)


class NotFound(FetchError):
    """The origin answered 404: the id does not exist in this project (or is misspelt)."""


class PlaylistError(HeapStreamError, ValueError):
    """A playlist is malformed, or is not the kind that was expected (media vs master)."""


class VTTError(HeapStreamError, ValueError):
    """A WebVTT file (text track or storyboard) is malformed."""


class DownloadError(FetchError):
    """A download could not be completed (refused, truncated, or the destination exists)."""


class SandboxError(HeapStreamError):
    """The local sandbox origin could not generate its media or start."""


class MissingExtra(HeapStreamError, ImportError):
    """A feature needs an optional part of hs_notebook that is not installed.

    The message names the ``pip install "hs_notebook[<extra>]"`` to run.  It is also an
    :class:`ImportError`, so code that guards an optional import keeps working.

    Attributes:
        extra: the extra to install (``"sandbox"``, ``"media"``, ``"dask"``, ``"notebook"``).
        module: the first missing module (``"starlette"``, ``"distributed"``, ...).
        feature: what needed it, in words (``"the sandbox"``, ``"--engine dask"``).
    """

    def __init__(self, extra: str, module: str, feature: str) -> None:
        self.extra = extra
        self.module = module
        self.feature = feature
        super().__init__(
            f"{feature} needs the [{extra}] extra ({module} is not installed): "
            f'pip install "hs_notebook[{extra}]"',
            name=module,
        )


class MediaError(HeapStreamError, ValueError):
    """A media segment could not be read: empty, truncated, not a container we can demux,
    an fMP4 segment without its init segment, or the [media] extra (PyAV) is missing."""
