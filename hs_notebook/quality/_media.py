"""What scoring needs to know about an input before ffmpeg runs: picture size, frame rate,
duration, size and whether there is audio, read from the container headers with PyAV
(demux only, nothing decoded)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from hs_notebook.quality._ffmpeg import MEDIA_EXTRA, MediaInput, QualityError, local_path

__all__ = ["MediaFacts", "media_facts"]


@dataclass(frozen=True)
class MediaFacts:
    """Container facts of one input.

    Attributes:
        width, height: the first video stream's picture size (pixels).
        frame_rate: its average frame rate (frames/s).
        duration: seconds (the container's, else the video stream's).
        size: bytes of the file.
        has_audio: whether there is an audio stream.
    """

    width: int
    height: int
    frame_rate: float
    duration: float
    size: int
    has_audio: bool

    @property
    def bitrate(self) -> int | None:
        """Average bitrate of the whole file (bits/s), ``None`` without a duration."""
        return round(self.size * 8 / self.duration) if self.duration > 0 else None


def media_facts(value: MediaInput, *, name: str) -> MediaFacts:
    """Read :class:`MediaFacts` of a path or bytes (``name`` names the input in errors)."""
    try:
        import av
    except ImportError:
        raise QualityError(f"reading media needs PyAV: {MEDIA_EXTRA}") from None
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        source: str | io.BytesIO = io.BytesIO(data)
        size = len(data)
    else:
        path = local_path(value, name)
        source, size = str(path), path.stat().st_size
    try:
        with av.open(source, mode="r") as container:
            if not container.streams.video:
                raise QualityError(f"{name}: no video stream")
            video = container.streams.video[0]
            rate = video.average_rate or video.guessed_rate or video.base_rate
            if container.duration is not None:
                duration = container.duration / 1_000_000
            elif video.duration is not None and video.time_base is not None:
                duration = float(video.duration * video.time_base)
            else:
                duration = 0.0
            return MediaFacts(
                width=int(video.width),
                height=int(video.height),
                frame_rate=float(rate) if rate else 0.0,
                duration=float(duration),
                size=int(size),
                has_audio=bool(container.streams.audio),
            )
    except av.FFmpegError as exc:
        raise QualityError(f"{name}: not a media file PyAV can read ({exc})") from None
