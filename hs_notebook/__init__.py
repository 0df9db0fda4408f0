"""hs_notebook: work with HeapStream private videos from Jupyter.

Everything a notebook needs is reachable from ``import hs_notebook as hs``::

    key = hs.SigningKey.from_env()                 # or from_base64(key_id, b64)
    token = key.mint("video-id", ttl=3600)
    urls = hs.HeapStream(project_id=12).signed_urls("video-id", token)
    hs.embed(hs.HeapStream(12).embed_url("video-id", token))

The public surface is :data:`__all__`: tokens and their diagnosis, signed URLs and embeds,
fetching a ladder and the pure tables behind it, probing media segments (``probe_segment``;
``Ladder.probe``), perceptual quality (``quality``), QA and catalog audits, downloads, the
HTTP clients, the errors, the sandbox and the panels.  The sandbox (``hs.Sandbox``,
``hs.Faults``, the ``[sandbox]`` extra) and the widgets are imported lazily, on first use.
Lower-level pieces stay in their modules, each with its own ``__all__``:
``hs_notebook.hls`` (``parse_master``, ``master_playlist_info``, ...),
``hs_notebook.vtt`` (``parse_vtt``, ``Cue``), ``hs_notebook.probe`` (``SegmentProbe``),
``hs_notebook.quality.ladder`` (``LadderQuality``), ``hs_notebook.errors`` (``MediaError``),
``hs_notebook.validate``, ``hs_notebook.extras``,
``hs_notebook.widgets`` (``browser_url``, ``cut_tiles``, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .catalog import AuditResult, audit, audit_async, audit_dask
from .diagnose import TOKEN_FINDING_CODES, Diagnosis, TokenFinding, diagnose
from .download import download
from .errors import (
    TOKEN_REJECTION_REASONS,
    DownloadError,
    FetchError,
    HeapStreamError,
    InvalidArgument,
    InvalidId,
    InvalidSigningKey,
    InvalidToken,
    MissingExtra,
    NotFound,
    PlaylistError,
    SandboxError,
    TokenRejected,
    VTTError,
)
from .hls import (
    audio_table,
    iframe_table,
    renditions_table,
    segments_table,
    text_tracks_table,
)
from .http import AsyncClient, Client
from .ladder import (
    Ladder,
    fetch_ladder,
    fetch_ladder_async,
    fetch_ladder_url,
    fetch_ladder_url_async,
    ladder_from_text,
)
from .plots import bitrate_figure, findings_by_rule_figure
from .probe import probe_segment
from .qa import (
    BITRATE_COLUMNS,
    RULES,
    QAReport,
    bitrate_table,
    qa,
    qa_async,
)

# hs.quality is the ladder-level function (it replaces the package attribute: import the
# package as `from hs_notebook.quality import score, ...`)
from .quality.ladder import quality
from .quality_rules import QualityThresholds
from .redaction import redact, redact_frame, redact_token
from .tokens import SigningKey, Token, decode_token, generate_signing_key, verify_token
from .urls import (
    DEFAULT_BASE_URL,
    URL_KINDS,
    Embed,
    HeapStream,
    embed,
    embed_html,
    parse_signed_url,
)
from .vtt import cues_table, storyboard_table

if TYPE_CHECKING:
    from .sandbox import Faults, Sandbox
    from .widgets import (
        EmbedPanel,
        Inspector,
        LadderPanel,
        QualityPanel,
        StoryboardPanel,
        TokenPanel,
    )

__version__ = "0.1.0"

_LAZY = {
    # the sandbox needs the [sandbox] extra: a clear MissingExtra when it is not installed
    "Sandbox": ("hs_notebook.sandbox", "Sandbox"),
    "Faults": ("hs_notebook.sandbox", "Faults"),
    # widgets load ipywidgets and matplotlib: only on first use
    "Inspector": ("hs_notebook.widgets", "Inspector"),
    "TokenPanel": ("hs_notebook.widgets", "TokenPanel"),
    "EmbedPanel": ("hs_notebook.widgets", "EmbedPanel"),
    "LadderPanel": ("hs_notebook.widgets", "LadderPanel"),
    "StoryboardPanel": ("hs_notebook.widgets", "StoryboardPanel"),
    "QualityPanel": ("hs_notebook.widgets", "QualityPanel"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hs_notebook' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "BITRATE_COLUMNS",
    "DEFAULT_BASE_URL",
    "RULES",
    "TOKEN_FINDING_CODES",
    "TOKEN_REJECTION_REASONS",
    "URL_KINDS",
    "AsyncClient",
    "AuditResult",
    "Client",
    "Diagnosis",
    "DownloadError",
    "Embed",
    "EmbedPanel",
    "Faults",
    "FetchError",
    "HeapStream",
    "HeapStreamError",
    "Inspector",
    "InvalidArgument",
    "InvalidId",
    "InvalidSigningKey",
    "InvalidToken",
    "Ladder",
    "LadderPanel",
    "MissingExtra",
    "NotFound",
    "PlaylistError",
    "QAReport",
    "QualityPanel",
    "QualityThresholds",
    "Sandbox",
    "SandboxError",
    "SigningKey",
    "StoryboardPanel",
    "Token",
    "TokenFinding",
    "TokenPanel",
    "TokenRejected",
    "VTTError",
    "audio_table",
    "audit",
    "audit_async",
    "audit_dask",
    "bitrate_figure",
    "bitrate_table",
    "cues_table",
    "decode_token",
    "diagnose",
    "download",
    "embed",
    "embed_html",
    "fetch_ladder",
    "fetch_ladder_async",
    "fetch_ladder_url",
    "fetch_ladder_url_async",
    "findings_by_rule_figure",
    "generate_signing_key",
    "iframe_table",
    "ladder_from_text",
    "parse_signed_url",
    "probe_segment",
    "qa",
    "qa_async",
    "quality",
    "redact",
    "redact_frame",
    "redact_token",
    "renditions_table",
    "segments_table",
    "storyboard_table",
    "text_tracks_table",
    "verify_token",
]
