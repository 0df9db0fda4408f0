"""URL and token-propagation rules of the client (pure: no I/O).

A token is a bearer credential: it goes to the origin (scheme, host, port) it was sent
to and to no other, on child URIs and across redirects alike.  A URL with two ``token``
parameters (``?token=A&token=B``, names percent-encoded or not) is refused
(:func:`single_token`): origins differ in which one they read, so the token checked here
could differ from the one the origin checks.

Malformed input (a bad port, an unclosed IPv6 bracket, a malformed IDNA label, a lone
surrogate, ...) raises :class:`~hs_notebook.errors.InvalidArgument` (a playlist URI:
:class:`~hs_notebook.errors.PlaylistError`), never quoting a token.
"""

from __future__ import annotations

from typing import Any

import httpx

from hs_notebook.errors import InvalidArgument, PlaylistError
from hs_notebook.redaction import redact
from hs_notebook.validate import unicode_text

__all__ = [
    "CROSS_ORIGIN_UNSAFE_HEADERS",
    "DEFAULT_PORTS",
    "MAX_REDIRECTS",
    "REDIRECT_STATUSES",
    "child_url",
    "origin_of",
    "origin_text",
    "parse_url",
    "redirect_url",
    "request_url",
    "same_origin",
    "single_token",
    "token_of",
    "with_token",
    "without_token",
]

#: Most redirect hops followed for one request.
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Headers given by the caller that stay on the origin of the first request.
CROSS_ORIGIN_UNSAFE_HEADERS = ("authorization", "cookie", "proxy-authorization")
DEFAULT_PORTS = {"http": 80, "https": 443}


#: What httpx and urllib raise on a malformed URL: ``ValueError`` covers an unclosed IPv6
#: bracket, a malformed IDNA label (``idna.IDNAError``) and lone surrogates
#: (``UnicodeEncodeError``).
_URL_ERRORS = (httpx.InvalidURL, ValueError)


def _host_checked(u: httpx.URL) -> httpx.URL:
    """``u``, once its host decodes (httpx decodes an IDNA ``xn--`` host lazily, so a
    malformed label would fail later, in the middle of a rule)."""
    u.host  # noqa: B018
    return u


def parse_url(url: str | httpx.URL) -> httpx.URL:
    """``httpx.URL(url)``, with a malformed URL raised as :class:`InvalidArgument`."""
    if isinstance(url, httpx.URL):
        return url
    if not isinstance(url, str):
        raise InvalidArgument(f"a URL must be a str, got {type(url).__name__}")
    unicode_text("the URL", url)
    try:
        return _host_checked(httpx.URL(url))
    except _URL_ERRORS as exc:
        raise InvalidArgument(f"not a valid URL: {redact(url)!r} ({redact(str(exc))})") from None


def single_token(url: httpx.URL) -> str | None:
    """The value of the one ``token`` parameter of ``url`` (``None`` when it has none or
    an empty one).  Two or more ``token`` parameters raise :class:`InvalidArgument`
    naming the parameter (and quoting no token): which one an origin reads differs (the
    first, the last, or a refusal), so the request would be ambiguous."""
    values = url.params.get_list("token")
    if len(values) > 1:
        raise InvalidArgument(
            f"the URL {redact(str(url))!r} has {len(values)} 'token' query parameters; which one "
            "the origin reads is ambiguous, so it is refused: keep exactly one 'token'"
        )
    return values[0] if values and values[0] else None


def request_url(url: Any, name: str = "url") -> httpx.URL:
    """The URL of a request (``name`` is the argument it came from): a str, absolute
    http(s), with a host and a TCP port in range; else :class:`InvalidArgument`."""
    if not isinstance(url, str):
        raise InvalidArgument(
            f"{name} must be an absolute http(s) URL (a str), got {type(url).__name__}"
        )
    if not url.startswith(("http://", "https://")):
        raise InvalidArgument(f"{name} must be an absolute http(s) URL, got {redact(url)!r}")
    u = parse_url(url)
    if u.scheme not in ("http", "https") or not u.host:
        raise InvalidArgument(f"not an absolute http(s) URL: {redact(url)!r}")
    if u.port is not None and not 0 < u.port < 65536:
        raise InvalidArgument(f"the port {u.port} of {redact(url)!r} is not in 1-65535")
    return u


def origin_of(url: str | httpx.URL) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of an absolute URL, with the default port made explicit."""
    u = parse_url(url)
    try:
        host = u.host.lower()
    except _URL_ERRORS as exc:  # an httpx.URL made elsewhere, with a malformed IDNA host
        raise InvalidArgument(f"not a valid URL: {redact(str(u))!r} ({exc})") from None
    scheme = u.scheme.lower()
    return scheme, host, u.port if u.port is not None else DEFAULT_PORTS.get(scheme)


def origin_text(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (the default port left out)."""
    scheme, host, port = origin_of(url)
    shown = f"[{host}]" if ":" in host else host
    return (
        f"{scheme}://{shown}" if port == DEFAULT_PORTS.get(scheme) else f"{scheme}://{shown}:{port}"
    )


def same_origin(a: str | httpx.URL, b: str | httpx.URL) -> bool:
    """True when two absolute URLs share scheme, host and port (RFC 6454 origin)."""
    oa, ob = origin_of(a), origin_of(b)
    return bool(oa[1]) and oa == ob


def token_of(url: str | httpx.URL) -> str | None:
    """The value of the ``token`` query parameter, or ``None``; two ``token`` parameters
    raise :class:`InvalidArgument` (see :func:`single_token`)."""
    return single_token(parse_url(url))


def with_token(url: str | httpx.URL, token: str) -> str:
    """``url`` with its ``token`` query parameter set to ``token`` (any others removed)."""
    if not isinstance(token, str):  # a Token is a str
        raise InvalidArgument(f"token must be a str, got {type(token).__name__}")
    unicode_text("token", token)
    return str(parse_url(url).copy_set_param("token", str(token)))


def without_token(url: str | httpx.URL) -> str:
    """``url`` with any ``token`` query parameter removed."""
    u = parse_url(url)
    return str(u.copy_remove_param("token")) if "token" in u.params else str(u)


def child_url(parent_url: str | httpx.URL, uri: str) -> str:
    """Resolve a playlist child ``uri`` against ``parent_url`` and give it the parent's
    token when (and only when) it is on the parent's origin and carries no token itself.

    >>> child_url("https://h.example/mpl/1/p/?token=T", "seg-0.ts")
    'https://h.example/mpl/1/p/seg-0.ts?token=T'
    >>> child_url("https://h.example/mpl/1/p/?token=T", "https://cdn.example/seg-0.ts")
    'https://cdn.example/seg-0.ts'

    Raises :class:`InvalidArgument` for a malformed parent and
    :class:`~hs_notebook.errors.PlaylistError` for a malformed ``uri``.
    """
    parent = parse_url(parent_url)
    if not isinstance(uri, str):
        raise InvalidArgument(f"a playlist URI must be a str, got {type(uri).__name__}")
    unicode_text("a playlist URI", uri, error=PlaylistError)
    try:
        target = _host_checked(parent.join(uri))
    except _URL_ERRORS as exc:
        raise PlaylistError(
            f"the playlist URI {redact(uri)!r} is not a valid URL ({redact(str(exc))})"
        ) from None
    token = single_token(parent)
    if token and "token" not in target.params and same_origin(parent, target):
        return with_token(target, token)
    return str(target)


def redirect_url(
    current_url: str | httpx.URL,
    location: str,
    *,
    token: str | None = None,
    token_origin: str | httpx.URL | tuple[str, str, int | None] | None = None,
) -> str:
    """Where a redirect from ``current_url`` with header ``Location: location`` leads.

    ``token`` is the token of the original request and ``token_origin`` the origin it was
    sent to.  The target keeps (or, on that same origin, gets back) the token only on
    ``token_origin``; on any other origin the ``token`` parameter is stripped, even when
    the ``Location`` itself carries one.
    """
    if not isinstance(location, str):
        raise InvalidArgument(f"location must be a str, got {type(location).__name__}")
    if token is not None and not isinstance(token, str):
        raise InvalidArgument(f"token must be a str or None, got {type(token).__name__}")
    unicode_text("the redirect target", location)
    try:
        target = _host_checked(parse_url(current_url).join(location))
    except _URL_ERRORS as exc:
        raise InvalidArgument(
            f"not a valid redirect target: {redact(location)!r} ({redact(str(exc))})"
        ) from None
    if token_origin is None:
        home = origin_of(current_url)
    elif isinstance(token_origin, tuple):
        home = token_origin
    else:
        home = origin_of(token_origin)
    if origin_of(target) != home:
        return without_token(target)
    if token and "token" not in target.params:
        return with_token(target, token)
    return str(target)
