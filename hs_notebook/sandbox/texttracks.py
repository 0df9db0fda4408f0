"""The sandbox's WebVTT subtitle tracks (``en`` and ``fr``) and its WebVTT timestamps.

The cues tile ``[0, duration)``; the French track exercises UTF-8.
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
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def write_text_tracks(prof: Profile, out: Path) -> tuple[TextTrackMedia, ...]:
    """Two WebVTT tracks whose cues tile ``[0, duration)``; the French one exercises UTF-8."""
    out.mkdir()
    tracks = []
    for i, (lang, name, phrases) in enumerate(_TEXT_TRACKS):
        n = prof.text_cues
        step = prof.duration / n
        lines = ["WEBVTT", f"Language: {lang}", ""]
        for k in range(n):
            text = phrases[k % len(phrases)]
            start, end = vtt_timestamp(k * step), vtt_timestamp((k + 1) * step)
            lines += [str(k + 1), f"{start} --> {end}", text, ""]
        path = out / f"{lang}.vtt"
        path.write_text("\n".join(lines), encoding="utf-8")
        tracks.append(TextTrackMedia(lang, name, i == 0, path, prof.duration, n))
    return tuple(tracks)
