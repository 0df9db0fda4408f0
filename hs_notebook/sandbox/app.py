"""The sandbox origin as a Starlette app: HeapStream's eight URL kinds and its token rules.

:class:`SandboxState` holds the catalogue (projects, videos and the ids of everything they
own), the registered signing keys, redirects, faults and the request log;
:func:`create_app` turns it into an ASGI app.  :class:`hs_notebook.sandbox.Sandbox` runs
that app on uvicorn; tests and notebooks normally use that class, not this module.

Routes (``GET`` and ``HEAD``; the ids of project and storyboard are integers)::

    /e/{project}/{video}/                  player page                 text/html
    /mmpl/{project}/{video}/               master playlist             application/vnd.apple.mpegurl
    /mpl/{project}/{preset}/               media playlist              application/vnd.apple.mpegurl
    /mpl/{project}/{preset}/{segment}      MPEG-TS segment             video/mp2t
    /stcr4/{project}/{preset}/             static MP4                  video/mp4
    /pstv/{project}/{poster}/              poster                      image/jpeg
    /mplt/{project}/{text_track}/          text-track playlist         application/vnd.apple.mpegurl
    /mplt/{project}/{text_track}/{lang}.vtt  the WebVTT                text/vtt
    /sbt/{project}/{storyboard}/           storyboard WebVTT           text/vtt
    /sbt/{project}/{storyboard}/{sprite}   sprite                      image/jpeg
    /dlo/{project}/{video}/                original upload             video/mp4 (attachment)
    /_sandbox/health                       liveness probe (never logged, never faulted)

Token rules (private videos and everything they own): ``?token=`` is required; the
header ``alg`` must be RS256; the key is found by the header ``kid`` (or, with a logged
warning, by a ``kid`` *claim* when the header has none, as the HeapStream docs' Go example
does); then :func:`hs_notebook.tokens.verify_token` checks signature, ``aud``, ``sub`` (the
video owning the resource), ``exp`` and ``nbf``.  Refusals are
``403 {"error": "token_rejected", "reason": R, "detail": ...}``; unknown ids are
``404 {"error": "not_found", "detail": ...}``.  Public videos need no token (one that is
present is ignored and never propagated).  Token-protected answers carry
``Cache-Control: private, no-store``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from hs_notebook.errors import HeapStreamError, InvalidArgument, InvalidToken, TokenRejected
from hs_notebook.sandbox.faults import (
    INTERNAL_PREFIX,
    RAW_SEND_SCOPE_KEY,
    FaultInjector,
    FaultMiddleware,
    Message,
    Receive,
    Scope,
    Send,
)
from hs_notebook.sandbox.player import PlayerTrack, render_player
from hs_notebook.sandbox.playlists import (
    render_master_playlist,
    render_media_playlist,
    render_storyboard_vtt,
    render_text_track_playlist,
    token_query,
)
from hs_notebook.sandbox.videos import ProjectInfo, VideoInfo, build_catalog
from hs_notebook.tokens import ALGORITHM, decode_token, load_public_key, verify_token
from hs_notebook.urls import URL_KINDS

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    from hs_notebook.sandbox.mediaset import MediaSet, RenditionMedia, TextTrackMedia

__all__ = [
    "CONTENT_TYPES",
    "ROUTE_PREFIXES",
    "RequestRecord",
    "SandboxState",
    "create_app",
]

logger = logging.getLogger("hs_notebook.sandbox")

#: Content types of the answers.
CONTENT_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "m3u8": "application/vnd.apple.mpegurl",
    "ts": "video/mp2t",
    "mp4": "video/mp4",
    "jpeg": "image/jpeg",
    "vtt": "text/vtt; charset=utf-8",
}

#: URL kind (as in :data:`hs_notebook.urls.URL_KINDS`) -> first path segment.
ROUTE_PREFIXES: dict[str, str] = {kind: spec.prefix for kind, spec in URL_KINDS.items()}

_PRIVATE_CACHE = "private, no-store"
_PUBLIC_CACHE = "public, max-age=60"


class _File(FileResponse):
    """Starlette's file answer (ranges, ``ETag``, ``Last-Modified``) read in 1 MiB pieces:
    each piece is a read in a worker thread and one ``send``, and with Starlette's 64 KiB
    the origin spent twice the CPU on a ladder's segments (93 vs 42 ms for the demo
    ladder's 29 MB, ``benchmarks/bench_media_qa.py``'s loopback case)."""

    chunk_size = 1 << 20


_TRUE_WORDS = {"1", "true", "yes", "on"}


# ---------------------------------------------------------------------------- model


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox received.

    ``query`` and ``headers`` are plain dicts (header names lower-case, the last value
    wins); ``status`` is the answer's status, ``0`` when no answer was (yet) started, as for
    a connection dropped by fault injection.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int

    def __repr__(self) -> str:
        # tests need the real token in .query; a printed record must not show it
        query = {k: ("…" if k == "token" else v) for k, v in self.query.items()}
        headers = {
            k: ("…" if k in ("authorization", "cookie") else v) for k, v in self.headers.items()
        }
        return (
            f"RequestRecord(method={self.method!r}, path={self.path!r}, query={query!r}, "
            f"headers={headers!r}, status={self.status})"
        )


@dataclass
class _KeyRecord:
    key_id: str
    public_key: RSAPublicKey
    created_at: datetime
    revoked: bool = False


class SandboxState:
    """Everything the routes read; thread-safe for the mutations done from other threads.

    Args:
        media: the generated media served for every video without a defect.
        catalog_size: number of extra private videos ``v-cat-00001``... in project 1.
        child_tokens: whether child URIs in playlists carry the request's token.
        fault_salt: mixed into every fault draw (the Sandbox's ``seed``).
        defect_media: media defect name -> its media set; each gets a private video
            ``v-defect-<name>`` (same rendition names and text tracks as ``media``).
    """

    def __init__(
        self,
        media: MediaSet,
        *,
        catalog_size: int = 0,
        child_tokens: bool = True,
        fault_salt: int = 0,
        defect_media: Mapping[str, MediaSet] | None = None,
    ) -> None:
        self.media = media
        self.defect_media = dict(defect_media or {})
        self.child_tokens = child_tokens
        self.fault_salt = fault_salt
        self.catalog = build_catalog(media, catalog_size, tuple(self.defect_media))
        self._lock = threading.Lock()
        self._keys: dict[str, _KeyRecord] = {}
        self._redirects: dict[str, tuple[str, int]] = {}
        self._requests: list[RequestRecord] = []
        self.injector = FaultInjector(None, fault_salt)

    def media_of(self, video: VideoInfo) -> MediaSet:
        """The media set served for ``video`` (its defect's, or the clean one)."""
        return self.defect_media[video.defect] if video.defect else self.media

    # keys --------------------------------------------------------------------------------
    def register_key(self, key_id: str, public_key: Any) -> None:
        """Register (or replace) the public key for ``key_id``."""
        if not isinstance(key_id, str) or not key_id.strip() or key_id != key_id.strip():
            raise InvalidArgument(
                f"key_id must be a non-empty string without surrounding spaces, got {key_id!r}"
            )
        record = _KeyRecord(key_id, load_public_key(public_key), datetime.now(UTC))
        with self._lock:
            self._keys[key_id] = record

    def revoke_key(self, key_id: str) -> None:
        """Mark ``key_id`` revoked: its tokens are then refused with ``revoked_key``."""
        with self._lock:
            record = self._keys.get(key_id)
            if record is None:
                known = ", ".join(sorted(self._keys)) or "none"
                raise InvalidArgument(
                    f"no signing key {key_id!r} in this sandbox (registered: {known})"
                )
            record.revoked = True

    def list_keys(self) -> list[dict[str, Any]]:
        """``[{key_id, created_at, revoked}]`` in creation order (no key material)."""
        with self._lock:
            return [
                {"key_id": r.key_id, "created_at": r.created_at, "revoked": r.revoked}
                for r in self._keys.values()
            ]

    def key(self, key_id: str) -> _KeyRecord | None:
        with self._lock:
            return self._keys.get(key_id)

    # redirects -----------------------------------------------------------------------------
    def add_redirect(self, path: str, location: str, status: int = 302) -> None:
        if not isinstance(path, str) or not path.startswith("/"):
            raise InvalidArgument(f"redirect path must start with '/', got {path!r}")
        if not isinstance(location, str) or not location:
            raise InvalidArgument("redirect location must be a non-empty URL")
        if status not in (301, 302, 303, 307, 308):
            raise InvalidArgument(f"redirect status must be 301/302/303/307/308, got {status!r}")
        with self._lock:
            self._redirects[path] = (location, status)

    def remove_redirect(self, path: str) -> None:
        with self._lock:
            self._redirects.pop(path, None)

    def redirect_for(self, path: str) -> tuple[str, int] | None:
        with self._lock:
            return self._redirects.get(path)

    # request log -------------------------------------------------------------------------
    def _log_request(self, record: RequestRecord) -> int:
        with self._lock:
            self._requests.append(record)
            return len(self._requests) - 1

    def _set_status(self, index: int, status: int) -> None:
        with self._lock:
            if index < len(self._requests):
                self._requests[index] = replace(self._requests[index], status=status)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()


# ---------------------------------------------------------------------------- errors


class _Problem(Exception):
    """Raised by route helpers; turned into ``response`` by an exception handler."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _not_found(detail: str) -> _Problem:
    return _Problem(
        JSONResponse(
            {"error": "not_found", "detail": detail},
            status_code=404,
            headers={"Cache-Control": "no-store"},
        )
    )


def _refused(reason: str, detail: str | None = None) -> _Problem:
    body: dict[str, str] = {"error": "token_rejected", "reason": reason}
    if detail:
        body["detail"] = detail
    return _Problem(JSONResponse(body, status_code=403, headers={"Cache-Control": _PRIVATE_CACHE}))


def _token_refusal(exc: Exception, doing: str) -> _Problem:
    """The 403 for ``exc``, raised while the token was being ``doing`` (decoded, verified):
    :class:`TokenRejected` keeps its reason; any other error, ours or not, is
    ``malformed_token`` (a hostile token must never become a 500 that clients retry)."""
    if isinstance(exc, TokenRejected):
        return _refused(exc.reason, exc.detail)
    if isinstance(exc, InvalidToken):  # its reason: malformed_token, crit_not_understood, ...
        return _refused(exc.reason, str(exc))
    if isinstance(exc, HeapStreamError):
        return _refused("malformed_token", str(exc))
    return _refused("malformed_token", f"the token cannot be {doing} ({type(exc).__name__})")


# ---------------------------------------------------------------------------- ASGI glue


class _RequestLog:
    """Outermost middleware: logs each request and stores the server's ``send`` in scope."""

    def __init__(self, app: Any, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[RAW_SEND_SCOPE_KEY] = send
        path: str = scope["path"]
        if path.startswith(INTERNAL_PREFIX):
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        index = self.state._log_request(
            RequestRecord(scope["method"], path, query, headers, status=0)
        )

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.state._set_status(index, int(message["status"]))
            await send(message)

        await self.app(scope, receive, logging_send)


class _Redirects:
    """Answers a redirect for the paths registered with :meth:`SandboxState.add_redirect`."""

    def __init__(self, app: Any, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = self.state.redirect_for(scope["path"])
            if target is not None:
                location, status = target
                await RedirectResponse(location, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(state: SandboxState) -> Any:
    """The sandbox's ASGI app for ``state`` (request log -> CORS -> faults -> redirects ->
    routes)."""
    cat = state.catalog
    media_of = state.media_of

    # ---------------------------------------------------------------- lookups
    def project_of(request: Request) -> ProjectInfo:
        raw = request.path_params["project"]
        if not (raw.isascii() and raw.isdigit()):
            raise _not_found(f"project id {raw!r} is not an integer")
        project = cat.projects.get(int(raw))
        if project is None:
            raise _not_found(
                f"no project {raw} in this sandbox (projects: "
                f"{', '.join(str(p) for p in cat.projects)})"
            )
        return project

    def video_in(project: ProjectInfo, video_id: str) -> VideoInfo:
        video = cat.videos.get(video_id)
        if video is None or video.project_id != project.project_id:
            raise _not_found(f"no video {video_id!r} in project {project.project_id}")
        return video

    def owned(project: ProjectInfo, what: str, item_id: str, video_id: str | None) -> VideoInfo:
        video = cat.videos.get(video_id) if video_id is not None else None
        if video is None or video.project_id != project.project_id:
            raise _not_found(f"no {what} {item_id!r} in project {project.project_id}")
        return video

    def authorize(request: Request, video: VideoInfo) -> str | None:
        """The token to propagate to children, or None for a public video; raises refusals."""
        if not video.private:
            return None
        tokens = request.query_params.getlist("token")
        if len(tokens) > 1:
            raise _refused(
                "malformed_token",
                f"the URL carries {len(tokens)} token parameters; send exactly one",
            )
        token = (tokens[0] if tokens else "").strip()
        if not token:
            raise _refused("missing_token", f"video {video.video_id!r} is private: add ?token=")
        try:
            info = decode_token(token)
        except Exception as exc:  # a token must never become a 500, whatever it holds
            raise _token_refusal(exc, "decoded") from None
        alg = info.header.get("alg")
        if alg != ALGORITHM:
            raise _refused("alg_not_allowed", f"header alg is {alg!r}; only RS256 is accepted")
        kid = info.header.get("kid")
        if kid is None and "kid" in info.claims:
            kid = info.claims.get("kid")
            logger.warning(
                "token for video %r has no 'kid' in its header; using its 'kid' claim %r "
                "instead (HeapStream's docs' Go example does this; put kid in the header)",
                video.video_id,
                kid,
            )
        if not isinstance(kid, str) or not kid:
            raise _refused("unknown_kid", "the token has no kid (a string naming its signing key)")
        record = state.key(kid)
        if record is None:
            raise _refused("unknown_kid", f"no signing key {kid!r} is registered")
        if record.revoked:
            raise _refused("revoked_key", f"the signing key {kid!r} has been revoked")
        try:
            verify_token(token, record.public_key, video_id=video.video_id)
        except Exception as exc:  # a token must never become a 500, whatever it holds
            raise _token_refusal(exc, "verified") from None
        return token

    def cache_headers(video: VideoInfo) -> dict[str, str]:
        return {"Cache-Control": _PRIVATE_CACHE if video.private else _PUBLIC_CACHE}

    def base_of(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def text(body: str, kind: str, video: VideoInfo) -> Response:
        return Response(body, media_type=CONTENT_TYPES[kind], headers=cache_headers(video))

    def file(path: Path, kind: str, video: VideoInfo, filename: str | None = None) -> FileResponse:
        return _File(
            path, media_type=CONTENT_TYPES[kind], headers=cache_headers(video), filename=filename
        )

    # ---------------------------------------------------------------- routes
    async def player(request: Request) -> Response:
        project = project_of(request)
        video = video_in(project, request.path_params["video"])
        token = authorize(request, video)
        tq = token_query(token)
        up = "../../../"  # from /e/{project}/{video}/ back to the root, proxy-safe
        pid = project.project_id
        media = media_of(video)
        rendition = media.renditions[len(media.renditions) // 2]
        tracks = [
            PlayerTrack(
                src=f"{up}mplt/{pid}/{quote(video.text_tracks[t.language])}/"
                f"{quote(t.language)}.vtt{tq}",
                language=t.language,
                label=t.name,
                default=t.default,
            )
            for t in media.text_tracks
        ]
        autoplay = request.query_params.get("autoplay", "").strip().lower() in _TRUE_WORDS
        page = render_player(
            title=f"HeapStream sandbox – {video.video_id}",
            video_id=video.video_id,
            hls_src=f"{up}mmpl/{pid}/{quote(video.video_id)}/{tq}",
            mp4_src=f"{up}stcr4/{pid}/{quote(video.presets[rendition.name])}/{tq}",
            poster_src=f"{up}pstv/{pid}/{quote(video.poster_id)}/{tq}",
            tracks=tracks,
            autoplay=autoplay,
        )
        return text(page, "html", video)

    async def master(request: Request) -> Response:
        project = project_of(request)
        video = video_in(project, request.path_params["video"])
        token = authorize(request, video)
        child = token if state.child_tokens else None
        body = render_master_playlist(media_of(video), video, base_of(request), child)
        return text(body, "m3u8", video)

    def child_of(request: Request, param: str, kind: str) -> tuple[VideoInfo, int]:
        """The video owning the preset / text track named by ``param``, and its index."""
        project = project_of(request)
        child_id = request.path_params[param]
        index_of = cat.presets if param == "preset" else cat.text_tracks
        video_id, index = index_of.get(child_id, (None, 0))
        return owned(project, kind, child_id, video_id), index

    def preset_of(request: Request) -> tuple[VideoInfo, RenditionMedia]:
        video, index = child_of(request, "preset", "preset")
        return video, media_of(video).renditions[index]

    async def media_playlist(request: Request) -> Response:
        video, rendition = preset_of(request)
        token = authorize(request, video)
        if state.child_tokens:
            prefix = (
                f"{base_of(request)}/mpl/{video.project_id}/{quote(video.presets[rendition.name])}/"
            )
            body = render_media_playlist(rendition, prefix, token)
        else:
            body = render_media_playlist(rendition, "", None)
        return text(body, "m3u8", video)

    async def segment(request: Request) -> Response:
        video, rendition = preset_of(request)
        name = request.path_params["name"]
        seg = next((s for s in rendition.segments if s.name == name), None)
        if seg is None:
            raise _not_found(f"no segment {name!r} in preset {video.presets[rendition.name]!r}")
        authorize(request, video)
        return file(seg.path, "ts", video)

    async def static_mp4(request: Request) -> Response:
        video, rendition = preset_of(request)
        authorize(request, video)
        return file(rendition.mp4, "mp4", video)

    async def poster(request: Request) -> Response:
        project = project_of(request)
        poster_id = request.path_params["poster"]
        video = owned(project, "poster", poster_id, cat.posters.get(poster_id))
        authorize(request, video)
        return file(media_of(video).poster, "jpeg", video)

    def track_of(request: Request) -> tuple[VideoInfo, TextTrackMedia]:
        video, index = child_of(request, "track", "text track")
        return video, media_of(video).text_tracks[index]

    async def text_track_playlist(request: Request) -> Response:
        video, track = track_of(request)
        token = authorize(request, video)
        if state.child_tokens:
            track_id = video.text_tracks[track.language]
            prefix = f"{base_of(request)}/mplt/{video.project_id}/{quote(track_id)}/"
            body = render_text_track_playlist(track, prefix, token)
        else:
            body = render_text_track_playlist(track, "", None)
        return text(body, "m3u8", video)

    async def text_track_vtt(request: Request) -> Response:
        video, track = track_of(request)
        name = request.path_params["name"]
        if name != f"{track.language}.vtt":
            raise _not_found(f"no file {name!r} in text track {request.path_params['track']!r}")
        authorize(request, video)
        return file(track.path, "vtt", video)

    def storyboard_of(request: Request) -> VideoInfo:
        project = project_of(request)
        raw = request.path_params["storyboard"]
        if not (raw.isascii() and raw.isdigit()):
            raise _not_found(f"storyboard id {raw!r} is not an integer")
        return owned(project, "storyboard", raw, cat.storyboards.get(int(raw)))

    async def storyboard(request: Request) -> Response:
        video = storyboard_of(request)
        token = authorize(request, video)
        if state.child_tokens:
            prefix = f"{base_of(request)}/sbt/{video.project_id}/{video.storyboard_id}/"
            body = render_storyboard_vtt(media_of(video), prefix, token)
        else:
            body = render_storyboard_vtt(media_of(video), "", None)
        return text(body, "vtt", video)

    async def sprite(request: Request) -> Response:
        video = storyboard_of(request)
        name = request.path_params["name"]
        path = next((p for p in media_of(video).storyboard.sprites if p.name == name), None)
        if path is None:
            raise _not_found(f"no sprite {name!r} in storyboard {video.storyboard_id}")
        authorize(request, video)
        return file(path, "jpeg", video)

    async def original(request: Request) -> Response:
        project = project_of(request)
        video = video_in(project, request.path_params["video"])
        authorize(request, video)
        if not project.keep_originals:
            raise _refused(
                "originals_not_kept",
                f"project {project.project_id} has keep_originals=false, so the original "
                f"upload of {video.video_id!r} was not kept",
            )
        return file(media_of(video).original, "mp4", video, filename=f"{video.video_id}.mp4")

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "profile": state.media.profile})

    async def problem_handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _Problem)
        return exc.response

    async def http_error_handler(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        if status == 404:
            return _not_found(f"no route for {request.url.path!r}").response
        return JSONResponse(
            {"error": "http_error", "detail": str(getattr(exc, "detail", exc))},
            status_code=status,
            headers=dict(getattr(exc, "headers", None) or {}),
        )

    methods = ["GET", "HEAD"]
    routes = [
        Route("/_sandbox/health", health, methods=methods),
        Route("/e/{project}/{video}/", player, methods=methods),
        Route("/mmpl/{project}/{video}/", master, methods=methods),
        Route("/mpl/{project}/{preset}/", media_playlist, methods=methods),
        Route("/mpl/{project}/{preset}/{name}", segment, methods=methods),
        Route("/stcr4/{project}/{preset}/", static_mp4, methods=methods),
        Route("/pstv/{project}/{poster}/", poster, methods=methods),
        Route("/mplt/{project}/{track}/", text_track_playlist, methods=methods),
        Route("/mplt/{project}/{track}/{name}", text_track_vtt, methods=methods),
        Route("/sbt/{project}/{storyboard}/", storyboard, methods=methods),
        Route("/sbt/{project}/{storyboard}/{name}", sprite, methods=methods),
        Route("/dlo/{project}/{video}/", original, methods=methods),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=methods,
                allow_headers=["Range", "Accept", "Origin"],
                expose_headers=["Content-Length", "Content-Range", "Accept-Ranges"],
                max_age=600,
            ),
            Middleware(FaultMiddleware, get_injector=lambda: state.injector),
            Middleware(_Redirects, state=state),
        ],
        exception_handlers={_Problem: problem_handler, HTTPException: http_error_handler},
    )
    return _RequestLog(app, state)
