"""The sandbox's player page (``/e/<project>/<video>/``): a real HTML5 ``<video>`` page.

Every URL in the page is *relative* to the page (``../../../stcr4/...``), so the page keeps
working when the sandbox is reached through a path-prefixing proxy (jupyter-server-proxy,
Binder).  Everything interpolated is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PlayerTrack", "render_player"]

_CSS = """
html, body { margin: 0; padding: 0; width: 100%; height: 100%; background: #000;
  overflow: hidden; }
video { display: block; width: 100%; height: 100%; object-fit: contain; background: #000; }
""".strip()


@dataclass(frozen=True)
class PlayerTrack:
    """One ``<track>`` of the page."""

    src: str
    language: str
    label: str
    default: bool


def render_player(
    *,
    title: str,
    video_id: str,
    mp4_src: str,
    poster_src: str,
    tracks: Sequence[PlayerTrack],
    autoplay: bool = False,
) -> str:
    """The player page HTML.

    Args:
        title: the page title.
        video_id: written into ``data-video-id`` of the ``<video>``.
        mp4_src: URL of the static MP4 (the ``<source>``), token included when needed.
        poster_src: URL of the poster image.
        tracks: the subtitle tracks (WebVTT URLs).
        autoplay: adds ``autoplay muted`` (browsers only autoplay muted video).
    """
    e = html.escape
    attrs = [
        "controls",
        "playsinline",
        'preload="metadata"',
        'crossorigin="anonymous"',
        f'poster="{e(poster_src)}"',
        f'data-video-id="{e(video_id)}"',
    ]
    if autoplay:
        attrs += ["autoplay", "muted"]
    track_lines = [
        f'    <track kind="subtitles" srclang="{e(t.language)}" label="{e(t.label)}" '
        f'src="{e(t.src)}"{" default" if t.default else ""}>'
        for t in tracks
    ]
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '  <meta charset="utf-8">',
        '  <meta name="viewport" content="width=device-width, initial-scale=1">',
        f"  <title>{e(title)}</title>",
        f"  <style>\n{_CSS}\n  </style>",
        "</head>",
        "<body>",
        f"  <video {' '.join(attrs)}>",
        f'    <source src="{e(mp4_src)}" type="video/mp4">',
        *track_lines,
        "    Your browser cannot play this video.",
        "  </video>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)
