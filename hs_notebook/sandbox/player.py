"""The sandbox's player page (``/e/<project>/<video>/``): a real HTML5 ``<video>`` page.

The ``<video>`` lists two sources: the master playlist (``application/vnd.apple.mpegurl``),
which browsers that play HLS natively pick (Safari, iOS, Android, Chromium 156 here), then
the static MP4 for every other browser; the choice is the browser's own, no script
involved.  An overlay in the top right corner (clear of the picture's own timecode) shows
what is playing: ``HLS`` or ``MP4`` and the frame size of the rendition being decoded
(``videoWidth`` x ``videoHeight``, updated on every ``resize``, so an HLS rendition switch
shows).  The poster is the first frame of the video.

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
#rendition { position: absolute; top: 8px; right: 8px; padding: 2px 6px; border-radius: 3px;
  font: 12px/1.4 system-ui, sans-serif; color: #fff; background: rgba(0, 0, 0, 0.6);
  pointer-events: none; }
#rendition:empty { display: none; }
""".strip()

#: Keeps the overlay on what is playing: the source kind and the decoded frame size.
_SCRIPT = """
(function () {
  var video = document.querySelector("video");
  var label = document.getElementById("rendition");
  function show() {
    if (!video.videoWidth) { return; }
    var src = video.currentSrc || "";
    var kind = src.indexOf("/mmpl/") >= 0 ? "HLS" : "MP4";
    label.textContent = kind + " " + video.videoWidth + "\u00d7" + video.videoHeight;
    label.dataset.width = video.videoWidth;
    label.dataset.height = video.videoHeight;
    label.dataset.kind = kind;
  }
  ["loadedmetadata", "resize", "playing"].forEach(function (e) {
    video.addEventListener(e, show);
  });
  show();
})();
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
    hls_src: str,
    mp4_src: str,
    poster_src: str,
    tracks: Sequence[PlayerTrack],
    autoplay: bool = False,
) -> str:
    """The player page HTML.

    Args:
        title: the page title.
        video_id: written into ``data-video-id`` of the ``<video>``.
        hls_src: URL of the master playlist (the first ``<source>``), token included.
        mp4_src: URL of the static MP4 (the fallback ``<source>``), token included.
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
        f'    <source src="{e(hls_src)}" type="application/vnd.apple.mpegurl">',
        f'    <source src="{e(mp4_src)}" type="video/mp4">',
        *track_lines,
        "    Your browser cannot play this video.",
        "  </video>",
        '  <div id="rendition" aria-live="polite"></div>',
        f"  <script>\n{_SCRIPT}\n  </script>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)
