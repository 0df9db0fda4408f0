"""The only code that talks HTTP: one client over httpx, with an async face
(:class:`AsyncClient`) and a sync face (:class:`Client`) that share the same retry,
redirect and token rules.

The rules, in one place:

* **Retries** (GET and HEAD only): connection errors (refused, reset, dropped, a body
  shorter than its Content-Length), timeouts, HTTP 5xx and 429 are retried up to
  ``retries`` times with exponential backoff and jitter; a ``Retry-After`` header (seconds
  or HTTP date) is honoured, capped at ``max_retry_after``.  Other 4xx are never retried.
* **Errors**: 401/403 raise :class:`~hs_notebook.errors.TokenRejected` with the origin's
  ``reason`` and a local diagnosis of the token; 404 raises
  :class:`~hs_notebook.errors.NotFound`; anything else (or retries spent) raises
  :class:`~hs_notebook.errors.FetchError` naming the last cause.  A body that should be a
  playlist but is not raises :class:`~hs_notebook.errors.PlaylistError` naming what came
  instead (``image/jpeg (71344 bytes)``, or at most 60 printable characters of text).  A
  401/403 from another origin after a redirect that (by the rule below) left the token
  behind says so in its detail.  Arguments of the wrong type or value (a malformed URL,
  a lone surrogate, ...) raise :class:`~hs_notebook.errors.InvalidArgument` before
  anything is sent; a redirect to a malformed ``Location`` (``http:////[/x``, a bad port
  or IDNA label, not http(s)) raises :class:`~hs_notebook.errors.FetchError` and is not
  retried.  No message quotes a token.
* **Tokens are bearer credentials**: a child URI on the *same origin* (scheme, host,
  port) as its parent that has no ``token`` query parameter gets the parent's token
  (:func:`child_url`); a token is never added to another origin.  Redirects are followed
  by hand (at most :data:`MAX_REDIRECTS` hops) and the ``token`` parameter is stripped
  when a hop leaves the origin the token was sent to (:func:`redirect_url`).  The origin
  is the exact (scheme, host, port): an ``https`` -> ``http`` downgrade on the same host
  loses the token (it would travel in clear text), and so does an ``http`` -> ``https``
  upgrade (a different origin; mint the URL on ``https`` in the first place).  The
  ``Authorization``, ``Cookie`` and ``Proxy-Authorization`` headers given by the caller
  stay on that origin too; no ``Referer`` is ever sent.  A URL with two ``token``
  parameters (``?token=A&token=B``, either name percent-encoded or not) is refused with
  :class:`~hs_notebook.errors.InvalidArgument` naming the parameter, and nothing is
  sent: origins differ in which one they read (the sandbox the last, httpx the first),
  so the token checked here could differ from the one the origin checks; a redirect
  adding a second one is a :class:`~hs_notebook.errors.FetchError`.  URLs in messages, reprs and the
  log records of every library that sees requests (``httpx``, ``httpcore``,
  ``hpack``, ``h2``) are redacted (:mod:`hs_notebook.redaction`).
* **Bounded**: every request has the client's timeouts (connect, each read of a
  streamed body, ...); a body read into memory (:meth:`AsyncClient.fetch` and friends)
  is refused beyond ``max_body_size`` (default :data:`MAX_BODY_SIZE`), an error body is
  read only up to 64 KiB.  Use :meth:`Client.stream` or :func:`hs_notebook.download.download`
  for large files.
* **Deadline**: one in-memory call (:meth:`AsyncClient.fetch`, ``get_text``, ``get_bytes``,
  ``head``) must complete within ``deadline`` seconds (default :data:`DEFAULT_DEADLINE`),
  all its attempts, redirects and backoff sleeps included, else it raises
  :class:`~hs_notebook.errors.FetchError` (``GET <url> did not complete within 60 s
  (...)``): per-read timeouts alone let a server that dribbles a byte every few seconds
  hold a call forever.  A retry whose backoff would end past the deadline is not made.
  Streams (:meth:`Client.stream`, :meth:`AsyncClient.open_stream`) and downloads are
  exempt: they can rightly take long and their per-read timeouts still apply
  (``open_stream(..., deadline=s)`` bounds the opening of one stream if wanted);
  ``SyncStream.iter_bytes(idle_timeout=s)`` and ``download(idle_timeout=...)`` (30 s by
  default) bound the wait for each chunk, so a body that stalls or trickles cannot hold
  them forever.
* **TLS**: certificates are verified (``verify=True``: the default CA bundle, honouring
  ``SSL_CERT_FILE``); ``verify`` also takes a CA bundle path or an ``ssl.SSLContext``.

The sync :class:`Client` runs the async one on a private event-loop thread, so it works
the same in a script and in a Jupyter cell where an asyncio loop is already running; and
it can run many requests concurrently (:meth:`Client.run`).  Closing it (from any thread)
cancels the requests still running on it: their callers get a :class:`FetchError`.

Modules (private; everything public is re-exported here): ``_rules`` (URL and token
rules, pure), ``_responses`` (:class:`Fetched`, body checks, status-to-error mapping),
``_pool`` (the httpcore connection-pool override), ``_transport`` (httpx's transport over
that pool), ``_async`` (:class:`AsyncClient`), ``_sync`` (:class:`Client`).
"""

from __future__ import annotations

from hs_notebook.http._async import (
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    MAX_BODY_SIZE,
    AsyncClient,
    ClientSettings,
)
from hs_notebook.http._responses import Fetched, status_error
from hs_notebook.http._rules import (
    MAX_REDIRECTS,
    child_url,
    origin_of,
    redirect_url,
    request_url,
    same_origin,
    token_of,
    with_token,
    without_token,
)
from hs_notebook.http._sync import Client, SyncStream, default_client
from hs_notebook.redaction import install_log_redaction

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_BODY_SIZE",
    "MAX_REDIRECTS",
    "AsyncClient",
    "Client",
    "ClientSettings",
    "Fetched",
    "SyncStream",
    "child_url",
    "default_client",
    "origin_of",
    "redirect_url",
    "request_url",
    "same_origin",
    "status_error",
    "token_of",
    "with_token",
    "without_token",
]

install_log_redaction()
