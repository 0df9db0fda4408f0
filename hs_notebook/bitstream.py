"""Codec facts read from the bitstream itself: RFC 6381 codec strings from H.264 SPS, HEVC
VPS/SPS/hvcC and AAC AudioSpecificConfig/ADTS bytes, NAL unit types, and the first
MPEG-TS packets.  Pure: bytes in, small values out (no PyAV, no I/O).

What the strings mean:

- H.264 (ISO/IEC 14496-15 and RFC 6381 3.3): ``avc1.PPCCLL``: the SPS's ``profile_idc``,
  its constraint-flags byte and ``level_idc``, as two lowercase hex digits each
  (``avc1.64001f`` is High, level 3.1).
- HEVC (ISO/IEC 14496-15 Annex E): ``hvc1.<space><profile>.<compat>.<tier><level>.<c1>...``:
  profile space (empty, A, B or C) and ``general_profile_idc``; the 32 profile
  compatibility flags in reverse bit order as hex without leading zeros; ``L`` or ``H``
  and ``general_level_idc`` in decimal; the six constraint bytes in hex, trailing zero
  bytes left out (``hvc1.1.6.L93.B0``).
- AAC (RFC 6381 3.3, ISO/IEC 14496-3): ``mp4a.40.<audioObjectType>`` (2 = AAC-LC, 5 = HE-AAC,
  29 = HE-AAC v2): from the AudioSpecificConfig of an MP4 sample entry, or from an ADTS
  header's profile (``profile + 1``; ADTS cannot signal HE-AAC explicitly).

:func:`codecs_differ` compares two strings by meaning (case and zero padding aside) and says
which part differs, so a rule can tell "level lower than the stream" from "another profile".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "AVC_PROFILES",
    "HEVC_IDR_TYPES",
    "HEVC_PROFILES",
    "AvcSps",
    "CodecDifference",
    "aac_codec_from_adts",
    "aac_codec_from_asc",
    "adts_facts",
    "annexb_nal_units",
    "avc_codec_from_sps",
    "avc_level_text",
    "avc_sps_facts",
    "avcc_sps",
    "codecs_differ",
    "hevc_codec_from_hvcc",
    "hevc_codec_from_nal",
    "hevc_level_text",
    "length_prefixed_nal_units",
    "nal_units",
    "packed_audio",
    "ts_tables_first",
    "unescape_rbsp",
]

#: H.264 ``profile_idc`` values and their names (ITU-T H.264 Annex A).
AVC_PROFILES: dict[int, str] = {
    66: "Baseline",
    77: "Main",
    88: "Extended",
    100: "High",
    110: "High 10",
    122: "High 4:2:2",
    244: "High 4:4:4 Predictive",
    44: "CAVLC 4:4:4 Intra",
    83: "Scalable Baseline",
    86: "Scalable High",
    118: "Multiview High",
    128: "Stereo High",
}
#: HEVC ``general_profile_idc`` values and their names (ITU-T H.265 Annex A).
HEVC_PROFILES: dict[int, str] = {
    1: "Main",
    2: "Main 10",
    3: "Main Still Picture",
    4: "Format Range Extensions",
    5: "High Throughput",
    9: "Screen Content Coding",
}
#: HEVC NAL unit types of IDR pictures (IDR_W_RADL, IDR_N_LP).
HEVC_IDR_TYPES = frozenset({19, 20})
#: H.264 NAL unit type of an IDR slice.
AVC_IDR_TYPE = 5

_ADTS_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
_TS_PACKET = 188


# ------------------------------------------------------------------ NAL units


def unescape_rbsp(data: bytes) -> bytes:
    """The NAL payload with emulation-prevention bytes (``00 00 03``) removed."""
    if b"\x00\x00\x03" not in data:
        return data
    return re.sub(b"\x00\x00\x03(?=[\x00-\x03])", b"\x00\x00", data)


def annexb_nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B byte stream (start codes ``00 00 01`` / ``00 00 00 01``)."""
    out: list[bytes] = []
    start = data.find(b"\x00\x00\x01")
    while start >= 0:
        begin = start + 3
        nxt = data.find(b"\x00\x00\x01", begin)
        end = len(data) if nxt < 0 else nxt
        unit = data[begin:end]
        if nxt >= 0 and unit.endswith(b"\x00"):  # a 4-byte start code's leading zero
            unit = unit.rstrip(b"\x00")
        if unit:
            out.append(unit)
        start = nxt
    return out


def length_prefixed_nal_units(data: bytes, length_size: int = 4) -> list[bytes]:
    """The NAL units of an MP4 sample (each preceded by its big-endian length)."""
    out: list[bytes] = []
    pos = 0
    while pos + length_size <= len(data):
        n = int.from_bytes(data[pos : pos + length_size], "big")
        pos += length_size
        if n == 0 or pos + n > len(data):
            break
        out.append(data[pos : pos + n])
        pos += n
    return out


def nal_units(data: bytes, length_size: int | None = None) -> list[bytes]:
    """NAL units of a sample: Annex B when it starts with a start code (or
    ``length_size`` is ``None``), else length-prefixed with ``length_size`` bytes."""
    if length_size is None or data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        return annexb_nal_units(data)
    return length_prefixed_nal_units(data, length_size)


# ------------------------------------------------------------------ H.264


def avc_codec_from_sps(sps: bytes) -> str | None:
    """``avc1.PPCCLL`` from an SPS NAL unit (its header byte included), or ``None`` when
    it is not an SPS of at least 4 bytes."""
    if len(sps) < 4 or sps[0] & 0x1F != 7:
        return None
    body = unescape_rbsp(sps[1:5])
    return f"avc1.{body[0]:02x}{body[1]:02x}{body[2]:02x}"


class _Bits:
    """An MSB-first bit reader over RBSP bytes (emulation prevention already removed)."""

    def __init__(self, data: bytes) -> None:
        self.value = int.from_bytes(data, "big")
        self.size = len(data) * 8
        self.pos = 0

    def u(self, n: int) -> int:
        if self.pos + n > self.size:
            raise ValueError("read past the end of the parameter set")
        self.pos += n
        return (self.value >> (self.size - self.pos)) & ((1 << n) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        return (1 << zeros) - 1 + (self.u(zeros) if zeros else 0)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


#: H.264 Table E-1: sample aspect ratios by aspect_ratio_idc.
_AVC_SAR = {
    1: (1, 1), 2: (12, 11), 3: (10, 11), 4: (16, 11), 5: (40, 33), 6: (24, 11), 7: (20, 11),
    8: (32, 11), 9: (80, 33), 10: (18, 11), 11: (15, 11), 12: (64, 33), 13: (160, 99),
    14: (4, 3), 15: (3, 2), 16: (2, 1),
}  # fmt: skip
_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


@dataclass(frozen=True)
class AvcSps:
    """What an H.264 sequence parameter set says about the picture (ITU-T H.264 7.3.2.1)."""

    profile_idc: int
    constraints: int
    level_idc: int
    width: int
    height: int
    #: sample aspect ratio (VUI aspect_ratio_idc), ``None`` when the SPS leaves it unsaid
    sar: tuple[int, int] | None


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = nxt = 8
    for _ in range(size):
        if nxt:
            nxt = (last + bits.se() + 256) % 256
        last = nxt or last


def avc_sps_facts(sps: bytes) -> AvcSps | None:
    """Parse an H.264 SPS NAL unit (header byte included) as far as the VUI aspect
    ratio: picture size after cropping and the sample aspect ratio.  ``None`` when the
    bytes are not a well-formed SPS."""
    if len(sps) < 4 or sps[0] & 0x1F != 7:
        return None
    bits = _Bits(unescape_rbsp(sps[1:]))
    try:
        profile, constraints, level = bits.u(8), bits.u(8), bits.u(8)
        bits.ue()  # seq_parameter_set_id
        chroma = 1
        if profile in _HIGH_PROFILES:
            chroma = bits.ue()
            if chroma == 3:
                bits.u(1)  # separate_colour_plane_flag
            bits.ue(), bits.ue(), bits.u(1)  # bit depths, qpprime_y_zero_transform_bypass
            if bits.u(1):  # seq_scaling_matrix_present_flag
                for i in range(8 if chroma != 3 else 12):
                    if bits.u(1):
                        _skip_scaling_list(bits, 16 if i < 6 else 64)
        bits.ue()  # log2_max_frame_num_minus4
        poc_type = bits.ue()
        if poc_type == 0:
            bits.ue()
        elif poc_type == 1:
            bits.u(1), bits.se(), bits.se()
            for _ in range(bits.ue()):
                bits.se()
        bits.ue(), bits.u(1)  # max_num_ref_frames, gaps_in_frame_num_value_allowed_flag
        width_mbs, height_units = bits.ue() + 1, bits.ue() + 1
        frame_mbs_only = bits.u(1)
        if not frame_mbs_only:
            bits.u(1)  # mb_adaptive_frame_field_flag
        bits.u(1)  # direct_8x8_inference_flag
        crop = (bits.ue(), bits.ue(), bits.ue(), bits.ue()) if bits.u(1) else (0, 0, 0, 0)
        sar = None
        if bits.u(1) and bits.u(1):  # vui_parameters_present, aspect_ratio_info_present
            idc = bits.u(8)
            sar = (bits.u(16), bits.u(16)) if idc == 255 else _AVC_SAR.get(idc)
    except ValueError:
        return None
    sub_w, sub_h = {0: (1, 1), 1: (2, 2), 2: (2, 1), 3: (1, 1)}.get(chroma, (2, 2))
    unit_x = 1 if chroma == 0 else sub_w
    unit_y = (2 - frame_mbs_only) * (1 if chroma == 0 else sub_h)
    width = width_mbs * 16 - unit_x * (crop[0] + crop[1])
    height = (2 - frame_mbs_only) * height_units * 16 - unit_y * (crop[2] + crop[3])
    if sar is not None and 0 in sar:
        sar = None
    return AvcSps(profile, constraints, level, width, height, sar)


def avcc_sps(avcc: bytes) -> tuple[bytes | None, int]:
    """(the first SPS NAL unit of an ``avcC`` record, its NAL length size), or
    ``(None, 4)`` when the bytes are not an ``avcC`` record."""
    if len(avcc) < 7 or avcc[0] != 1:
        return None, 4
    length_size = (avcc[4] & 0x03) + 1
    if not avcc[5] & 0x1F:
        return None, length_size
    n = int.from_bytes(avcc[6:8], "big")
    return (avcc[8 : 8 + n] or None), length_size


def avc_level_text(level_idc: int, constraints: int = 0) -> str:
    """``"3.1"`` for level_idc 31 (``"1b"`` for 11 with constraint_set3 in Baseline/Main)."""
    if level_idc == 11 and constraints & 0x10:
        return "1b"
    return f"{level_idc // 10}.{level_idc % 10}"


# ------------------------------------------------------------------ HEVC


def _hevc_ptl_string(ptl: bytes, prefix: str) -> str:
    """The codec string from the 12 bytes of a general profile_tier_level."""
    space = (ptl[0] >> 6) & 0x03
    tier = (ptl[0] >> 5) & 0x01
    profile = ptl[0] & 0x1F
    compat = int.from_bytes(ptl[1:5], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = list(ptl[5:11])
    while constraints and constraints[-1] == 0:
        constraints.pop()
    level = ptl[11]
    parts = [
        prefix,
        f"{'' if space == 0 else 'ABC'[space - 1]}{profile}",
        f"{reversed_compat:X}",
        f"{'H' if tier else 'L'}{level}",
        *(f"{b:X}" for b in constraints),
    ]
    return ".".join(parts)


def hevc_codec_from_hvcc(hvcc: bytes, prefix: str = "hvc1") -> tuple[str | None, int]:
    """(codec string, NAL length size) from an ``hvcC`` record, ``(None, 4)`` otherwise."""
    if len(hvcc) < 23 or hvcc[0] != 1:
        return None, 4
    return _hevc_ptl_string(hvcc[1:13], prefix), (hvcc[21] & 0x03) + 1


def hevc_codec_from_nal(nal: bytes, prefix: str = "hvc1") -> str | None:
    """The codec string from an HEVC SPS (type 33) or VPS (type 32) NAL unit, header
    included; ``None`` for other NAL units or too few bytes."""
    if len(nal) < 3:
        return None
    kind = (nal[0] >> 1) & 0x3F
    body = unescape_rbsp(nal[2:24])
    if kind == 33:  # sps_video_parameter_set_id, max_sub_layers, nesting: one byte
        ptl = body[1:13]
    elif kind == 32:  # vps id, flags, max layers, sub layers, nesting, 16 reserved bits
        ptl = body[4:16]
    else:
        return None
    return _hevc_ptl_string(ptl, prefix) if len(ptl) == 12 else None


def hevc_level_text(level_idc: int) -> str:
    """``"3.1"`` for general_level_idc 93, ``"2.0"`` for 60 (the level times 30)."""
    major, minor = divmod(level_idc, 30)
    return f"{major}.{minor // 3}"


# ------------------------------------------------------------------ AAC


def aac_codec_from_asc(asc: bytes) -> str | None:
    """``mp4a.40.<audioObjectType>`` from an AudioSpecificConfig, or ``None``."""
    if not asc:
        return None
    aot = asc[0] >> 3
    if aot == 31 and len(asc) >= 2:
        aot = 32 + (((asc[0] & 0x07) << 3) | (asc[1] >> 5))
    return f"mp4a.40.{aot}" if aot else None


def adts_facts(frame: bytes) -> tuple[int, int | None, int] | None:
    """(audioObjectType, sample rate or ``None``, channel configuration) from an ADTS
    header, or ``None`` when ``frame`` does not start with one."""
    if len(frame) < 7 or frame[0] != 0xFF or frame[1] & 0xF6 != 0xF0:
        return None
    aot = (frame[2] >> 6) + 1
    rate_index = (frame[2] >> 2) & 0x0F
    channels = ((frame[2] & 0x01) << 2) | (frame[3] >> 6)
    rate = _ADTS_RATES[rate_index] if rate_index < len(_ADTS_RATES) else None
    return aot, rate, channels


def aac_codec_from_adts(frame: bytes) -> str | None:
    """``mp4a.40.<profile + 1>`` from an ADTS header, or ``None``."""
    facts = adts_facts(frame)
    return f"mp4a.40.{facts[0]}" if facts else None


# ------------------------------------------------------------------ packed audio

#: RFC 8216 3.4: the ID3 PRIV owner that carries a packed audio segment's first PTS.
_PACKED_TS_OWNER = b"com.apple.streaming.transportStreamTimestamp\x00"


def _syncsafe(four: bytes) -> int:
    return (four[0] << 21) | (four[1] << 14) | (four[2] << 7) | four[3]


def _id3_priv_timestamp(tag: bytes, version: int) -> int | None:
    """The 33-bit PTS of the transportStreamTimestamp PRIV frame of one ID3v2 tag body."""
    pos = 0
    while pos + 10 <= len(tag) and tag[pos] != 0:
        size = (
            _syncsafe(tag[pos + 4 : pos + 8])
            if version >= 4
            else int.from_bytes(tag[pos + 4 : pos + 8], "big")
        )
        body = tag[pos + 10 : pos + 10 + size]
        if tag[pos : pos + 4] == b"PRIV" and body.startswith(_PACKED_TS_OWNER):
            stamp = body[len(_PACKED_TS_OWNER) : len(_PACKED_TS_OWNER) + 8]
            if len(stamp) == 8:
                return int.from_bytes(stamp, "big") & ((1 << 33) - 1)
        pos += 10 + size
    return None


def packed_audio(data: bytes) -> tuple[str, int | None] | None:
    """``(FFmpeg demuxer name, PTS of the first sample in 90 kHz units or None)`` of a
    packed audio segment (RFC 8216 3.4: ID3v2 tags, the first with the
    ``com.apple.streaming.transportStreamTimestamp`` PRIV frame, then ADTS AAC, MP3, AC-3
    or E-AC-3 frames), ``None`` when ``data`` does not start with ID3 tags followed by
    one of these frame syncs."""
    pos, stamp = 0, None
    while data[pos : pos + 3] == b"ID3" and pos + 10 <= len(data):
        version, flags = data[pos + 3], data[pos + 5]
        size = _syncsafe(data[pos + 6 : pos + 10])
        if stamp is None:
            stamp = _id3_priv_timestamp(data[pos + 10 : pos + 10 + size], version)
        pos += 10 + size + (10 if flags & 0x10 else 0)
    if pos == 0 or pos + 6 > len(data):
        return None
    kind = _audio_frame_kind(data, pos)
    return (kind, stamp) if kind else None


def _audio_frame_kind(data: bytes, pos: int) -> str | None:
    """The FFmpeg demuxer of the audio frame at ``pos`` (``aac``, ``mp3``, ``ac3``,
    ``eac3``), or ``None`` when its header is not a valid one of these: sync words alone
    match junk too.  An ADTS frame must also be whole (its length field within the data)."""
    head = data[pos : pos + 6]
    if head[0] == 0xFF and head[1] & 0xF6 == 0xF0:  # ADTS (ISO/IEC 13818-7 6.2)
        length = ((head[3] & 0x03) << 11) | (head[4] << 3) | (head[5] >> 5)
        rate_index = (head[2] >> 2) & 0x0F
        ok = 7 <= length <= len(data) - pos and rate_index < len(_ADTS_RATES)
        return "aac" if ok else None
    if head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:  # MPEG audio
        bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0x03
        version = (head[1] >> 3) & 0x03
        return "mp3" if bitrate not in (0, 15) and rate != 3 and version != 1 else None
    if head[:2] == b"\x0b\x77":  # AC-3 / E-AC-3 syncinfo (ATSC A/52)
        bsid = head[5] >> 3
        if bsid > 16:
            return None
        if bsid > 10:  # E-AC-3: strmtyp 3 is reserved
            return "eac3" if head[2] >> 6 != 3 else None
        return "ac3" if head[4] >> 6 != 3 and head[4] & 0x3F < 38 else None
    return None


# ------------------------------------------------------------------ MPEG-TS


def _pid(packet: bytes) -> int:
    return ((packet[1] & 0x1F) << 8) | packet[2]


def _pmt_pids(pat_packet: bytes) -> set[int]:
    """The PMT PIDs a PAT packet lists (program 0, the network PID, left out)."""
    pos = 4
    if (packet_flags := pat_packet[3] >> 4) & 0x02:  # adaptation field
        pos += 1 + pat_packet[4]
    if not packet_flags & 0x01 or pos >= len(pat_packet):
        return set()
    if pat_packet[1] & 0x40:  # payload_unit_start: pointer field
        pos += 1 + pat_packet[pos]
    section = pat_packet[pos:]
    if len(section) < 8 or section[0] != 0x00:
        return set()
    length = ((section[1] & 0x0F) << 8) | section[2]
    entries = section[8 : min(3 + length - 4, len(section))]
    pids: set[int] = set()
    for i in range(0, len(entries) - 3, 4):
        program = int.from_bytes(entries[i : i + 2], "big")
        if program:
            pids.add(((entries[i + 2] & 0x1F) << 8) | entries[i + 3])
    return pids


def ts_tables_first(data: bytes) -> tuple[bool, tuple[int, ...]]:
    """(the first two TS packets are a PAT and then a PMT it lists, the PIDs of the first
    three packets).  RFC 8216 3.2 (3.4 in 8216bis): the first two Transport Stream packets
    of a segment without a Media Initialization Section SHOULD be a PAT and a PMT."""
    packets = [data[i : i + _TS_PACKET] for i in range(0, min(len(data), 3 * _TS_PACKET), 188)]
    packets = [p for p in packets if len(p) == _TS_PACKET and p[0] == 0x47]
    pids = tuple(_pid(p) for p in packets)
    if len(packets) < 2 or pids[0] != 0:
        return False, pids
    return pids[1] in _pmt_pids(packets[0]), pids


# ------------------------------------------------------------------ comparing strings


@dataclass(frozen=True)
class CodecDifference:
    """How a declared codec string differs from the one read from the bitstream.

    ``kind`` is ``"same"``, ``"level_lower"`` (declared level below the stream's),
    ``"level_higher"``, ``"sample_entry"`` (avc1 vs avc3, hvc1 vs hev1: same stream,
    other packaging) or ``"different"`` (another codec, profile or constraints).
    """

    kind: str
    declared: str
    measured: str


def _avc_parts(text: str) -> tuple[str, int, int, int] | None:
    m = re.fullmatch(r"(avc[13])\.([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})", text)
    if not m:
        return None
    return m[1], int(m[2], 16), int(m[3], 16), int(m[4], 16)


def _hevc_parts(text: str) -> tuple[str, tuple[str, ...], int] | None:
    m = re.fullmatch(
        r"(hvc1|hev1)\.([abc]?\d+)\.([0-9a-f]+)\.([lh])(\d+)((?:\.[0-9a-f]{1,2})*)", text
    )
    if not m:
        return None
    constraints = [int(b, 16) for b in m[6].split(".")[1:]]
    while constraints and constraints[-1] == 0:
        constraints.pop()
    same_part = (m[2], f"{int(m[3], 16):x}", m[4], *(f"{c:x}" for c in constraints))
    return m[1], same_part, int(m[5])


def codecs_differ(declared: str, measured: str) -> CodecDifference:
    """Compare one declared codec string with the one read from the stream.

    Case and zero padding do not count.  For H.264 the profile and constraint bytes must
    match and the level is compared as a number; HEVC likewise with profile space,
    profile, compatibility flags, tier and constraint bytes; other strings must be equal
    (ignoring case).
    """
    d, m = declared.strip().lower(), measured.strip().lower()

    def result(kind: str) -> CodecDifference:
        return CodecDifference(kind, declared.strip(), measured.strip())

    if d == m:
        return result("same")
    for parts in (_avc_parts, _hevc_parts):
        pd_, pm = parts(d), parts(m)
        if pd_ is None or pm is None:
            continue
        if pd_[1:-1] != pm[1:-1]:
            return result("different")
        if pd_[-1] < pm[-1]:
            return result("level_lower")
        if pd_[-1] > pm[-1]:
            return result("level_higher")
        return result("same" if pd_[0] == pm[0] else "sample_entry")
    return result("different")
