"""The Inspector: one tabbed app over every panel, for notebooks, Voilà and Binder.

>>> from hs_notebook.widgets import Inspector      # doctest: +SKIP
>>> Inspector()                                     # doctest: +SKIP

With credentials (a ``key`` argument, or ``$HEAPSTREAM_SIGNING_KEY_ID`` and
``$HEAPSTREAM_SIGNING_KEY``) it works against the real service (project and video from the
arguments or ``$HEAPSTREAM_PROJECT_ID`` / ``$HEAPSTREAM_VIDEO_ID``).  Without, it starts
the local sandbox (profile ``$HS_NOTEBOOK_SANDBOX_PROFILE``, default ``"demo"``), says so on
screen, and fills the token panel with the sandbox's video and key (the key field stays
empty: the key object is kept in the kernel).  When only one of the two variables is set,
the banner names the one that is missing (see
:func:`hs_notebook.env.missing_credentials`) and says that the sandbox is used instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as W

from hs_notebook.env import (
    ENV_KEY,
    ENV_KEY_ID,
    ENV_SANDBOX_PROFILE,
    env_value,
    missing_credentials,
)
from hs_notebook.tokens import SigningKey
from hs_notebook.widgets._common import info_html, warning_html
from hs_notebook.widgets.embed_panel import EmbedPanel
from hs_notebook.widgets.ladder_panel import LadderPanel
from hs_notebook.widgets.proxy import browser_url
from hs_notebook.widgets.quality_panel import QualityPanel
from hs_notebook.widgets.storyboard_panel import StoryboardPanel
from hs_notebook.widgets.token_panel import TokenPanel

if TYPE_CHECKING:
    from hs_notebook.sandbox import Sandbox

__all__ = ["Inspector", "start_sandbox"]


def _sandbox_reason(missing: tuple[str, ...]) -> str:
    """Why the sandbox is used, for the banner: no credentials, or which one is missing."""
    if len(missing) != 1:
        return "no credentials set"
    (absent,) = missing
    (present,) = (name for name in (ENV_KEY_ID, ENV_KEY) if name != absent)
    return (
        f"${present} is set but ${absent} is empty or unset, so the credentials are "
        "incomplete and the sandbox is used instead"
    )


def start_sandbox(profile: str | None = None) -> Sandbox:
    """Start a local sandbox (profile from the argument, ``$HS_NOTEBOOK_SANDBOX_PROFILE`` or
    ``"demo"``) and return it running."""
    from hs_notebook.sandbox import Sandbox

    sb = Sandbox(profile=profile or env_value(ENV_SANDBOX_PROFILE, default="demo"))
    sb.start()
    return sb


class Inspector(W.VBox):
    """Every panel in one :class:`ipywidgets.Tab`, over one token.

    Args:
        project_id, base_url, key, video_id: as for :class:`TokenPanel`.
        sandbox_profile: profile of the sandbox started when there are no credentials.

    Attributes: ``token_panel``, ``embed_panel``, ``ladder_panel``, ``storyboard_panel``,
    ``quality_panel``,
    ``tabs``, and ``sandbox`` (the running :class:`~hs_notebook.sandbox.Sandbox`, or ``None``
    when working against a real origin).  :meth:`close` also stops the sandbox.
    """

    def __init__(
        self,
        project_id: int | str | None = None,
        base_url: str | None = None,
        key: SigningKey | None = None,
        video_id: str | None = None,
        *,
        sandbox_profile: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sandbox: Sandbox | None = None
        missing = missing_credentials()
        if key is None and missing:
            sb = start_sandbox(sandbox_profile)
            self.sandbox = sb
            info = sb.videos[sb.video_id]
            self.token_panel = TokenPanel(
                video_id=video_id or sb.video_id,
                key=sb.signing_key,
                project_id=sb.project_id,
                base_url=sb.base_url,
                preset_ids=list(info.presets.values()),
                poster_id=info.poster_id,
                text_track_ids=list(info.text_tracks.values()),
                storyboard_id=info.storyboard_id,
                use_env=False,
            )
            shown = browser_url(sb.base_url)
            via = f" (your browser reaches it at {shown})" if shown != sb.base_url else ""
            note = warning_html if len(missing) == 1 else info_html
            self.banner = W.HTML(
                note(
                    f"Using the local sandbox at {sb.base_url}: {_sandbox_reason(missing)}"
                    f"{via}. Set both ${ENV_KEY_ID} and ${ENV_KEY} to use HeapStream."
                )
            )
        else:
            self.token_panel = TokenPanel(
                video_id=video_id, key=key, project_id=project_id, base_url=base_url
            )
            self.banner = W.HTML("")
        self.embed_panel = EmbedPanel(self.token_panel)
        self.ladder_panel = LadderPanel(self.token_panel)
        self.storyboard_panel = StoryboardPanel(self.token_panel)
        self.quality_panel = QualityPanel(self.token_panel)
        self.tabs = W.Tab(
            children=[
                self.token_panel,
                self.embed_panel,
                self.ladder_panel,
                self.storyboard_panel,
                self.quality_panel,
            ],
            titles=("Token", "Embed", "Ladder", "Storyboard & text", "Quality"),
        )
        self.children = [
            W.HTML("<h2 style='margin:4px 0'>HeapStream Inspector</h2>"),
            self.banner,
            self.tabs,
        ]

    def close(self) -> None:
        """Close every panel and stop the sandbox (when one was started)."""
        # getattr: ipywidgets closes a widget when it is collected, also one whose
        # __init__ failed half-way (e.g. MissingExtra before the panels were made)
        for name in (
            "quality_panel",
            "storyboard_panel",
            "ladder_panel",
            "embed_panel",
            "token_panel",
        ):
            panel = getattr(self, name, None)
            if panel is not None:
                panel.close()
        sandbox = getattr(self, "sandbox", None)
        if sandbox is not None:
            sandbox.stop()
        super().close()

    def __repr__(self) -> str:
        where = f"sandbox at {self.sandbox.base_url}" if self.sandbox is not None else "HeapStream"
        return f"<Inspector ({where}) {self.token_panel!r}>"
