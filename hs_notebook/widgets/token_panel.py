"""The token panel: mint a signed-URL token and see what it unlocks.

The private key is read from a password field (base64 PEM as the HeapStream API returns it,
or PEM) only when *Mint* is clicked, parsed with :meth:`SigningKey.load`, and kept as a
:class:`~hs_notebook.tokens.SigningKey` object.  The field is cleared on every *Mint*,
whether the mint works or not: a key that parsed is kept (as the object) even when the mint
then fails; a key that did not parse is gone, and the error says to paste it again.  The key
is never written into any other widget, output, repr, log or error message.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict

import ipywidgets as W
import pandas as pd
from traitlets import Unicode

from hs_notebook import formatting
from hs_notebook.diagnose import Diagnosis, diagnose
from hs_notebook.env import (
    ENV_BASE_URL,
    ENV_KEY,
    ENV_KEY_ID,
    ENV_PROJECT_ID,
    ENV_VIDEO_ID,
    env_value,
    missing_credentials,
)
from hs_notebook.errors import HeapStreamError, InvalidArgument
from hs_notebook.redaction import redact
from hs_notebook.tokens import SigningKey, Token
from hs_notebook.urls import DEFAULT_BASE_URL, HeapStream
from hs_notebook.widgets._common import Ticker, error_html
from hs_notebook.widgets.proxy import browser_url

if TYPE_CHECKING:
    from hs_notebook.ladder import Ladder

__all__ = ["TTL_CHOICES", "Resources", "TokenPanel"]


class Resources(TypedDict):
    """The ids a :class:`TokenPanel` lists signed URLs for (:attr:`TokenPanel.resources`)."""

    preset_ids: list[str]
    poster_id: str | None
    text_track_ids: list[str]
    storyboard_id: int | str | None


#: The TTL dropdown: label -> seconds (``0`` means "custom": the seconds field is used).
TTL_CHOICES: dict[str, int] = {"1 hour": 3600, "24 hours": 86400, "custom": 0}


class TokenPanel(W.VBox):
    """Mint a token: video id, signing key, lifetime; shows the token, its header and
    claims, a live "expires in", the :func:`~hs_notebook.diagnose` findings and the
    signed URLs.

    Args:
        video_id: the video to mint for (default ``$HEAPSTREAM_VIDEO_ID``).
        key: a :class:`SigningKey` (default: ``$HEAPSTREAM_SIGNING_KEY_ID`` and
            ``$HEAPSTREAM_SIGNING_KEY`` when set). The key field on screen stays empty.
        project_id: the project (default ``$HEAPSTREAM_PROJECT_ID``).
        base_url: the origin (default ``$HEAPSTREAM_BASE_URL`` or app.heapstream.com).
        ttl: initial lifetime in seconds (3600 and 86400 are presets, others are custom).
        preset_ids, poster_id, text_track_ids, storyboard_id: ids whose signed URLs are
            listed too (see :meth:`set_resources`).
        use_env: read the defaults from the environment (set ``False`` for scripting).

    Traits:
        token: the last minted token (compact JWT), ``""`` before the first mint.
    """

    token = Unicode("", help="the last minted token (compact JWT); '' before minting")

    def __init__(
        self,
        video_id: str | None = None,
        key: SigningKey | None = None,
        project_id: int | str | None = None,
        base_url: str | None = None,
        *,
        ttl: int = 3600,
        preset_ids: Iterable[str] = (),
        poster_id: str | None = None,
        text_track_ids: Iterable[str] = (),
        storyboard_id: int | str | None = None,
        use_env: bool = True,
        environ: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        env: Mapping[str, str] = (os.environ if environ is None else environ) if use_env else {}
        key_note = ""
        env_error = ""
        if key is not None and not isinstance(key, SigningKey):
            raise InvalidArgument(
                f"key must be a SigningKey (SigningKey.load(key_id, text)), got "
                f"{type(key).__name__}"
            )
        missing = missing_credentials(env)
        have_id, have_key = ENV_KEY_ID not in missing, ENV_KEY not in missing
        if key is None and have_id and have_key:
            try:
                key = SigningKey.from_env(env)
                key_note = f"from ${ENV_KEY}"
            except HeapStreamError as exc:
                env_error = f"${ENV_KEY_ID}/${ENV_KEY}: {exc}"
        elif key is None and have_id != have_key:
            present, absent = (ENV_KEY_ID, ENV_KEY) if have_id else (ENV_KEY, ENV_KEY_ID)
            env_error = (
                f"${present} is set but ${absent} is empty or unset: set both, or paste the "
                "key and its id here"
            )
        elif key is not None:
            key_note = "given to the panel"

        #: the signing key in use (never displayed); ``None`` until one is given or pasted
        self.signing_key: SigningKey | None = key
        #: the :class:`Token` behind :attr:`token` (``None`` before minting)
        self.token_object: Token | None = None
        #: the :class:`HeapStream` (project and origin) of the last mint
        self.heapstream: HeapStream | None = None
        #: the video id of the last mint
        self.minted_video_id: str | None = None
        #: the signed URLs of the last mint (``kind``, ``id``, ``url``)
        self.urls: pd.DataFrame | None = None
        #: the diagnosis of the last mint
        self.diagnosis: Diagnosis | None = None
        self._resources: Resources = {
            "preset_ids": list(preset_ids),
            "poster_id": poster_id,
            "text_track_ids": list(text_track_ids),
            "storyboard_id": storyboard_id,
        }
        self._ladder_cache: tuple[str, Ladder] | None = None

        style = {"description_width": "9em"}
        wide = W.Layout(width="34em")
        self.video_id_field = W.Text(
            value=video_id if video_id is not None else env_value(ENV_VIDEO_ID, env),
            description="video id",
            placeholder="the HeapStream video id",
            style=style,
            layout=wide,
        )
        self.key_id_field = W.Text(
            value=key.key_id if key is not None else env_value(ENV_KEY_ID, env),
            description="signing key id",
            placeholder="the key id returned with the key",
            style=style,
            layout=wide,
        )
        self.private_key_field = W.Password(
            value="",
            description="private key",
            placeholder=(
                "loaded; paste another key to replace it"
                if key is not None
                else "paste the base64 private key (or PEM)"
            ),
            style=style,
            layout=wide,
        )
        self.key_status = W.HTML()
        self.ttl_field = W.Dropdown(
            options=list(TTL_CHOICES.items()),
            value=ttl if ttl in (3600, 86400) else 0,
            description="lifetime",
            style=style,
        )
        self.custom_ttl_field = W.BoundedIntText(
            value=ttl if ttl not in (3600, 86400) else 600,
            min=1,
            max=10 * 366 * 86400,
            description="seconds",
            layout=W.Layout(width="14em"),
        )
        self.nbf_checkbox = W.Checkbox(
            value=False, description="not before", indent=False, layout=W.Layout(width="7em")
        )
        self.nbf_offset_field = W.IntText(
            value=0,
            description="seconds from now (may be < 0)",
            style={"description_width": "initial"},
            layout=W.Layout(width="20em"),
            disabled=True,
        )
        self.project_id_field = W.Text(
            value=str(project_id) if project_id is not None else env_value(ENV_PROJECT_ID, env),
            description="project id",
            style=style,
            layout=wide,
        )
        self.base_url_field = W.Text(
            value=base_url or env_value(ENV_BASE_URL, env, DEFAULT_BASE_URL),
            description="base URL",
            style=style,
            layout=wide,
        )
        self.mint_button = W.Button(
            description="Mint", button_style="primary", icon="key", tooltip="mint a token"
        )
        self.error_area = W.HTML(value=error_html(env_error) if env_error else "")

        self.token_field = W.Textarea(
            value="",
            placeholder="the token appears here after Mint",
            description="token",
            style=style,
            layout=W.Layout(width="100%", height="5.5em"),
        )
        self.expires_label = W.Label(value="")
        self.header_claims = W.HTML()
        self.diagnosis_area = W.HTML()
        self.links_area = W.HTML()

        self._ticker = Ticker(self._update_expiry)
        self._set_key_status(self.signing_key, key_note)
        self.token_field.observe(self._keep_read_only, names="value")
        self.ttl_field.observe(self._toggle_custom, names="value")
        self.nbf_checkbox.observe(
            lambda ch: setattr(self.nbf_offset_field, "disabled", not ch["new"]), names="value"
        )
        self.mint_button.on_click(lambda _b: self.mint())
        self._toggle_custom()

        self.children = [
            W.HTML("<h3 style='margin:4px 0'>Mint a signed-URL token</h3>"),
            self.video_id_field,
            self.key_id_field,
            self.private_key_field,
            self.key_status,
            W.HBox([self.ttl_field, self.custom_ttl_field]),
            W.HBox([self.nbf_checkbox, self.nbf_offset_field]),
            self.project_id_field,
            self.base_url_field,
            self.mint_button,
            self.error_area,
            self.token_field,
            self.expires_label,
            self.header_claims,
            self.diagnosis_area,
            self.links_area,
        ]

    # ------------------------------------------------------------------ public API
    @property
    def key(self) -> SigningKey | None:
        """Alias of :attr:`signing_key`."""
        return self.signing_key

    @property
    def resources(self) -> Resources:
        """Ids whose signed URLs are listed besides embed, master and original (a copy)."""
        return Resources(
            preset_ids=list(self._resources["preset_ids"]),
            poster_id=self._resources["poster_id"],
            text_track_ids=list(self._resources["text_track_ids"]),
            storyboard_id=self._resources["storyboard_id"],
        )

    def set_resources(
        self,
        *,
        preset_ids: Iterable[str] | None = None,
        poster_id: str | None = None,
        text_track_ids: Iterable[str] | None = None,
        storyboard_id: int | str | None = None,
    ) -> None:
        """Set the ids of presets, poster, text tracks and storyboard to list URLs for
        (``None`` keeps the current value) and refresh the list."""
        if preset_ids is not None:
            self._resources["preset_ids"] = list(preset_ids)
        if poster_id is not None:
            self._resources["poster_id"] = poster_id
        if text_track_ids is not None:
            self._resources["text_track_ids"] = list(text_track_ids)
        if storyboard_id is not None:
            self._resources["storyboard_id"] = storyboard_id
        if self.token_object is not None and self.heapstream is not None and self.minted_video_id:
            try:
                self.urls = self._signed_urls(
                    self.heapstream, self.minted_video_id, self.token_object
                )
            except HeapStreamError as exc:
                self.error_area.value = error_html(str(exc))
                return
            self.links_area.value = self._links_html(self.urls)

    def mint(self) -> Token | None:
        """Mint with the values on screen. Returns the token, or ``None`` after showing an
        error (the previous token and URLs then stay as they were).

        The private key field is cleared on every call.  A pasted key that parses becomes
        :attr:`signing_key` even if the mint then fails, so it need not be pasted again; a
        pasted key that does not parse is dropped and the error asks for it again."""
        pasted = self.private_key_field.value
        self.private_key_field.value = ""  # never leave the key in the widget's state
        try:
            key = self._resolve_key(pasted)
        except HeapStreamError as exc:
            again = " The key field was cleared: paste the key again." if pasted.strip() else ""
            self.error_area.value = error_html(f"{exc}{again}", "Could not mint")
            return None
        if pasted.strip():
            self.signing_key = key
            self._set_key_status(key, "pasted")
        try:
            video_id = self.video_id_field.value.strip()
            if not video_id:
                raise InvalidArgument("the video id is empty: enter the id of the video")
            if not self.project_id_field.value.strip():
                raise InvalidArgument("the project id is empty: enter the integer project id")
            hs = HeapStream(self.project_id_field.value.strip(), self.base_url_field.value.strip())
            ttl = self.ttl_field.value or self.custom_ttl_field.value
            nbf = self.nbf_offset_field.value if self.nbf_checkbox.value else None
            token = key.mint(video_id, ttl, not_before=nbf)
            urls = self._signed_urls(hs, video_id, token)
            diagnosis = diagnose(token, url=hs.embed_url(video_id, token), public_key=key)
        except HeapStreamError as exc:
            self.error_area.value = error_html(str(exc), "Could not mint")
            return None

        # everything worked: commit
        if key is not self.signing_key:
            self._set_key_status(key, "re-labelled")
        self.signing_key = key
        self.heapstream = hs
        self.minted_video_id = video_id
        self.urls = urls
        self.diagnosis = diagnosis
        self.token_object = token
        self._ladder_cache = None
        self.error_area.value = ""
        self.token_field.value = str(token)
        self.header_claims.value = self._header_claims_html(token)
        self.diagnosis_area.value = (
            "<div><b>Diagnosis</b> (checked locally against the key's public half)</div>"
            + diagnosis._repr_html_()
        )
        self.links_area.value = self._links_html(urls)
        self._update_expiry()
        self._ticker.start()
        self.token = str(token)
        return token

    def ladder(self, *, refresh: bool = False) -> Ladder:
        """The :class:`~hs_notebook.ladder.Ladder` of the minted video (fetched once per
        token with :func:`hs_notebook.ladder.fetch_ladder`; shared by the other panels)."""
        from hs_notebook.ladder import fetch_ladder

        if not self.token or self.heapstream is None or self.minted_video_id is None:
            raise InvalidArgument("mint a token first (the Mint button of the token panel)")
        if refresh or self._ladder_cache is None or self._ladder_cache[0] != self.token:
            ladder = fetch_ladder(
                self.minted_video_id,
                self.signing_key,
                self.heapstream.project_id,
                self.heapstream.base_url,
                token=self.token_object,
            )
            self._ladder_cache = (self.token, ladder)
        return self._ladder_cache[1]

    def close(self) -> None:
        self._ticker.stop()
        super().close()

    def __repr__(self) -> str:
        tok = repr(self.token_object) if self.token_object is not None else "no token yet"
        return f"<TokenPanel key={self.signing_key!r} {tok}>"

    # ------------------------------------------------------------------ internals
    def _resolve_key(self, pasted: str) -> SigningKey:
        key_id = self.key_id_field.value.strip()
        if pasted.strip():
            return SigningKey.load(key_id, pasted.strip())
        if self.signing_key is None:
            raise InvalidArgument(
                "no signing key: paste the base64 private key the HeapStream API returned "
                f"(or set ${ENV_KEY_ID} and ${ENV_KEY})"
            )
        if key_id == self.signing_key.key_id:
            return self.signing_key
        # same private key under another key id (validated by SigningKey)
        return SigningKey.from_pem(key_id, self.signing_key.private_key_pem())

    def _set_key_status(self, key: SigningKey | None, how: str) -> None:
        if key is None:
            self.key_status.value = "<small><i>no key loaded</i></small>"
        else:
            self.key_status.value = (
                f"<small>key loaded ({html.escape(how)}): <code>{html.escape(repr(key))}</code>"
                " — its private half is kept in the kernel and never shown</small>"
            )

    def _signed_urls(self, hs: HeapStream, video_id: str, token: Token) -> pd.DataFrame:
        r = self._resources
        return hs.signed_urls(
            video_id,
            token,
            preset_ids=r["preset_ids"],
            poster_id=r["poster_id"],
            text_track_ids=r["text_track_ids"],
            storyboard_id=r["storyboard_id"],
        )

    def _keep_read_only(self, change: dict[str, Any]) -> None:
        shown = str(self.token_object) if self.token_object is not None else ""
        if change["new"] != shown:
            self.token_field.value = shown

    def _toggle_custom(self, _change: Any = None) -> None:
        self.custom_ttl_field.layout.display = "" if self.ttl_field.value == 0 else "none"

    def _update_expiry(self) -> bool:
        tok = self.token_object
        if tok is None:
            self.expires_label.value = ""
            return False
        exp = tok.expires_at
        if exp is None:
            self.expires_label.value = "no expiry"
            return False
        left = exp - datetime.now(UTC)
        if left.total_seconds() <= 0:
            self.expires_label.value = f"expired at {exp:%Y-%m-%d %H:%M:%S} UTC"
            return False
        self.expires_label.value = (
            f"expires in {formatting.duration(left)} (at {exp:%Y-%m-%d %H:%M:%S} UTC)"
        )
        return True

    @staticmethod
    def _header_claims_html(token: Token) -> str:
        def rows(pairs: Iterable[tuple[str, str]]) -> str:
            return "".join(
                f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
                f"<td style='text-align:left'><code>{html.escape(v)}</code></td></tr>"
                for k, v in pairs
            )

        header = [(k, json.dumps(v)) for k, v in token.header.items()]
        return (
            "<div style='display:flex;gap:3em;flex-wrap:wrap'>"
            f"<div><b>header</b><table>{rows(header)}</table></div>"
            f"<div><b>claims</b><table>{rows(token.describe_claims())}</table></div></div>"
        )

    @staticmethod
    def _links_html(urls: pd.DataFrame) -> str:
        items = "".join(
            f"<tr><td>{html.escape(kind)}</td><td><code>{html.escape(str(id_))}</code>"
            f"</td><td><a href='{html.escape(browser_url(url), quote=True)}' "
            f"target='_blank' rel='noopener noreferrer' style='color:#0969da;"
            f"text-decoration:underline'>{html.escape(redact(url))}"
            "</a></td></tr>"
            for kind, id_, url in zip(
                urls["kind"].astype(str), urls["id"], urls["url"].astype(str), strict=True
            )
        )
        return (
            "<div><b>Signed URLs</b> <small>(links carry the token; shown here with it "
            "redacted)</small></div>"
            "<table class='hs-urls' style='font-size:12px'>"
            f"<tr><th>kind</th><th>id</th><th>url</th></tr>{items}</table>"
        )
