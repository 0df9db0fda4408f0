"""Build a :class:`~hs_notebook.ladder.Ladder`: fetch the signed master playlist and every
preset playlist (concurrently: two round trips for the whole ladder), or read them from
text with no HTTP (:func:`ladder_from_text`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hs_notebook.errors import InvalidArgument, InvalidToken, PlaylistError
from hs_notebook.hls import Variant, read_master
from hs_notebook.http import AsyncClient, Client, default_client, token_of, without_token
from hs_notebook.ladder.model import Ladder, LadderMedia, gather_all, media_key
from hs_notebook.ladder.propagation import effective_variants, shown
from hs_notebook.redaction import redact
from hs_notebook.tokens import SigningKey, Token, decode_token
from hs_notebook.urls import DEFAULT_BASE_URL, HeapStream

__all__ = [
    "VARIANT_CONCURRENCY",
    "fetch_ladder",
    "fetch_ladder_async",
    "fetch_ladder_url",
    "fetch_ladder_url_async",
    "ladder_from_text",
]

#: Most variant (preset) playlists of one ladder fetched at once: a huge ladder must not
#: queue more requests than a connection pool serves before its pool timeout.
VARIANT_CONCURRENCY = 8


def _as_token(text: str | None) -> Token | None:
    if not text:
        return None
    try:
        return decode_token(text)
    except InvalidToken:
        return None  # the origin will say malformed_token, with a diagnosis


def _variant_urls(variants: tuple[Variant, ...]) -> dict[str, str]:
    """``{key: effective URL}`` of the distinct variant playlists, in ladder order."""
    out: dict[str, str] = {}
    for variant in variants:
        key, uri = media_key(variant), variant.uri
        if key is not None and key not in out and isinstance(uri, str):
            out[key] = uri
    return out


async def _fetch_with(ac: AsyncClient, master_url: str) -> dict[str, Any]:
    """Fetch the master, then every variant concurrently: the keyword arguments of a
    fetchable :class:`Ladder` (but the client)."""
    master = await ac.fetch(master_url, expect="playlist")
    master_text = master.text
    parsed = read_master(master_text, master.final_url)
    effective = effective_variants(parsed)
    variants = _variant_urls(effective)
    for key, url in variants.items():
        if not url.startswith(("http://", "https://")):
            raise PlaylistError(
                f"variant {shown(key)!r} has a URI that cannot be fetched: {shown(url)!r}"
            )
    fetched = await gather_all(
        [ac.fetch(u, expect="playlist") for u in variants.values()], limit=VARIANT_CONCURRENCY
    )
    media = {
        key: LadderMedia(key, got.text, got.final_url)
        for key, got in zip(variants, fetched, strict=True)
    }
    return {
        "master_url": master_url,
        "master_text": master_text,
        "media": media,
        "base_url": master.final_url,
        "token": _as_token(token_of(master_url)),
        "master": parsed,
        "variants": effective,
    }


def _check_url(master_url: Any) -> str:
    if not isinstance(master_url, str):
        raise InvalidArgument(
            f"master_url must be an absolute http(s) URL (a str), got {type(master_url).__name__}"
        )
    if not master_url.startswith(("http://", "https://")):
        raise InvalidArgument(
            f"master_url must be an absolute http(s) URL, got {redact(str(master_url))!r}"
        )
    return master_url


async def fetch_ladder_url_async(master_url: str, *, client: AsyncClient | None = None) -> Ladder:
    """Async :func:`fetch_ladder_url`; with ``client=None`` a temporary :class:`AsyncClient` is
    used (pass one to share its connections across many videos)."""
    master_url = _check_url(master_url)
    if client is not None and not isinstance(client, AsyncClient):
        raise InvalidArgument(
            f"fetch_ladder_url_async needs an AsyncClient, got {type(client).__name__} "
            "(use fetch_ladder_url with a Client)"
        )
    if client is None:
        async with AsyncClient() as temporary:
            parts = await _fetch_with(temporary, master_url)
    else:
        parts = await _fetch_with(client, master_url)
    return Ladder(**parts, aclient=client)


def fetch_ladder_url(master_url: str, *, client: Client | None = None) -> Ladder:
    """Inspect the ladder behind a signed master playlist URL (``/mmpl/...?token=``).

    Fetches the master, then every preset playlist concurrently, and returns a
    :class:`Ladder`.  Works in scripts and in Jupyter cells alike.  Raises
    :class:`~hs_notebook.errors.TokenRejected`, :class:`~hs_notebook.errors.NotFound`,
    :class:`~hs_notebook.errors.FetchError` or :class:`~hs_notebook.errors.PlaylistError`.
    """
    master_url = _check_url(master_url)
    if client is not None and not isinstance(client, Client):
        raise InvalidArgument(
            f"fetch_ladder_url needs a Client, got {type(client).__name__} "
            "(use fetch_ladder_url_async with an AsyncClient)"
        )
    used = client or default_client()
    parts = used.run(lambda ac: _fetch_with(ac, master_url))
    return Ladder(**parts, client=client)


def _master_url(
    video_id: str,
    key: SigningKey | None,
    project_id: int | str,
    base_url: str | None,
    ttl: float,
    token: str | Token | None,
) -> str:
    if token is None:
        if not isinstance(key, SigningKey):
            raise InvalidArgument(
                f"key must be a SigningKey (SigningKey.from_base64(key_id, b64)), got "
                f"{type(key).__name__}; or pass token= a ready token"
            )
        token = key.mint(video_id, ttl)
    return HeapStream(project_id, base_url or DEFAULT_BASE_URL).master_playlist_url(video_id, token)


def fetch_ladder(
    video_id: str,
    key: SigningKey | None,
    project_id: int | str,
    base_url: str | None = None,
    *,
    ttl: float = 3600,
    client: Client | None = None,
    token: str | Token | None = None,
) -> Ladder:
    """Mint a token for ``video_id`` (``key.mint(video_id, ttl)``, or use ``token``), and
    fetch its ladder on ``base_url`` (HeapStream by default).  See :func:`fetch_ladder_url`."""
    url = _master_url(video_id, key, project_id, base_url, ttl, token)
    ladder = fetch_ladder_url(url, client=client)
    if token is None and ladder.token is None:  # pragma: no cover - minted tokens parse
        ladder.token = _as_token(token_of(url))
    return ladder


async def fetch_ladder_async(
    video_id: str,
    key: SigningKey | None,
    project_id: int | str,
    base_url: str | None = None,
    *,
    ttl: float = 3600,
    client: AsyncClient | None = None,
    token: str | Token | None = None,
) -> Ladder:
    """Async :func:`fetch_ladder` (for audits that fetch many videos at once)."""
    url = _master_url(video_id, key, project_id, base_url, ttl, token)
    return await fetch_ladder_url_async(url, client=client)


def ladder_from_text(
    master_text: str,
    media: Mapping[str, str] | None = None,
    base_uri: str | None = None,
) -> Ladder:
    """A :class:`Ladder` from playlist text, with no HTTP.

    Args:
        master_text: the master playlist.
        media: ``{preset id or variant URI (as written or resolved): media playlist text}``.
        base_uri: the master's URL, to resolve relative URIs (and carry its token to
            same-origin children, as a fetch would).

    On-demand fetches (storyboard, cues, sprites, sizes) raise :class:`HeapStreamError`.
    """
    if not isinstance(master_text, str):
        raise InvalidArgument(
            f"master_text must be the master playlist text (a str), got "
            f"{type(master_text).__name__}"
            + ("; decode it first (data.decode('utf-8'))" if isinstance(master_text, bytes) else "")
        )
    if media is not None and not isinstance(media, Mapping):
        raise InvalidArgument(
            "media must be a mapping {preset_id or variant URI: media playlist text}, got "
            f"{type(media).__name__}"
        )
    if base_uri is not None and not isinstance(base_uri, str):
        raise InvalidArgument(
            f"base_uri must be the master playlist's URL (a str) or None, got "
            f"{type(base_uri).__name__}"
        )
    given = dict(media or {})
    for k, v in given.items():
        if not isinstance(k, str):
            raise InvalidArgument(
                f"media keys must be preset ids or variant URIs (str), got "
                f"{type(k).__name__} {shown(k)!r}"
            )
        if not isinstance(v, str):
            raise InvalidArgument(
                f"media[{shown(k)!r}] must be media playlist text (a str), got {type(v).__name__}"
            )
    parsed = read_master(master_text, base_uri)
    effective = effective_variants(parsed)
    keys = [media_key(v) for v in effective]
    uris = [v.uri for v in effective]
    # the URIs as written, only needed when a media key is neither a preset id nor resolved
    if base_uri and not set(given) <= set(keys) | set(uris):
        raw_uris = [v.uri for v in read_master(master_text).variants]  # as written
    else:
        raw_uris = uris
    built: dict[str, LadderMedia] = {}
    used: set[str] = set()
    for key, uri, raw_uri in zip(keys, uris, raw_uris, strict=True) if given else ():
        if key is None or key in built:
            continue
        match = next((c for c in (key, uri, raw_uri) if isinstance(c, str) and c in given), None)
        if match is None and isinstance(uri, str) and "://" in uri:
            bare = without_token(uri)
            match = bare if bare in given else None
        if match is not None:
            base = uri if isinstance(uri, str) and "://" in uri else None
            built[key] = LadderMedia(key, given[match], base)
            used.add(match)
    unknown = [k for k in given if k not in used]
    if unknown:
        raise InvalidArgument(
            f"media keys {[shown(k) for k in unknown]!r} match no variant of the master "
            "playlist; use the preset "
            "ids of renditions_table(master_text).preset_id or the variant URIs"
        )
    return Ladder(
        master_url=base_uri,
        master_text=master_text,
        media=built,
        base_url=base_uri,
        token=_as_token(token_of(base_uri)) if base_uri else None,
        fetchable=False,
        master=parsed,
        variants=effective,
    )
