"""The eight signed URL kinds of HeapStream and the embed iframe, as pure functions.

One table, :data:`URL_KINDS`, drives every URL method::

    hs = HeapStream(project_id=12)
    hs.embed_url("video-id", token)   # https://app.heapstream.com/e/12/video-id/?token=...

The base URL may carry a path prefix (kept) and may be any origin, such as the sandbox.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import pandas as pd

from .errors import InvalidArgument, InvalidId
from .redaction import redact, redact_token
from .validate import unicode_text

__all__ = [
    "DEFAULT_BASE_URL",
    "EMBED_ALLOW",
    "URL_KINDS",
    "Embed",
    "HeapStream",
    "SignedUrl",
    "UrlKind",
    "embed",
    "embed_html",
    "parse_signed_url",
    "validate_id",
    "with_query",
]

DEFAULT_BASE_URL = "https://app.heapstream.com"
EMBED_ALLOW = (
    "fullscreen; accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; "
    "picture-in-picture"
)


@dataclass(frozen=True)
class UrlKind:
    """One row of the URL table."""

    kind: str  #: short name, also the ``kind`` column of :meth:`HeapStream.signed_urls`
    prefix: str  #: first path segment
    id_name: str  #: what the id in the path is
    int_id: bool  #: the docs write ``<int:...>`` for this id
    owner: str  #: what the token's ``sub`` must be: always the video that owns it
    description: str


#: The eight signed URL kinds: path ``/<prefix>/<project_id>/<id>/?token=<jwt>``.
URL_KINDS: dict[str, UrlKind] = {
    k.kind: k
    for k in (
        UrlKind("embed", "e", "video_id", False, "video", "embed (video page)"),
        UrlKind("master", "mmpl", "video_id", False, "video", "master HLS playlist"),
        UrlKind("poster", "pstv", "poster_id", False, "video", "poster image"),
        UrlKind("text_track", "mplt", "text_track_id", False, "video", "text track HLS playlist"),
        UrlKind("preset", "mpl", "preset_id", False, "video", "preset (rendition) HLS playlist"),
        UrlKind("mp4", "stcr4", "preset_id", False, "video", "static MP4 rendition"),
        UrlKind("storyboard", "sbt", "storyboard_id", True, "video", "storyboard WebVTT"),
        UrlKind(
            "original",
            "dlo",
            "video_id",
            False,
            "video",
            "original upload download (needs the project's keep_originals, default true)",
        ),
    )
}
_BY_PREFIX = {k.prefix: k for k in URL_KINDS.values()}
#: kinds whose path id *is* the video id (so ``sub`` can be checked against the URL)
VIDEO_ID_KINDS = frozenset(k.kind for k in URL_KINDS.values() if k.id_name == "video_id")

_BAD_ID = re.compile(r"[/?#%\s\x00-\x1f\x7f]")


def validate_id(value: Any, name: str = "id", *, integer: bool = False) -> str:
    """Return ``value`` as the text that goes into a URL path, or raise :class:`InvalidId`.

    Ids must be non-empty and free of ``/ ? # %`` and whitespace; ``integer`` ids (project
    and storyboard ids) must be non-negative integers (ints or digit strings).
    """
    if isinstance(value, bool) or value is None:
        raise InvalidId(
            f"{name} must be {'an integer' if integer else 'a string'}, got {redact(repr(value))}"
        )
    if integer:
        if isinstance(value, int):
            if value < 0:
                raise InvalidId(f"{name} must be a non-negative integer, got {value}")
            return str(value)
        if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
            return str(int(value.strip()))
        raise InvalidId(
            f"{name} must be an integer (HeapStream writes <int:{name}>), got {redact(repr(value))}"
        )
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidId(f"{name} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidId(f"{name} is empty")
    unicode_text(name, value, error=InvalidId)
    if value in (".", ".."):
        raise InvalidId(
            f"{name} {redact(repr(value))} is a path step, not an id: a URL with it would point "
            "at another path (copy the id from the HeapStream dashboard or API)"
        )
    bad = _BAD_ID.search(value)
    if bad:
        char = bad.group()
        if char.isspace():
            what = "whitespace"
        else:
            what = repr(char) if char.isprintable() else f"a control character ({char!r})"
        raise InvalidId(
            f"{name} {redact(repr(value))} contains {what}; ids may not contain '/', '?', '#', "
            "'%', whitespace or control characters (copy the id from the HeapStream dashboard "
            "or API)"
        )
    return value


def _token_text(token: Any) -> str:
    if not isinstance(token, str):
        raise InvalidArgument(
            f"token must be a Token or a string, got {type(token).__name__} "
            "(mint one with key.mint(video_id))"
        )
    text = str(token).strip()
    if not text:
        raise InvalidArgument("token is empty")
    return unicode_text("token", text)


def _normalise_base(base_url: str) -> str:
    if not isinstance(base_url, str) or not base_url.strip():
        raise InvalidArgument("base_url must be a non-empty URL such as https://app.heapstream.com")
    parts = _split(base_url.strip(), "base_url")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument(
            f"base_url must be an http(s) URL with a host, got {redact(repr(base_url))}"
        )
    if parts.query or parts.fragment:
        raise InvalidArgument(
            f"base_url must not carry a query or fragment: {redact(repr(base_url))}"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _split(url: str, name: str) -> SplitResult:
    """``urlsplit(url)``, with text that is no URL (an unclosed IPv6 bracket, a lone
    surrogate) raised as :class:`InvalidArgument` naming ``name`` (token redacted)."""
    unicode_text(name, url)
    try:
        return urlsplit(url)
    except ValueError as exc:
        raise InvalidArgument(f"{name} is not a valid URL: {redact(url)!r} ({exc})") from None


def with_query(url: str, **params: Any) -> str:
    """Return ``url`` with query parameters set (``None`` removes one)."""
    if not isinstance(url, str):
        raise InvalidArgument(f"url must be a str, got {type(url).__name__}")
    for key, value in params.items():
        if value is not None:
            unicode_text(f"the {key} parameter", str(value))
    parts = _split(url, "url")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, str(v)) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


class HeapStream:
    """Signed URLs for one HeapStream project.

    Args:
        project_id: the integer project id (``<int:project_id>`` in the docs).
        base_url: ``https://app.heapstream.com`` by default; any origin, with an optional
            path prefix (kept), e.g. a sandbox's ``base_url``.

    Every URL method takes the id that goes into the path and a token (a :class:`Token`
    or a plain string) whose ``sub`` is the video that owns that resource.
    """

    def __init__(self, project_id: int | str, base_url: str = DEFAULT_BASE_URL) -> None:
        self.project_id = int(validate_id(project_id, "project_id", integer=True))
        self.base_url = _normalise_base(base_url)

    def __repr__(self) -> str:
        return f"HeapStream(project_id={self.project_id}, base_url={self.base_url!r})"

    def url(self, kind: str, id: Any, token: Any, **params: Any) -> str:
        """The signed URL of ``kind`` (a key of :data:`URL_KINDS`) for ``id``."""
        try:
            spec = URL_KINDS[kind]
        except KeyError:
            raise InvalidArgument(
                f"unknown URL kind {kind!r}; choose one of {', '.join(URL_KINDS)}"
            ) from None
        path_id = validate_id(id, spec.id_name, integer=spec.int_id)
        query = [("token", _token_text(token))]
        query += [(k, str(v)) for k, v in params.items() if v is not None]
        return (
            f"{self.base_url}/{spec.prefix}/{self.project_id}/{quote(path_id, safe='')}/"
            f"?{urlencode(query, quote_via=quote)}"
        )

    def embed_url(self, video_id: str, token: Any, *, autoplay: bool = False) -> str:
        """The embed (video page) URL; ``autoplay`` adds ``autoplay=true`` (muted autoplay)."""
        return self.url("embed", video_id, token, autoplay="true" if autoplay else None)

    def master_playlist_url(self, video_id: str, token: Any) -> str:
        """The master HLS playlist of a video."""
        return self.url("master", video_id, token)

    def poster_url(self, poster_id: str, token: Any) -> str:
        """A poster image."""
        return self.url("poster", poster_id, token)

    def text_track_url(self, text_track_id: str, token: Any) -> str:
        """A text track's HLS playlist."""
        return self.url("text_track", text_track_id, token)

    def preset_playlist_url(self, preset_id: str, token: Any) -> str:
        """A preset's (rendition's) HLS media playlist."""
        return self.url("preset", preset_id, token)

    def mp4_url(self, preset_id: str, token: Any) -> str:
        """A preset's static MP4 rendition."""
        return self.url("mp4", preset_id, token)

    def storyboard_url(self, storyboard_id: int | str, token: Any) -> str:
        """A storyboard WebVTT (the storyboard id is an integer)."""
        return self.url("storyboard", storyboard_id, token)

    def original_url(self, video_id: str, token: Any) -> str:
        """The original upload. Served only when the project's ``keep_originals`` is true
        (HeapStream's default); otherwise the origin refuses it."""
        return self.url("original", video_id, token)

    def signed_urls(
        self,
        video_id: str,
        token: Any,
        preset_ids: Any = (),
        *,
        poster_id: str | None = None,
        text_track_ids: Any = (),
        storyboard_id: int | str | None = None,
        include_original: bool = True,
    ) -> pd.DataFrame:
        """Every URL that applies to a video, as a DataFrame with columns
        ``kind``, ``id``, ``url`` (``id`` is the id in the path).

        Embed, master and (unless ``include_original=False``) original always apply;
        presets give a playlist and an MP4 row each; poster, text tracks and storyboard
        appear when their ids are given.
        """
        rows: list[tuple[str, int | str]] = [("embed", video_id), ("master", video_id)]
        if poster_id is not None:
            rows.append(("poster", poster_id))
        rows += [("text_track", t) for t in _as_list(text_track_ids, "text_track_ids")]
        presets = _as_list(preset_ids, "preset_ids")
        rows += [("preset", p) for p in presets]
        rows += [("mp4", p) for p in presets]
        if storyboard_id is not None:
            rows.append(("storyboard", storyboard_id))
        if include_original:
            rows.append(("original", video_id))
        urls = [self.url(kind, id_, token) for kind, id_ in rows]
        return pd.DataFrame(
            {
                "kind": [k for k, _ in rows],
                "id": [str(i) for _, i in rows],
                "url": urls,
            }
        )


def _as_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | int):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise InvalidArgument(f"{name} must be an id or a list of ids") from None


# ---------------------------------------------------------------------------- parsing URLs


@dataclass(frozen=True)
class SignedUrl:
    """The parts of a HeapStream URL (see :func:`parse_signed_url`)."""

    kind: str
    project_id: str
    id: str
    token: str | None
    base_url: str


def parse_signed_url(url: str) -> SignedUrl | None:
    """Recognise a HeapStream URL of one of the eight kinds; ``None`` when it is not one.

    Child URLs below a kind (``/mpl/<p>/<preset>/seg-1.ts``) are recognised as that kind.
    Text that cannot be parsed as a URL at all (``"//["``, a lone surrogate) and a URL
    with two ``token`` parameters (ambiguous: origins differ in which one they read)
    raise :class:`InvalidArgument` saying it is not a HeapStream URL, quoting no token.
    """
    if not isinstance(url, str):
        return None
    try:
        unicode_text("the URL", url)
        parts = urlsplit(url)
    except InvalidArgument as exc:
        raise InvalidArgument(f"not a HeapStream URL: {exc}") from None
    except ValueError as exc:
        raise InvalidArgument(
            f"not a HeapStream URL: {redact(url)!r} cannot be parsed as a URL ({exc})"
        ) from None
    segments = parts.path.split("/")
    for i, seg in enumerate(segments):
        spec = _BY_PREFIX.get(seg)
        if spec is None or i + 2 >= len(segments):
            continue
        project, id_ = segments[i + 1], segments[i + 2]
        if not project.isdigit() or not id_:
            continue
        tokens = [v for k, v in parse_qsl(parts.query) if k == "token"]
        if len(tokens) > 1:
            raise InvalidArgument(
                f"not a HeapStream URL: {redact(url)!r} has {len(tokens)} 'token' query "
                "parameters; which one the origin reads is ambiguous: keep exactly one 'token'"
            )
        token = tokens[0] if tokens else None
        base = urlunsplit((parts.scheme, parts.netloc, "/".join(segments[:i]), "", ""))
        return SignedUrl(spec.kind, project, unquote(id_), token, base)
    return None


# ---------------------------------------------------------------------------- embed


def _dimension(value: Any, name: str) -> str:
    if isinstance(value, bool):
        raise InvalidArgument(f"{name} must be pixels (int) or a CSS length such as '100%'")
    if isinstance(value, int):
        if value <= 0:
            raise InvalidArgument(f"{name} must be > 0, got {value}")
        return str(value)
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?(%|px|vw|vh|em|rem)?", value.strip()):
        return value.strip()
    raise InvalidArgument(f"{name} must be pixels (int) or a CSS length such as '100%'")


def embed_html(
    url: str, width: int | str = 1280, height: int | str = 720, autoplay: bool = False
) -> str:
    """The iframe markup of HeapStream's docs for an embed URL (attributes HTML-escaped).

    ``autoplay`` adds the ``autoplay`` URL parameter; HeapStream then autoplays muted.
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidArgument("embed_html needs the embed URL (HeapStream.embed_url(...))")
    url = url.strip()
    parts = _split(url, "the embed URL")
    if not (
        (parts.scheme in ("http", "https") and parts.netloc)
        or (not parts.scheme and not parts.netloc and url.startswith("/"))
    ):
        raise InvalidArgument(
            "embed_html needs an http(s) URL (or a path starting with '/'), got "
            f"{redact(url)[:60]!r}: build it with HeapStream(project_id).embed_url(video_id, token)"
        )
    src = with_query(url, autoplay="true") if autoplay else url
    w, h = _dimension(width, "width"), _dimension(height, "height")
    return (
        f'<iframe src="{html.escape(src, quote=True)}" width="{html.escape(w)}" '
        f'height="{html.escape(h)}" frameborder="0" allowFullScreen style="border: none;" '
        f'allow="{EMBED_ALLOW}"></iframe>'
    )


@dataclass(frozen=True)
class Embed:
    """An embed that renders itself inline in a notebook cell."""

    url: str
    width: int | str = 1280
    height: int | str = 720
    autoplay: bool = False

    @property
    def html(self) -> str:
        return embed_html(self.url, self.width, self.height, self.autoplay)

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return (
            f"Embed(url={redact_token(self.url)!r}, width={self.width!r}, "
            f"height={self.height!r}, autoplay={self.autoplay})"
        )


def embed(
    url: str, width: int | str = 1280, height: int | str = 720, autoplay: bool = False
) -> Embed:
    """Show the player inline: the last expression of a cell renders as the iframe."""
    e = Embed(url, width, height, autoplay)
    e.html  # noqa: B018  (validate now, not at display time)
    return e
