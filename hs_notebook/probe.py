"""Media facts of one HLS segment, read from its bytes: pure (bytes in, one record out).

>>> record = probe_segment(ts_bytes)                            # doctest: +SKIP
>>> record.codecs, record.width, record.starts_with_idr         # doctest: +SKIP
('avc1.64001f,mp4a.40.2', 1280, True)
>>> probe_segment(m4s_bytes, init=init_bytes)                   # fMP4: EXT-X-MAP + segment

Demuxing is PyAV's (FFmpeg's libraries in a wheel, the ``[media]`` extra), done in memory
(:class:`io.BytesIO`: no temporary files, no subprocess) and without decoding a single
frame.  The codec strings are not taken from a table of what FFmpeg reports: they are read
from the parameter sets in the bitstream (:mod:`hs_notebook.bitstream`), which is what a
player compares with the playlist's ``CODECS``.

Supported: MPEG-TS segments (whole or an ``EXT-X-BYTERANGE`` slice that starts on a packet
boundary), fMP4/CMAF media segments with their init segment, and packed audio that FFmpeg
recognises (ADTS AAC, ...).  Anything else, and empty, truncated or garbage bytes, raise
:class:`~hs_notebook.errors.MediaError` naming what was wrong; PyAV's own exceptions never
escape.

Times are seconds on the media timeline (for MPEG-TS the 90 kHz PTS divided by 90000,
unwrapped across the 33-bit rollover), so a segment's ``first_pts`` can be compared with the
next one's and with a WebVTT ``X-TIMESTAMP-MAP``.
"""

from __future__ import annotations

import functools
import io
import itertools
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from hs_notebook import bitstream as bs
from hs_notebook.errors import MediaError

if TYPE_CHECKING:
    import av

__all__ = [
    "FIELDS",
    "MEDIA_EXTRA_HINT",
    "SegmentProbe",
    "demux_options",
    "probe_segment",
    "require_av",
]

#: What to run when PyAV is missing.
MEDIA_EXTRA_HINT = 'pip install "hs_notebook[media]"'

_TS_PACKET = 188
_PTS_WRAP = 1 << 33
_MPEGTS_TIME_BASE = Fraction(1, 90000)
_MP4_BOXES = frozenset(
    {b"ftyp", b"styp", b"moov", b"moof", b"mdat", b"sidx", b"free", b"skip", b"emsg", b"prft"}
)
_MP4_MEDIA_START = frozenset({b"styp", b"moof", b"sidx", b"emsg", b"prft"})
_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4"}
#: Video decoders the stream-info pass of ``av.open`` must not run: their facts come from
#: the parsers and our own reading of the SPS / VPS (``bitstream``), never from decoding.
_PARSED_VIDEO = frozenset({"h264", "hevc"})
_AUDIO_CODEC_STRINGS = {"mp3": "mp4a.40.34", "ac3": "ac-3", "eac3": "ec-3", "opus": "Opus"}


@dataclass(frozen=True)
class SegmentProbe:
    """What one segment holds, read from its bytes by :func:`probe_segment`.

    Times are float seconds on the media timeline, sizes int bytes.  Video fields are
    ``None`` (and counts 0) for a segment without video; audio fields likewise.
    """

    #: the container: ``"mpegts"``, ``"mp4"`` (fMP4/CMAF), ``"aac"`` (packed ADTS), ...
    container: str
    #: bytes of the segment as given (the media segment only, without ``init``)
    size: int
    #: FFmpeg's name of the video codec (``"h264"``, ``"hevc"``), or ``None``
    video_codec: str | None
    #: profile name read from the SPS (``"High"``, ``"Constrained Baseline"``, ``"Main"``)
    video_profile: str | None
    #: level as text (``"3.1"``), from the SPS
    video_level: str | None
    #: RFC 6381 string of the video stream from the bitstream (``avc1.64001f``), or ``None``
    video_codecs: str | None
    #: RFC 6381 string of the audio stream (``mp4a.40.2``), or ``None``
    audio_codecs: str | None
    #: picture width and height in pixels after cropping (from the SPS for H.264, else
    #: from FFmpeg's parser), or ``None``
    width: int | None
    height: int | None
    #: sample aspect ratio as ``"num:den"`` (``"1:1"`` for square pixels): the SPS's VUI
    #: for H.264, else the container's; ``None`` when unsaid
    sar: str | None
    #: frames per second from the timestamps (1 / the median frame spacing), or ``None``
    frame_rate: float | None
    #: number of video frames (packets) in the segment
    frame_count: int
    #: presentation time of the earliest video frame (of the audio when there is no video)
    first_pts: float | None
    #: presentation time of the latest video frame (of the audio when there is no video)
    last_pts: float | None
    #: media duration: from ``first_pts`` to the end of the last frame, seconds
    duration: float | None
    #: presentation times of the video keyframes (random access points), sorted
    keyframe_times: tuple[float, ...]
    #: the first video frame in decode order is an IDR picture (its NAL type says so: 5
    #: for H.264, 19/20 for HEVC); ``None`` without video or for other video codecs
    starts_with_idr: bool | None
    #: NAL unit types of the first video frame (for messages: ``(9, 7, 8, 6, 5)``)
    first_frame_nal_types: tuple[int, ...]
    #: FFmpeg's name of the audio codec (``"aac"``), or ``None``
    audio_codec: str | None
    #: audio sample rate in Hz, or ``None``
    audio_sample_rate: int | None
    #: audio channel count, or ``None``
    audio_channels: int | None
    #: presentation time of the first audio frame, or ``None``
    audio_first_pts: float | None
    #: audio duration from its first frame to the end of its last, seconds, or ``None``
    audio_duration: float | None
    #: bytes of video payload, of audio payload, and of everything else (container
    #: overhead, other streams): ``video_bytes + audio_bytes + other_bytes == size``
    #: (for fMP4 the init segment is not counted)
    video_bytes: int
    audio_bytes: int
    other_bytes: int
    #: MPEG-TS only: the first two packets are a PAT and then its PMT (RFC 8216 3.2)
    pat_pmt_first: bool | None
    #: MPEG-TS only: PIDs of the first three packets (``(0, 4096, 256)``; 17 is an SDT)
    first_pids: tuple[int, ...] = field(default=())
    #: duration of one audio frame (the median spacing of the audio packets: 1024 samples
    #: for AAC-LC, 1152 for MP3, 1536 for AC-3), seconds, or ``None``: audio can start or
    #: be cut only on these steps
    audio_frame_duration: float | None = None

    @property
    def codecs(self) -> str | None:
        """The RFC 6381 ``CODECS`` value this segment would need: video, then audio."""
        parts = [c for c in (self.video_codecs, self.audio_codecs) if c]
        return ",".join(parts) if parts else None

    @property
    def keyframe_count(self) -> int:
        return len(self.keyframe_times)

    @property
    def max_keyframe_interval(self) -> float | None:
        """The longest gap between keyframes, counting the end of the segment as the next
        one (the next segment starts with a keyframe); ``None`` without keyframes."""
        if not self.keyframe_times or self.first_pts is None or self.duration is None:
            return None
        marks = [*self.keyframe_times, self.first_pts + self.duration]
        return max(b - a for a, b in itertools.pairwise(marks))

    def as_dict(self) -> dict[str, Any]:
        """The fields plus ``codecs``, ``keyframe_count`` and ``max_keyframe_interval``."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["codecs"] = self.codecs
        out["keyframe_count"] = self.keyframe_count
        out["max_keyframe_interval"] = self.max_keyframe_interval
        return out

    def __repr__(self) -> str:
        if self.video_codec is None:
            size = "no video"
        else:
            size = f"{self.video_codec} {self.width}x{self.height}" if self.width else "video"
        rate = f" {self.frame_rate:.3g} fps" if self.frame_rate else ""
        dur = f" {self.duration:.3f}s" if self.duration is not None else ""
        idr = "" if self.starts_with_idr is None else f" idr={self.starts_with_idr}"
        return f"<SegmentProbe {self.container} {self.codecs} {size}{rate}{dur}{idr}>"


#: The field names of :class:`SegmentProbe` (plus its computed ``codecs``,
#: ``keyframe_count`` and ``max_keyframe_interval``).
FIELDS: tuple[str, ...] = (
    *(f.name for f in fields(SegmentProbe)),
    "codecs",
    "keyframe_count",
    "max_keyframe_interval",
)


# ------------------------------------------------------------------ PyAV


def require_av() -> Any:
    """The ``av`` module, or :class:`MediaError` naming the install to run."""
    try:
        import av
    except ImportError as exc:
        raise MediaError(
            f"probing media segments needs PyAV (the [media] extra): {MEDIA_EXTRA_HINT}"
        ) from exc
    return av


# ------------------------------------------------------------------ checks before demuxing


def _mp4_boxes(data: bytes, what: str) -> list[bytes]:
    """Top-level box types; :class:`MediaError` when a box runs past the end."""
    types: list[bytes] = []
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1 and pos + 16 <= len(data):
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:
            size = len(data) - pos
        if size < header:
            raise MediaError(f"{what}: MP4 box {kind!r} at byte {pos} has a bad size ({size})")
        if pos + size > len(data):
            raise MediaError(
                f"{what} is truncated: its MP4 box {kind.decode('latin-1')!r} at byte {pos} "
                f"declares {size} bytes but only {len(data) - pos} remain (a cut download or "
                "a wrong byte range?)"
            )
        types.append(kind)
        pos += size
    if pos != len(data):
        raise MediaError(f"{what} is truncated: {len(data) - pos} stray bytes after the last box")
    return types


def _looks_mp4(data: bytes) -> bool:
    return len(data) >= 8 and data[4:8] in _MP4_BOXES


def _check_ts(data: bytes) -> None:
    if len(data) % _TS_PACKET:
        whole = len(data) // _TS_PACKET
        raise MediaError(
            f"MPEG-TS segment is truncated: {len(data)} bytes is {whole} whole 188-byte "
            f"packets and {len(data) % _TS_PACKET} bytes more (a cut download or a wrong byte "
            "range?)"
        )
    syncs = data[::_TS_PACKET]
    if syncs.count(0x47) != len(syncs):
        bad = next(i for i, b in enumerate(syncs) if b != 0x47)
        raise MediaError(
            f"MPEG-TS segment is corrupt: packet {bad} (byte {bad * _TS_PACKET}) does not "
            "start with the sync byte 0x47"
        )


def _precheck(data: bytes, init: bytes | None) -> bytes:
    """The bytes to demux, after the checks PyAV would not make (or would make silently)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MediaError(f"a segment must be bytes, got {type(data).__name__}")
    if init is not None and not isinstance(init, bytes | bytearray | memoryview):
        raise MediaError(f"init must be bytes or None, got {type(init).__name__}")
    data = bytes(data)
    if not data:
        raise MediaError("the segment is empty (0 bytes): nothing to probe")
    if init is not None:
        init = bytes(init)
        if not init:
            raise MediaError("the init segment is empty (0 bytes)")
        if not _looks_mp4(init):
            raise MediaError(
                "the init segment is not MP4 (it should start with an ftyp or moov box); "
                f"its first bytes are {init[:8].hex()}"
            )
        init_types = _mp4_boxes(init, "the init segment")
        if b"moov" not in init_types:
            raise MediaError("the init segment has no moov box (is it a media segment?)")
        if not _looks_mp4(data):
            raise MediaError(
                "an init segment was given but the segment is not MP4 (no moof/styp box at "
                f"the start; its first bytes are {data[:8].hex()})"
            )
        _mp4_boxes(data, "the fMP4 segment")
        return init + data
    if data[0] == 0x47:
        _check_ts(data)
        return data
    if _looks_mp4(data):
        types = _mp4_boxes(data, "the MP4 segment")
        if b"moov" not in types and (types[0] in _MP4_MEDIA_START):
            raise MediaError(
                "this is an fMP4 media segment (it starts with "
                f"{types[0].decode('latin-1')!r}) and needs its init segment: pass "
                "init=<the bytes of the EXT-X-MAP URI>"
            )
    return data


# ------------------------------------------------------------------ demuxing


@dataclass
class _Track:
    """One stream's packets: timestamps (as read), keyframe positions, bytes, the first
    packet's bytes, and the latest timestamp with its packet's duration."""

    pts: list[int] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)  # positions in pts of keyframes
    size: int = 0
    first: bytes = b""
    top: int = 0
    top_duration: int = 0


def _seconds(value: float, time_base: Fraction) -> float:
    return float(value * time_base)


def _unwrap(pts: list[int], time_base: Fraction, shift: int) -> list[int]:
    """MPEG-TS PTS count modulo 2**33.  libavformat already moves the values before a
    wrap below zero (``shift`` = 2**33 puts the segment back on the 33-bit timeline);
    should a wrap be left in, the values after it are moved past the others."""
    if time_base != _MPEGTS_TIME_BASE or not pts:
        return pts
    if shift:
        pts = [p + shift for p in pts]
    top = max(pts)
    if top - min(pts) < _PTS_WRAP // 2:
        return pts
    return [p + _PTS_WRAP if top - p > _PTS_WRAP // 2 else p for p in pts]


def _demux(container: Any, video: Any, audio: Any, raw: bool = False) -> tuple[_Track, _Track, int]:
    """Read every packet once: (video track, audio track, bytes of other streams).

    ``raw``: an elementary stream without timestamps of its own (packed audio), whose
    parser may leave the first packet untimed when it is the only one: it starts at 0.

    The hot loop of a probe: two streams spelled out in locals, no per-packet lookups."""
    vi = video.index if video is not None else -1
    ai = audio.index if audio is not None else -1
    vt, at = _Track(), _Track()
    vpts, vkeys, apts = vt.pts, vt.keys, at.pts
    vsize = asize = other = 0
    vtop = atop = -(1 << 62)
    vtop_duration = atop_duration = 0
    for packet in container.demux():
        size = packet.size
        if not size:
            continue
        index = packet.stream_index
        if index != vi and index != ai:
            other += size
            continue
        pts = packet.pts
        if pts is None:
            pts = packet.dts
            if pts is None:
                if not (raw and not apts and index == ai):
                    continue
                pts = 0
        if index == vi:
            vsize += size
            if not vpts:
                vt.first = bytes(packet)
            if packet.is_keyframe:
                vkeys.append(len(vpts))
            if pts > vtop:
                vtop, vtop_duration = pts, packet.duration
            vpts.append(pts)
        else:
            asize += size
            if not apts:
                at.first = bytes(packet)
            if pts > atop:
                atop, atop_duration = pts, packet.duration
            apts.append(pts)
    vt.size, vt.top, vt.top_duration = vsize, vtop, vtop_duration or 0
    at.size, at.top, at.top_duration = asize, atop, atop_duration or 0
    return vt, at, other


def _span(track: _Track, time_base: Fraction, shift: int) -> tuple[list[int], float, float, float]:
    """(unwrapped pts, first, last, duration) in seconds."""
    pts = _unwrap(track.pts, time_base, shift)
    first, last = min(pts), max(pts)
    last_duration = track.top_duration if last == track.top + shift else 0
    if not last_duration:  # no packet duration, or a wrap moved the order: the spacing
        spacing = sorted(set(pts))
        steps = [b - a for a, b in itertools.pairwise(spacing)]
        last_duration = int(statistics.median(steps)) if steps else 0
    return (
        pts,
        _seconds(first, time_base),
        _seconds(last, time_base),
        _seconds(last - first + last_duration, time_base),
    )


def _frame_rate(pts: list[int], time_base: Fraction) -> float | None:
    step = _step(pts)
    return round(1.0 / _seconds(step, time_base), 6) if step else None


def _step(pts: list[int]) -> float | None:
    """The median spacing of the distinct timestamps (time-base units), ``None`` for
    fewer than two."""
    spacing = sorted(set(pts))
    steps = [b - a for a, b in itertools.pairwise(spacing)]
    step = statistics.median(steps) if steps else 0
    return step if step > 0 else None


def _first_nal(units: list[bytes], wanted: Callable[[bytes], bool]) -> bytes | None:
    return next((u for u in units if u and wanted(u)), None)


def _h264_facts(extradata: bytes, first: bytes, tag: str) -> dict[str, Any]:
    sps, length_size = bs.avcc_sps(extradata) if extradata[:1] == b"\x01" else (None, None)
    units = bs.nal_units(first, length_size)
    if sps is None:
        sps = _first_nal([*bs.annexb_nal_units(extradata), *units], lambda u: u[0] & 0x1F == 7)
    codec = bs.avc_codec_from_sps(sps) if sps else None
    facts = bs.avc_sps_facts(sps) if sps else None
    types = tuple(u[0] & 0x1F for u in units)
    out: dict[str, Any] = {
        "video_codecs": ("avc3" + codec[4:]) if codec and tag == "avc3" else codec,
        "first_frame_nal_types": types,
        "starts_with_idr": bs.AVC_IDR_TYPE in types,
    }
    if facts is not None:
        out.update(
            video_profile=_avc_profile_name(facts.profile_idc, facts.constraints),
            video_level=bs.avc_level_text(facts.level_idc, facts.constraints),
            width=facts.width,
            height=facts.height,
            sar=f"{facts.sar[0]}:{facts.sar[1]}" if facts.sar else None,
        )
    return out


def _hevc_nal_of(kind: int) -> Callable[[bytes], bool]:
    """A test for HEVC NAL units of type ``kind`` (the type is bits 1-6 of byte 0)."""

    def wanted(unit: bytes) -> bool:
        return (unit[0] >> 1) & 0x3F == kind

    return wanted


def _hevc_facts(extradata: bytes, first: bytes, tag: str) -> dict[str, Any]:
    prefix = tag if tag in ("hvc1", "hev1") else "hvc1"
    codec, length_size = None, None
    if extradata[:1] == b"\x01":
        codec, length_size = bs.hevc_codec_from_hvcc(extradata, prefix)
    units = bs.nal_units(first, length_size)
    if codec is None:
        candidates = [*bs.annexb_nal_units(extradata), *units]
        for kind in (33, 32):  # the SPS, else the VPS
            unit = _first_nal(candidates, _hevc_nal_of(kind))
            codec = bs.hevc_codec_from_nal(unit, prefix) if unit else None
            if codec:
                break
    types = tuple((u[0] >> 1) & 0x3F for u in units)
    out: dict[str, Any] = {
        "video_codecs": codec,
        "first_frame_nal_types": types,
        "starts_with_idr": any(t in bs.HEVC_IDR_TYPES for t in types),
    }
    if codec:
        parts = codec.split(".")
        digits = parts[1].lstrip("ABC")
        out["video_profile"] = bs.HEVC_PROFILES.get(int(digits), f"profile {digits}")
        out["video_level"] = bs.hevc_level_text(int(parts[3][1:]))
    return out


def _video_facts(stream: Any, first: bytes) -> dict[str, Any]:
    """Codec string, profile, level, NAL types of the first frame and its IDR-ness (and,
    for H.264, the picture size and SAR from the SPS); PyAV's size as the fallback."""
    ctx = stream.codec_context
    sar = ctx.sample_aspect_ratio or stream.sample_aspect_ratio
    out: dict[str, Any] = {
        "video_codec": _codec_name(ctx),
        "width": ctx.width or None,
        "height": ctx.height or None,
        "sar": f"{sar.numerator}:{sar.denominator}" if sar else None,
        "first_frame_nal_types": (),
        "starts_with_idr": None,
    }
    extradata, tag = bytes(ctx.extradata or b""), str(ctx.codec_tag or "")
    if out["video_codec"] == "h264":
        out.update(_h264_facts(extradata, first, tag))
    elif out["video_codec"] == "hevc":
        out.update(_hevc_facts(extradata, first, tag))
    return out


def _codec_name(ctx: Any) -> str:
    """The codec's name, not its decoder's: FFmpeg decodes MP3 with ``mp3float`` and may
    pick ``aac_fixed`` or ``ac3_fixed``; the facts and CODECS strings key on ``mp3``,
    ``aac``, ``ac3``."""
    codec = getattr(ctx, "codec", None)
    return str(getattr(codec, "canonical_name", None) or ctx.name)


def _avc_profile_name(profile_idc: int, constraints: int) -> str:
    """The H.264 profile name, with the constrained variants FFmpeg also names."""
    if profile_idc == 66 and constraints & 0x40:
        return "Constrained Baseline"
    if profile_idc == 100 and constraints & 0x0C == 0x0C:
        return "Constrained High"
    if profile_idc == 100 and constraints & 0x08:
        return "Progressive High"
    return bs.AVC_PROFILES.get(profile_idc, f"profile {profile_idc}")


def _audio_facts(stream: Any, first: bytes) -> dict[str, Any]:
    ctx = stream.codec_context
    name = _codec_name(ctx)
    codec: str | None = None
    rate = ctx.sample_rate or None
    channels = ctx.channels or None
    if name == "aac":
        extradata = bytes(ctx.extradata or b"")
        adts = bs.adts_facts(first)
        if extradata:
            codec = bs.aac_codec_from_asc(extradata)
        elif adts:
            codec = f"mp4a.40.{adts[0]}"
        if adts and not channels:
            channels = adts[2] or None
    else:
        codec = _AUDIO_CODEC_STRINGS.get(name)
    return {
        "audio_codec": name,
        "audio_codecs": codec,
        "audio_sample_rate": int(rate) if rate else None,
        "audio_channels": int(channels) if channels else None,
    }


def demux_options() -> dict[str, str]:
    """The options :func:`probe_segment` opens segments with (``av.open(..., options=)``):
    a bare PyAV demux with them is the floor of a probe (``benchmarks/bench_probe.py``)."""
    return dict(_open_options(require_av()))


@functools.cache
def _open_options(av: Any) -> dict[str, str]:
    """Options for ``av.open`` that keep its stream-info pass from decoding video.

    - ``skip_frame=all``: a video decoder it opens returns no pictures (without this it
      decodes several frames per segment to guess pixel formats and B-frame delays that the
      probe does not need: sizes come from the parser and the SPS);
    - ``codec_whitelist``: every decoder but H.264's and HEVC's.  With ``skip_frame`` alone
      the pass still hands every video packet of the segment to the decoder (it waits for
      decoded frames that never come), and the decoder unescapes and parses each one: half
      the CPU of a probe.  The parsers give the same stream facts; audio decoders stay
      allowed (the pass needs them for the audio parameters)."""
    decoders = []
    for name in av.codecs_available:
        try:
            decoders.append(av.Codec(name, "r"))
        except (ValueError, av.FFmpegError):  # an encoder only
            continue
    parsed = {codec.id for codec in decoders if codec.name in _PARSED_VIDEO}
    if not parsed:  # a PyAV build without these decoders: nothing to keep out
        return {"skip_frame": "all"}
    # hardware decoders of H.264 and HEVC (same codec id) are kept out too
    names = sorted({codec.name for codec in decoders if codec.id not in parsed})
    return {"skip_frame": "all", "codec_whitelist": ",".join(names)}


def _open(av: Any, payload: bytes, fmt: str | None = None) -> Any:
    try:
        return av.open(io.BytesIO(payload), mode="r", format=fmt, options=_open_options(av))
    except av.FFmpegError as exc:
        raise MediaError(
            f"not a media segment PyAV can read ({len(payload)} bytes starting "
            f"{payload[:8].hex()}): {_reason(exc)}"
        ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc)
    text = text.split("] ", 1)[-1] if text.startswith("[Errno") else text
    return text.removesuffix(": '<none>'")


def probe_segment(data: bytes, init: bytes | None = None) -> SegmentProbe:
    """Demux one segment in memory and read its facts (see :class:`SegmentProbe`).

    ``data`` is the segment's bytes (for a byte-range segment, just its sub-range);
    ``init`` the bytes of its ``EXT-X-MAP`` init segment (fMP4), else ``None``.  Raises
    :class:`~hs_notebook.errors.MediaError` for empty, truncated, garbage or unreadable
    bytes, and when PyAV (the ``[media]`` extra) is not installed.
    """
    av = require_av()
    payload = _precheck(data, init)
    # Packed audio (RFC 8216 3.4) is named to the demuxer: FFmpeg's format probe scores a
    # short segment (ID3 tags and a frame or two, as a last segment often is) too low to
    # recognise it.  Its timestamps are the ID3 PRIV tag's, not the demuxer's (from 0).
    packed = bs.packed_audio(payload) if init is None else None
    container = _open(av, payload, packed[0] if packed else None)
    try:
        probe = _probe(av, container, payload, len(data), raw=packed is not None)
    finally:
        container.close()
    if packed and packed[1] is not None:
        probe = _shifted(probe, packed[1] / 90000)
    return probe


def _shifted(probe: SegmentProbe, offset: float) -> SegmentProbe:
    """``probe`` with its times moved by ``offset`` seconds."""

    def move(value: float | None) -> float | None:
        return None if value is None else value + offset

    return replace(
        probe,
        first_pts=move(probe.first_pts),
        last_pts=move(probe.last_pts),
        audio_first_pts=move(probe.audio_first_pts),
        keyframe_times=tuple(t + offset for t in probe.keyframe_times),
    )


def _time_base(stream: Any) -> Fraction:
    """The time base of a stream that has timed packets (MediaError without one)."""
    tb = stream.time_base if stream is not None else None
    if tb is None:
        raise MediaError("a stream of the segment has packets but no time base")
    return Fraction(tb.numerator, tb.denominator)


def _probe(
    av: Any, container: av.container.InputContainer, payload: bytes, size: int, raw: bool = False
) -> SegmentProbe:
    fmt = container.format.name
    video = next((s for s in container.streams.video), None)
    audio = next((s for s in container.streams.audio), None)
    if video is None and audio is None:
        raise MediaError(
            f"the {_CONTAINERS.get(fmt, fmt)} segment has no audio or video stream to probe"
        )
    try:
        vtrack, atrack, _ = _demux(container, video, audio, raw)
    except av.FFmpegError as exc:
        raise MediaError(f"the segment is corrupt: demuxing stopped with {_reason(exc)}") from None
    out: dict[str, Any] = {
        "container": _CONTAINERS.get(fmt, fmt),
        "size": size,
        "video_codec": None,
        "video_profile": None,
        "video_level": None,
        "video_codecs": None,
        "audio_codecs": None,
        "width": None,
        "height": None,
        "sar": None,
        "frame_rate": None,
        "frame_count": 0,
        "first_pts": None,
        "last_pts": None,
        "duration": None,
        "keyframe_times": (),
        "starts_with_idr": None,
        "first_frame_nal_types": (),
        "audio_codec": None,
        "audio_sample_rate": None,
        "audio_channels": None,
        "audio_first_pts": None,
        "audio_duration": None,
        "video_bytes": 0,
        "audio_bytes": 0,
        "pat_pmt_first": None,
        "first_pids": (),
    }
    vtb = _time_base(video) if vtrack.pts else None
    atb = _time_base(audio) if atrack.pts else None
    wrapped = any(
        tb == _MPEGTS_TIME_BASE and min(track.pts) < 0
        for track, tb in ((vtrack, vtb), (atrack, atb))
        if tb is not None
    )
    shift = _PTS_WRAP if wrapped else 0
    if vtb is not None:
        tb = vtb
        pts, first, last, duration = _span(vtrack, tb, shift)
        keys = sorted(_seconds(pts[k], tb) for k in vtrack.keys)
        out.update(
            frame_rate=_frame_rate(pts, tb),
            frame_count=len(pts),
            first_pts=first,
            last_pts=last,
            duration=duration,
            keyframe_times=tuple(keys),
            video_bytes=vtrack.size,
            **_video_facts(video, vtrack.first),
        )
    if atb is not None and audio is not None:
        tb = atb
        apts, first, last, duration = _span(atrack, tb, shift)
        step = _seconds(astep, tb) if (astep := _step(apts)) else None
        ctx = audio.codec_context
        if step is None and ctx.frame_size and ctx.sample_rate:  # one frame, no duration
            step = ctx.frame_size / ctx.sample_rate
            duration = max(duration, last - first + step)
        out.update(
            audio_first_pts=first,
            audio_frame_duration=step,
            audio_duration=duration,
            audio_bytes=atrack.size,
            **_audio_facts(audio, atrack.first),
        )
        if out["first_pts"] is None:
            out.update(first_pts=first, last_pts=last, duration=duration)
    if out["first_pts"] is None:
        raise MediaError("the segment has streams but no timed packets (nothing to probe)")
    if out["container"] == "mpegts":
        out["pat_pmt_first"], out["first_pids"] = bs.ts_tables_first(payload)
    out["other_bytes"] = size - out["video_bytes"] - out["audio_bytes"]
    return SegmentProbe(**out)
