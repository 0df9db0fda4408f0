"""The sandbox's WebVTT subtitle tracks (``en`` and ``fr``) and its WebVTT timestamps.

The cues tile ``[0, duration)``; the French track exercises UTF-8.  Each file carries an
``X-TIMESTAMP-MAP`` tying cue time 0 to the first video PTS of the MPEG-TS segments.
"""

from __future__ import annotations

from pathlib import Path

from hs_notebook.sandbox.mediaset import TextTrackMedia
from hs_notebook.sandbox.profiles import Profile

__all__ = ["vtt_timestamp", "write_text_tracks"]


_TEXT_TRACKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "en",
        "English",
        (
            "Welcome to the HeapStream sandbox.",
            "This video is a generated test pattern.",
            "Every segment starts with a keyframe.",
            "The ladder has four renditions.",
            "These subtitles are a WebVTT text track.",
            "End of the test video. Goodbye!",
        ),
    ),
    (
        "fr",
        "Français",
        (
            "Bienvenue dans le bac à sable HeapStream.",
            "Cette vidéo est une mire générée.",
            "Chaque segment commence par une image clé.",
            "L'échelle compte quatre rendus, çà et là.",
            "Ces sous-titres forment une piste WebVTT : voilà !",
            "Fin de la vidéo d'essai. À bientôt, cœur léger !",
        ),
    ),
)


def vtt_timestamp(seconds: float) -> str:
    """``HH:MM:SS.mmm``, the WebVTT timestamp of ``seconds`` (rounded to the millisecond)."""
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def write_text_tracks(
    prof: Profile, out: Path, timestamp_map: int | None
) -> tuple[TextTrackMedia, ...]:
    """Two WebVTT tracks whose cues tile ``[0, duration)``; the French one exercises UTF-8.

    ``timestamp_map`` is the first video PTS (90 kHz) of the first MPEG-TS segment: each file
    then starts ``X-TIMESTAMP-MAP=MPEGTS:<it>,LOCAL:00:00:00.000`` (RFC 8216 section 3.5), so
    players put cue time 0 at the start of the video.  ``None`` writes no map.
    """
    out.mkdir()
    tracks = []
    for i, (lang, name, phrases) in enumerate(_TEXT_TRACKS):
        n = prof.text_cues
        step = prof.duration / n
        lines = ["WEBVTT"]
        if timestamp_map is not None:
            lines.append(f"X-TIMESTAMP-MAP=MPEGTS:{timestamp_map},LOCAL:00:00:00.000")
        lines += [f"Language: {lang}", ""]
        for k in range(n):
            text = phrases[k % len(phrases)]
            start, end = vtt_timestamp(k * step), vtt_timestamp((k + 1) * step)
            lines += [str(k + 1), f"{start} --> {end}", text, ""]
        path = out / f"{lang}.vtt"
        path.write_text("\n".join(lines), encoding="utf-8")
        tracks.append(TextTrackMedia(lang, name, i == 0, path, prof.duration, n, timestamp_map))
    return tuple(tracks)
