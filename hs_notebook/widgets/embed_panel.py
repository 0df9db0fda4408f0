"""The embed panel: HeapStream's player iframe for the token panel's current token.

The iframe's ``src`` is the signed embed URL made browser-facing with
:func:`hs_notebook.widgets.proxy.browser_url` (on JupyterHub/Binder a sandbox on loopback
is reached through jupyter-server-proxy); the markup is :func:`hs_notebook.urls.embed_html`.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as W
from traitlets import Unicode

from hs_notebook.errors import HeapStreamError
from hs_notebook.redaction import redact
from hs_notebook.urls import embed_html, with_query
from hs_notebook.widgets._common import error_html, info_html
from hs_notebook.widgets.proxy import browser_url
from hs_notebook.widgets.token_panel import TokenPanel

__all__ = ["EmbedPanel"]


class EmbedPanel(W.VBox):
    """The player inline, following ``token_panel.token``.

    Args:
        token_panel: the :class:`TokenPanel` whose token (and project, origin and video)
            this panel embeds.
        width, height: initial iframe size in pixels.
        autoplay: start playing (muted) on load.

    Traits:
        src: the iframe's ``src`` (browser-facing, token included), ``""`` before a token.
    """

    src = Unicode("", help="the iframe src (browser-facing signed embed URL)")

    def __init__(
        self,
        token_panel: TokenPanel,
        *,
        width: int = 640,
        height: int = 360,
        autoplay: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.token_panel = token_panel
        self.width_field = W.BoundedIntText(
            value=width, min=64, max=3840, description="width", layout=W.Layout(width="11em")
        )
        self.height_field = W.BoundedIntText(
            value=height, min=36, max=2160, description="height", layout=W.Layout(width="11em")
        )
        self.autoplay_checkbox = W.Checkbox(value=autoplay, description="autoplay (muted)")
        self.frame = W.HTML()
        self.code = W.HTML()
        for field in (self.width_field, self.height_field, self.autoplay_checkbox):
            field.observe(self.render, names="value")
        token_panel.observe(self.render, names="token")
        self.children = [
            W.HTML("<h3 style='margin:4px 0'>Embed</h3>"),
            W.HBox([self.width_field, self.height_field, self.autoplay_checkbox]),
            self.frame,
            self.code,
        ]
        self.render()

    def __repr__(self) -> str:
        shown = redact(self.src) if self.src else "no token yet"
        return f"<EmbedPanel {self.width_field.value}x{self.height_field.value} {shown}>"

    def render(self, _change: Any = None) -> None:
        """Re-render the iframe for the current token and controls."""
        tp = self.token_panel
        if not tp.token or tp.heapstream is None or tp.minted_video_id is None:
            self.src = ""
            self.frame.value = info_html("Mint a token in the token panel to see the player.")
            self.code.value = ""
            return
        try:
            url = browser_url(tp.heapstream.embed_url(tp.minted_video_id, tp.token))
            markup = embed_html(
                url,
                width=self.width_field.value,
                height=self.height_field.value,
                autoplay=self.autoplay_checkbox.value,
            )
        except HeapStreamError as exc:
            self.frame.value = error_html(str(exc))
            return
        self.src = with_query(url, autoplay="true") if self.autoplay_checkbox.value else url
        self.frame.value = markup
        self.code.value = (
            "<details><summary><small>iframe markup (contains the token)</small></summary>"
            f"<pre style='white-space:pre-wrap;word-break:break-all;font-size:11px'>"
            f"{html.escape(markup)}</pre></details>"
        )
