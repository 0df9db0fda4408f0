"""Timestamps read straight from MPEG-TS bytes (ISO/IEC 13818-1), for the media generator.

Only what the sandbox needs to write a correct ``X-TIMESTAMP-MAP``: the presentation time
stamps of the PES packets, in 90 kHz units.  Pure functions over bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

from hs_notebook.errors import SandboxError

__all__ = ["PACKET_SIZE", "first_video_pts", "pes_timestamps"]

#: Bytes per transport stream packet.
PACKET_SIZE = 188
_SYNC = 0x47


def _pts(b: bytes) -> int:
    """The 33-bit timestamp coded in the 5 bytes ``b`` (with its marker bits)."""
    return ((b[0] >> 1) & 0x07) << 30 | b[1] << 22 | (b[2] >> 1) << 15 | b[3] << 7 | b[4] >> 1


def pes_timestamps(data: bytes) -> Iterator[tuple[int, int, int]]:
    """Yield ``(pid, stream_id, pts)`` for every PES packet start in ``data`` that has a PTS.

    Raises:
        SandboxError: ``data`` is not a whole number of sync-aligned 188-byte packets.
    """
    if len(data) % PACKET_SIZE:
        raise SandboxError(f"not MPEG-TS: {len(data)} bytes is not a multiple of {PACKET_SIZE}")
    for pos in range(0, len(data), PACKET_SIZE):
        packet = data[pos : pos + PACKET_SIZE]
        if packet[0] != _SYNC:
            raise SandboxError(f"not MPEG-TS: no sync byte at offset {pos}")
        if not packet[1] & 0x40:  # payload_unit_start_indicator
            continue
        pid = (packet[1] & 0x1F) << 8 | packet[2]
        control = (packet[3] >> 4) & 0x3
        start = 4
        if control & 0x2:  # adaptation field
            start += 1 + packet[4]
        if not control & 0x1 or start + 14 > PACKET_SIZE:
            continue
        payload = packet[start:]
        if payload[:3] != b"\x00\x00\x01":
            continue  # a PSI section (PAT, PMT), not a PES packet
        if payload[7] & 0x80:  # PTS_DTS_flags: PTS present
            yield pid, payload[3], _pts(payload[9:14])


def first_video_pts(data: bytes) -> int:
    """The PTS (90 kHz) of the first video PES packet in the MPEG-TS ``data``.

    Raises:
        SandboxError: no video PES packet with a PTS, or not MPEG-TS.
    """
    for _pid, stream_id, pts in pes_timestamps(data):
        if 0xE0 <= stream_id <= 0xEF:
            return pts
    raise SandboxError("no video PES packet with a PTS in this MPEG-TS data")
