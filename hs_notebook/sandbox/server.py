"""Run the sandbox origin on uvicorn in a background thread: :class:`Sandbox` and :func:`serve`.

The server runs in a daemon thread with its own event loop, so starting and stopping it is
safe from a Jupyter cell (whose event loop is never touched).  ``start()`` returns only once
an HTTP GET is answered.
"""

from __future__ import annotations

import asyncio
import html
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO
from urllib.parse import quote

import uvicorn

from hs_notebook.errors import InvalidArgument, InvalidId, SandboxError
from hs_notebook.sandbox.app import ROUTE_PREFIXES, RequestRecord, SandboxState, create_app
from hs_notebook.sandbox.defects import check_media_defects, defect_video_id
from hs_notebook.sandbox.faults import FaultInjector, Faults
from hs_notebook.sandbox.media import PROFILES, MediaSet, ensure_media
from hs_notebook.sandbox.videos import (
    MAIN_PROJECT_ID,
    MAIN_VIDEO_ID,
    NO_ORIGINALS_PROJECT_ID,
    NO_ORIGINALS_VIDEO_ID,
    PUBLIC_VIDEO_ID,
    VideoInfo,
)
from hs_notebook.tokens import SigningKey, Token, generate_signing_key

__all__ = ["Sandbox", "serve"]

_START_TIMEOUT = 30.0  # seconds for the server to answer after the thread starts
_STOP_TIMEOUT = 10.0


def _url_host(host: str) -> str:
    """The host to put in URLs: wildcard binds are reached on loopback."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class Sandbox:
    """A local HeapStream-compatible origin serving real H.264 media, with HeapStream's
    token rules.

    Args:
        profile: media profile, ``"demo"`` (24 s, 30 fps) or ``"tiny"`` (6 s, for tests).
        host: interface to bind, loopback by default.
        port: TCP port, ``0`` for an ephemeral one.
        catalog_size: number of extra private videos ``v-cat-00001``... (sharing the media).
        child_tokens: when True, every child URI in a playlist is an absolute same-origin
            URL carrying the request's token; when False, master children are absolute URLs
            without a token and segment / VTT / sprite URIs are relative without a token,
            so the client must propagate the parent's token itself.
        faults: fault injection (:class:`Faults`), off by default; settable at runtime
            through :attr:`faults`.
        cache_dir: media cache directory (default ``$HS_NOTEBOOK_CACHE`` or the user cache).
        seed: mixed into every fault draw, so sandboxes with different seeds fail
            differently under the same :class:`Faults`.
        progress: called with a line of text per media generation step (first run only).
        media_defects: media defects to serve, each as a private video of its own in project
            1: ``None`` (none, the default), ``"all"``, a name or a list of names of
            :data:`~hs_notebook.sandbox.defects.MEDIA_DEFECTS`.  The video of defect ``d``
            is ``v-defect-<d with dashes>`` (:attr:`defect_video_ids`); its media is real,
            made once from the clean media and cached beside it.

    Catalogue: project ``1`` keeps originals and holds the private video ``v-demo``, the
    public video ``v-public`` and the catalog videos; project ``2`` has
    ``keep_originals=False`` and holds the private ``v-noorig``.  Preset ids are
    ``<video>-<rendition>``, text track ids ``<video>-<lang>``, poster ids
    ``<video>-poster``, storyboard ids integers from 1001 (one per video).

    Originals: ``/dlo/`` in a ``keep_originals=False`` project answers ``403`` with reason
    ``originals_not_kept`` (after the token has been checked, so an anonymous caller learns
    nothing about the project), as HeapStream refuses rather than pretending the video does
    not exist.

    The media is generated (or loaded from the cache) on first need: :meth:`start`, or the
    first access to :attr:`media` / :attr:`videos` / :attr:`signing_key`.  A startup signing
    key is created and registered then; its private half never appears in a repr.
    """

    def __init__(
        self,
        profile: str = "demo",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        catalog_size: int = 0,
        child_tokens: bool = True,
        faults: Faults | None = None,
        cache_dir: str | Path | None = None,
        seed: int = 0,
        progress: Callable[[str], None] | None = None,
        media_defects: str | Iterable[str] | None = None,
    ) -> None:
        if profile not in PROFILES:
            raise InvalidArgument(
                f"unknown sandbox profile {profile!r}; choose one of {', '.join(PROFILES)}"
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise InvalidArgument(f"port must be an int in 0..65535 (0 = any free), got {port!r}")
        if isinstance(catalog_size, bool) or not isinstance(catalog_size, int) or catalog_size < 0:
            raise InvalidArgument(f"catalog_size must be an int >= 0, got {catalog_size!r}")
        if not isinstance(host, str):
            raise InvalidArgument(f"host must be a string, got {type(host).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InvalidArgument(f"seed must be an int, got {seed!r}")
        if faults is not None and not isinstance(faults, Faults):
            raise InvalidArgument(
                f"faults must be a hs_notebook.sandbox.Faults, got {type(faults).__name__}"
            )
        self.media_defects = check_media_defects(media_defects)
        self.profile = profile
        self.host = host
        self.catalog_size = catalog_size
        self.child_tokens = bool(child_tokens)
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.seed = seed
        self._progress = progress
        self._requested_port = port
        self._faults = faults
        self._prepare_lock = threading.Lock()
        self._state: SandboxState | None = None
        self._signing_key: SigningKey | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ preparation
    def _prepare(self) -> SandboxState:
        with self._prepare_lock:
            if self._state is None:
                media = ensure_media(
                    self.profile, cache_dir=self.cache_dir, progress=self._progress
                )
                defect_media = {
                    d: ensure_media(
                        self.profile, cache_dir=self.cache_dir, progress=self._progress, defect=d
                    )
                    for d in self.media_defects
                }
                state = SandboxState(
                    media,
                    catalog_size=self.catalog_size,
                    child_tokens=self.child_tokens,
                    fault_salt=self.seed,
                    defect_media=defect_media,
                )
                state.injector = FaultInjector(self._faults, self.seed)
                key = generate_signing_key()
                state.register_key(key.key_id, key.public_key)
                self._signing_key = key
                self._state = state
            return self._state

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Sandbox:
        """Start serving; returns once the server answers HTTP. Idempotent while running."""
        if self.running:
            return self
        state = self._prepare()
        sock = self._bind()
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(state),
            host=self.host,
            port=self._port,
            log_level="warning",
            lifespan="off",
            access_log=False,
            loop="asyncio",
            http="h11",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread_error = None

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                asyncio.set_event_loop(loop)
                loop.run_until_complete(server.serve(sockets=[sock]))
            except BaseException as exc:  # SystemExit from uvicorn included
                self._thread_error = exc
            finally:
                try:
                    loop.run_until_complete(loop.shutdown_asyncgens())
                finally:
                    loop.close()
                    sock.close()

        thread = threading.Thread(target=run, name=f"hs-sandbox-{self._port}", daemon=True)
        self._thread = thread
        thread.start()
        self._wait_until_answering(thread)
        return self

    def _bind(self) -> socket.socket:
        host = self.host or "0.0.0.0"
        try:
            infos = socket.getaddrinfo(
                host, self._requested_port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except socket.gaierror as exc:
            raise SandboxError(f"cannot resolve sandbox host {host!r}: {exc}") from None
        family, socktype, proto, _, addr = infos[0]
        sock = socket.socket(family, socktype, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise SandboxError(
                f"cannot listen on {host}:{self._requested_port} ({exc.strerror or exc}); "
                "pick another port, or port=0 for any free one"
            ) from None
        sock.setblocking(False)
        return sock

    def _wait_until_answering(self, thread: threading.Thread) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        url = f"{self.base_url}/_sandbox/health"
        deadline = time.monotonic() + _START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if not thread.is_alive():
                raise SandboxError(
                    f"the sandbox server thread exited during startup: {self._thread_error!r}"
                )
            try:
                with opener.open(url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError) as exc:
                last = exc
            time.sleep(0.02)
        self.stop()
        raise SandboxError(
            f"the sandbox did not answer {url} within {_START_TIMEOUT:.0f} s: {last}"
        )

    def stop(self) -> None:
        """Stop serving and join the server thread. Safe to call twice."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_STOP_TIMEOUT)
        self._server = None
        self._thread = None

    @property
    def running(self) -> bool:
        """True while the server thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ facts
    @property
    def port(self) -> int:
        """The bound TCP port (after :meth:`start`)."""
        if self._port is None:
            if self._requested_port:
                return self._requested_port
            raise SandboxError(
                "the sandbox has no port yet: call sb.start() (or use `with Sandbox(...) as sb`)"
            )
        return self._port

    @property
    def base_url(self) -> str:
        """``http://<host>:<port>`` (after :meth:`start` when the port is ephemeral)."""
        return f"http://{_url_host(self.host)}:{self.port}"

    @property
    def media(self) -> MediaSet:
        """The :class:`~hs_notebook.sandbox.media.MediaSet` being served."""
        return self._prepare().media

    @property
    def project_id(self) -> int:
        """The main project (``keep_originals=True``)."""
        return MAIN_PROJECT_ID

    @property
    def no_originals_project_id(self) -> int:
        """The project with ``keep_originals=False``."""
        return NO_ORIGINALS_PROJECT_ID

    @property
    def video_id(self) -> str:
        """The main private video."""
        return MAIN_VIDEO_ID

    @property
    def public_video_id(self) -> str:
        """A public video (no token needed) in the main project."""
        return PUBLIC_VIDEO_ID

    @property
    def no_originals_video_id(self) -> str:
        """A private video in the ``keep_originals=False`` project."""
        return NO_ORIGINALS_VIDEO_ID

    @property
    def catalog_video_ids(self) -> list[str]:
        """The ``catalog_size`` extra private videos."""
        return [f"v-cat-{i:05d}" for i in range(1, self.catalog_size + 1)]

    @property
    def defect_video_ids(self) -> dict[str, str]:
        """Media defect name -> the id of the private video serving it (``media_defects=``)."""
        return {d: defect_video_id(d) for d in self.media_defects}

    def media_of(self, video_id: str) -> MediaSet:
        """The :class:`~hs_notebook.sandbox.media.MediaSet` served for ``video_id`` (a defect
        video's own, or the clean :attr:`media`)."""
        state = self._prepare()
        video = state.catalog.videos.get(video_id)
        if video is None:
            raise InvalidId(f"no video {video_id!r} in this sandbox")
        return state.media_of(video)

    @property
    def videos(self) -> dict[str, VideoInfo]:
        """Every video, by id."""
        return dict(self._prepare().catalog.videos)

    @property
    def signing_key(self) -> SigningKey:
        """The signing key created and registered at startup."""
        self._prepare()
        assert self._signing_key is not None
        return self._signing_key

    # ------------------------------------------------------------------ keys
    def create_signing_key(self, key_id: str | None = None) -> SigningKey:
        """Create a new 2048-bit signing key, register it, and return it."""
        state = self._prepare()
        if key_id is not None and state.key(key_id) is not None:
            raise InvalidArgument(f"a signing key {key_id!r} already exists in this sandbox")
        key = generate_signing_key(key_id)
        state.register_key(key.key_id, key.public_key)
        return key

    def register_public_key(self, key_id: str, public_key: Any) -> None:
        """Register a public key (PEM text, base64 PEM, cryptography key or SigningKey) under
        ``key_id``, as HeapStream would for a key it issued; replaces an existing one."""
        self._prepare().register_key(key_id, public_key)

    def list_signing_keys(self) -> list[dict[str, Any]]:
        """``[{"key_id", "created_at" (aware UTC datetime), "revoked"}]``, oldest first."""
        return self._prepare().list_keys()

    def revoke_signing_key(self, key_id: str) -> None:
        """Revoke a key: its tokens are then refused with reason ``revoked_key``."""
        self._prepare().revoke_key(key_id)

    # ------------------------------------------------------------------ faults, redirects, log
    @property
    def faults(self) -> Faults | None:
        """The active :class:`Faults` (``None`` = none). Setting restarts the counters."""
        return self._faults

    @faults.setter
    def faults(self, value: Faults | None) -> None:
        injector = FaultInjector(value, self.seed)  # validates
        self._faults = value
        if self._state is not None:
            self._state.injector = injector

    def add_redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer requests whose path equals ``path`` with a redirect to ``location``."""
        self._prepare().add_redirect(path, location, status)

    def remove_redirect(self, path: str) -> None:
        """Forget a redirect added with :meth:`add_redirect`."""
        self._prepare().remove_redirect(path)

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the requests received so far (oldest first)."""
        return self._prepare().requests

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._prepare().clear_requests()

    # ------------------------------------------------------------------ URLs
    def owner_of(self, kind: str, id: Any) -> VideoInfo:
        """The video owning the resource ``id`` of URL ``kind``; raises InvalidId if unknown."""
        kind = _kind(kind)
        cat = self._prepare().catalog
        key = str(id)
        video_id: str | None
        if kind in ("embed", "master", "original"):
            video_id = key if key in cat.videos else None
        elif kind in ("preset", "mp4"):
            video_id = cat.presets.get(key, (None, 0))[0]
        elif kind == "poster":
            video_id = cat.posters.get(key)
        elif kind == "text_track":
            video_id = cat.text_tracks.get(key, (None, 0))[0]
        else:
            video_id = cat.storyboards.get(int(key)) if key.isdigit() else None
        if video_id is None:
            raise InvalidId(f"no {kind} id {id!r} in this sandbox")
        return cat.videos[video_id]

    def url(
        self, kind: str, id: Any, token: str | None = None, *, project_id: int | None = None
    ) -> str:
        """The URL of ``kind`` (``embed``, ``master``, ``poster``, ``text_track``, ``preset``,
        ``mp4``, ``storyboard``, ``original``, or a path prefix like ``mmpl``) for ``id``,
        with ``?token=`` when ``token`` is given.  The project is the owner's (or the main
        project for an unknown id, handy for testing 404s) unless ``project_id`` is given."""
        kind = _kind(kind)
        if project_id is None:
            try:
                project_id = self.owner_of(kind, id).project_id
            except InvalidId:
                project_id = self.project_id
        url = f"{self.base_url}/{ROUTE_PREFIXES[kind]}/{project_id}/{quote(str(id), safe='')}/"
        if token is not None:
            url += f"?token={quote(str(token), safe='')}"
        return url

    def mint(self, video_id: str, ttl: float = 3600, **kwargs: Any) -> Token:
        """A token for ``video_id`` from the startup signing key."""
        return self.signing_key.mint(video_id, ttl, **kwargs)

    def signed_url(self, kind: str, id: Any, ttl: float = 3600) -> str:
        """:meth:`url` with a fresh token for the resource's owning video."""
        owner = self.owner_of(kind, id)
        return self.url(kind, id, self.mint(owner.video_id, ttl), project_id=owner.project_id)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        where = self.base_url if self._port is not None or self._requested_port else "not started"
        state = "running" if self.running else "stopped"
        return f"Sandbox(profile={self.profile!r}, base_url={where!r}, {state})"

    def _repr_html_(self) -> str:
        e = html.escape
        rows = [("profile", self.profile), ("state", "running" if self.running else "stopped")]
        if self._port is not None:
            rows.append(("base_url", self.base_url))
        rows += [
            ("project_id", str(self.project_id)),
            ("no_originals_project_id", str(self.no_originals_project_id)),
            ("video_id", self.video_id),
            ("public_video_id", self.public_video_id),
            ("catalog videos", str(self.catalog_size)),
        ]
        if self._signing_key is not None:
            rows.append(("signing key id", self._signing_key.key_id))
        cells = "".join(
            f"<tr><th style='text-align:left'>{e(k)}</th><td><code>{e(v)}</code></td></tr>"
            for k, v in rows
        )
        return f"<b>HeapStream sandbox</b><table>{cells}</table>"


_KIND_ALIASES = {prefix: kind for kind, prefix in ROUTE_PREFIXES.items()}
_KIND_ALIASES.update({"static_mp4": "mp4", "player": "embed", "preset_playlist": "preset"})


def _kind(kind: str) -> str:
    if kind in ROUTE_PREFIXES:
        return kind
    if isinstance(kind, str) and kind in _KIND_ALIASES:
        return _KIND_ALIASES[kind]
    raise InvalidArgument(f"unknown URL kind {kind!r}; choose one of {', '.join(ROUTE_PREFIXES)}")


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    profile: str = "demo",
    catalog_size: int = 0,
    out: TextIO = sys.stdout,
    *,
    cache_dir: str | Path | None = None,
    wait: Callable[[], None] | None = None,
) -> None:
    """Run a sandbox in the foreground (``hs-notebook sandbox``) until Ctrl-C.

    Prints the base URL, project ids, video ids, sample preset ids, the signing key id AND
    its base64 private key (exactly as the HeapStream API hands a key out; this is the one
    place the sandbox prints it, because the user asked for a key to sign with).

    ``wait`` replaces the blocking wait (for tests); by default it sleeps until interrupted.
    """
    print(f"Preparing {profile!r} media (the first run generates it with ffmpeg)...", file=out)
    sandbox = Sandbox(
        profile,
        host=host,
        port=port,
        catalog_size=catalog_size,
        cache_dir=cache_dir,
        progress=lambda line: print(f"  {line}", file=out, flush=True),
    )
    sandbox.start()
    try:
        video = sandbox.videos[sandbox.video_id]
        key = sandbox.signing_key
        lines = [
            f"HeapStream sandbox running at {sandbox.base_url}",
            f"  project_id:              {sandbox.project_id}",
            f"  no_originals_project_id: {sandbox.no_originals_project_id}",
            f"  video_id (private):      {sandbox.video_id}",
            f"  public_video_id:         {sandbox.public_video_id}",
            f"  no_originals_video_id:   {sandbox.no_originals_video_id}",
            f"  preset ids:              {', '.join(video.presets.values())}",
            f"  text track ids:          {', '.join(video.text_tracks.values())}",
            f"  poster_id:               {video.poster_id}",
            f"  storyboard_id:           {video.storyboard_id}",
        ]
        if catalog_size:
            ids = sandbox.catalog_video_ids
            shown = ", ".join(ids[:3]) + (f", ... ({len(ids)} in all)" if len(ids) > 3 else "")
            lines.append(f"  catalog video ids:       {shown}")
        lines += [
            f"  signing key id:          {key.key_id}",
            "  signing key (base64 PEM, keep it secret):",
            f"    {key.private_key_base64()}",
            "",
            "Press Ctrl-C to stop.",
        ]
        print("\n".join(lines), file=out, flush=True)
        try:
            if wait is not None:
                wait()
            else:
                while sandbox.running:
                    time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    finally:
        sandbox.stop()
        print("Sandbox stopped.", file=out, flush=True)
