"""What the sandbox generates: media profiles (duration, segmenting, frame rate, ladder).

``"demo"``: 24 s, 6 s segments, 360p..1080p at 30 fps; ``"tiny"``: 6 s, 2 s segments,
360p..720p at 15 fps, for tests.  Both ladders keep HeapStream's rules (every rendition
360p..2160p on the short side, at most 30 fps).  Bitrates are int bits/s, durations float
seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from hs_notebook.errors import SandboxError

__all__ = ["PROFILES", "LadderStep", "Profile", "get_profile"]

_MIN_SHORT_SIDE = 360  # HeapStream: every rendition 360p..2160p (short side of the frame)
_MAX_SHORT_SIDE = 2160


@dataclass(frozen=True)
class LadderStep:
    """One rung of a profile's ladder: frame size and target bitrates (bits/s)."""

    name: str
    width: int
    height: int
    video_bitrate: int
    audio_bitrate: int


@dataclass(frozen=True)
class Profile:
    """What to generate: duration, segmenting, frame rate, ladder and storyboard layout.

    ``storyboard_interval`` is the number of seconds per storyboard tile, tiles are
    ``tile_width`` x ``tile_height`` pixels, and a sprite holds at most
    ``storyboard_columns`` x ``storyboard_max_rows`` tiles.  ``original_height`` is the
    height of the original upload (its width follows the ladder's aspect ratio); ``0``
    means the top rung's size.
    """

    name: str
    duration: float
    segment_duration: float
    frame_rate: int
    ladder: tuple[LadderStep, ...]
    storyboard_interval: float = 2.0
    tile_width: int = 160
    tile_height: int = 90
    storyboard_columns: int = 5
    storyboard_max_rows: int = 5
    text_cues: int = 6
    original_height: int = 0

    def __post_init__(self) -> None:
        def bad(why: str) -> SandboxError:
            return SandboxError(f"media profile {self.name!r}: {why}")

        if not 0 < self.frame_rate <= 30:
            raise bad(f"frame_rate must be in 1..30 (HeapStream rule), got {self.frame_rate}")
        if not _is_whole(self.duration / self.segment_duration):
            raise bad("duration must be a whole number of segments")
        if not _is_whole(self.segment_duration * self.frame_rate):
            raise bad("segment_duration * frame_rate must be a whole number of frames")
        if not _is_whole(self.storyboard_interval * self.frame_rate):
            raise bad("storyboard_interval * frame_rate must be a whole number of frames")
        if not self.ladder:
            raise bad("the ladder is empty")
        aspect = self.ladder[0].width / self.ladder[0].height
        for prev, step in zip((None, *self.ladder), self.ladder, strict=False):
            if step.width % 2 or step.height % 2:
                raise bad(f"{step.name}: width and height must be even")
            if not _MIN_SHORT_SIDE <= min(step.width, step.height) <= _MAX_SHORT_SIDE:
                raise bad(
                    f"{step.name}: {step.width}x{step.height} is outside HeapStream's "
                    f"{_MIN_SHORT_SIDE}p-{_MAX_SHORT_SIDE}p ladder (short side of the frame)"
                )
            if abs(step.width / step.height / aspect - 1) > 0.01:
                raise bad(f"{step.name}: aspect ratio differs from the ladder's by more than 1%")
            if prev is not None and (step.width <= prev.width or step.video_bitrate <= 0):
                raise bad("the ladder must be ascending in size")

    @property
    def original_size(self) -> tuple[int, int]:
        """``(width, height)`` of the original upload."""
        top = max(self.ladder, key=lambda s: s.width)
        if not self.original_height:
            return top.width, top.height
        return round(top.width * self.original_height / top.height / 2) * 2, self.original_height

    @property
    def segment_count(self) -> int:
        """Number of segments per rendition."""
        return round(self.duration / self.segment_duration)

    @property
    def frames_per_segment(self) -> int:
        """Video frames per segment (also the GOP length)."""
        return round(self.segment_duration * self.frame_rate)


def _is_whole(x: float) -> bool:
    return abs(x - round(x)) < 1e-9 and round(x) > 0


#: The media profiles.  Target bitrates are near-CBR (x264 ``nal-hrd=cbr`` with filler and a
#: half-full initial VBV buffer, so the first segment is not inflated and the peak segment
#: bitrate stays within a few percent of the average), chosen so that the measured
#: per-rendition average bandwidths step by about 1.4x..2.2x and the rate-quality curve
#: (VMAF of each rung against the original upload) is concave: every rung sits on the upper
#: convex hull.  The top rung is at the original's size and so loses nothing to scaling; it
#: gets about twice the bits of the rung below, so it does not break the curve.
#: ``"tiny"`` is a 16:9 ladder of 640x360, 768x432, 960x540 and 1280x720 at 15 fps: small
#: and quick to encode (a few seconds on 2 cores), yet inside HeapStream's 360p..2160p rule
#: like a real upload.
PROFILES: dict[str, Profile] = {
    "demo": Profile(
        name="demo",
        duration=24.0,
        segment_duration=6.0,
        frame_rate=30,
        ladder=(
            LadderStep("360p", 640, 360, 600_000, 96_000),
            LadderStep("480p", 854, 480, 1_100_000, 96_000),
            LadderStep("720p", 1280, 720, 2_200_000, 128_000),
            LadderStep("1080p", 1920, 1080, 5_000_000, 128_000),
        ),
        storyboard_interval=2.0,
    ),
    "tiny": Profile(
        name="tiny",
        duration=6.0,
        segment_duration=2.0,
        frame_rate=15,
        ladder=(
            LadderStep("360p", 640, 360, 400_000, 64_000),
            LadderStep("432p", 768, 432, 600_000, 64_000),
            LadderStep("540p", 960, 540, 1_100_000, 96_000),
            LadderStep("720p", 1280, 720, 2_500_000, 96_000),
        ),
        storyboard_interval=1.0,
    ),
}


def get_profile(profile: str) -> Profile:
    """The :data:`PROFILES` entry called ``profile``; :class:`SandboxError` naming the known
    ones otherwise."""
    if isinstance(profile, str) and profile in PROFILES:
        return PROFILES[profile]
    known = ", ".join(sorted(PROFILES))
    raise SandboxError(f"unknown media profile {profile!r}; use one of: {known}")
