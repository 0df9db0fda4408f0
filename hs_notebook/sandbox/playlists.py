"""The sandbox's HLS playlists and storyboard WebVTT, rendered from a :class:`MediaSet`.

Pure text renderers: they take the media, the video's ids, the origin and the token to put on
child URIs (``None`` for none), and return the playlist text.
"""

from __future__ import annotations

import math
from urllib.parse import quote

from hs_notebook.sandbox.mediaset import MediaSet, RenditionMedia, TextTrackMedia
from hs_notebook.sandbox.texttracks import vtt_timestamp
from hs_notebook.sandbox.videos import VideoInfo

__all__ = [
    "render_master_playlist",
    "render_media_playlist",
    "render_storyboard_vtt",
    "render_text_track_playlist",
    "token_query",
]


def token_query(token: str | None) -> str:
    """``?token=<token, percent-encoded>``, or ``""`` for no token."""
    return f"?token={quote(token, safe='')}" if token else ""


def _q(value: str) -> str:
    """An HLS quoted-string attribute value (no double quote, CR or LF allowed)."""
    return '"' + value.replace('"', "'").replace("\r", " ").replace("\n", " ") + '"'


def render_master_playlist(
    media: MediaSet,
    video: VideoInfo,
    base: str,
    token: str | None,
) -> str:
    """The master playlist of ``video``: subtitle renditions, then variants ascending.

    ``base`` is the origin (``http://host:port`` plus any root path); ``token`` is appended
    to each child URI when not ``None``.  RESOLUTION, CODECS and FRAME-RATE are the measured
    values unless the rendition's ``declared`` overrides them (a media defect).
    """
    project = video.project_id
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-INDEPENDENT-SEGMENTS"]
    has_subs = bool(media.text_tracks)
    for track in media.text_tracks:
        track_id = video.text_tracks[track.language]
        uri = f"{base}/mplt/{project}/{quote(track_id)}/{token_query(token)}"
        lines.append(
            '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",'
            f"NAME={_q(track.name)},LANGUAGE={_q(track.language)},"
            f"DEFAULT={'YES' if track.default else 'NO'},AUTOSELECT=YES,URI={_q(uri)}"
        )
    for rendition in media.renditions:
        preset_id = video.presets[rendition.name]
        declared = rendition.declared
        attrs = [
            f"BANDWIDTH={rendition.bandwidth}",
            f"AVERAGE-BANDWIDTH={rendition.average_bandwidth}",
            f"RESOLUTION={declared.get('RESOLUTION', f'{rendition.width}x{rendition.height}')}",
            f"CODECS={_q(declared.get('CODECS', rendition.codecs))}",
            f"FRAME-RATE={declared.get('FRAME-RATE', f'{float(rendition.frame_rate):.3f}')}",
        ]
        if has_subs:
            attrs.append('SUBTITLES="subs"')
        lines.append("#EXT-X-STREAM-INF:" + ",".join(attrs))
        lines.append(f"{base}/mpl/{project}/{quote(preset_id)}/{token_query(token)}")
    return "\n".join(lines) + "\n"


def _vod_header(target_duration: int) -> list[str]:
    return [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target_duration}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]


def render_media_playlist(rendition: RenditionMedia, prefix: str, token: str | None) -> str:
    """A VOD media playlist of ``rendition``'s segments.

    ``prefix`` is prepended to each segment name: ``""`` gives relative URIs, an absolute
    preset URL (ending in ``/``) gives absolute ones.  EXTINF is each segment's
    :attr:`~SegmentFile.declared_duration`.
    """
    lines = _vod_header(rendition.target_duration)
    for seg in rendition.segments:
        lines.append(f"#EXTINF:{seg.declared_duration:.6f},")
        lines.append(f"{prefix}{quote(seg.name)}{token_query(token)}")
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def render_text_track_playlist(track: TextTrackMedia, prefix: str, token: str | None) -> str:
    """A VOD media playlist with one segment: the whole WebVTT file ``<lang>.vtt``."""
    lines = _vod_header(max(1, math.ceil(track.duration)))
    lines.append(f"#EXTINF:{track.duration:.6f},")
    lines.append(f"{prefix}{quote(track.language)}.vtt{token_query(token)}")
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def render_storyboard_vtt(media: MediaSet, prefix: str, token: str | None) -> str:
    """The storyboard WebVTT: one cue per tile, ``<sprite>#xywh=x,y,w,h``."""
    out = ["WEBVTT", ""]
    for cue in media.storyboard.cues:
        out.append(f"{vtt_timestamp(cue.start)} --> {vtt_timestamp(cue.end)}")
        out.append(
            f"{prefix}{quote(cue.sprite)}{token_query(token)}#xywh={cue.x},{cue.y},{cue.w},{cue.h}"
        )
        out.append("")
    return "\n".join(out)
