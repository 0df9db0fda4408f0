"""Read RFC 6381 codec strings from the sample entries of a real MP4 file.

Only what the sandbox needs: walk ``moov/trak/mdia/minf/stbl/stsd`` and read

* ``avc1``/``avc3`` -> ``avcC``: profile_idc, constraint flags, level_idc -> ``"avc1.PPCCLL"``;
* ``mp4a`` -> ``esds``: objectTypeIndication and the AudioSpecificConfig's audio object type
  -> ``"mp4a.OO.A"`` (AAC-LC is ``"mp4a.40.2"``).

Pure functions over bytes plus one file reader; errors are :class:`SandboxError` because the
only caller is the media generator, which produced the file itself.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from hs_notebook.errors import SandboxError

__all__ = ["avc_codec_from_avcc", "mp4_codecs", "mp4a_codec_from_esds", "read_moov"]

# Containers whose children start right after the 8-byte header.
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
# Bytes between the sample entry header and its child boxes.
_VISUAL_ENTRY_FIELDS = 78  # 6 reserved + 2 data_reference_index + 70 VisualSampleEntry fields
_AUDIO_ENTRY_FIELDS = 28  # 6 reserved + 2 dref index + 20 AudioSampleEntry fields (version 0)


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """Yield ``(type, payload_start, box_end)`` for the boxes in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                break
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise SandboxError(f"malformed MP4 box {kind!r} at offset {pos} (size {size})")
        yield kind, pos + header, pos + size
        pos += size


def read_moov(path: Path) -> bytes:
    """Return the payload (children) of the top-level ``moov`` box of the MP4 at ``path``."""
    with open(path, "rb") as f:
        while True:
            header = f.read(8)
            if len(header) < 8:
                raise SandboxError(f"{path}: no moov box found (not an MP4 file?)")
            size, kind = struct.unpack(">I4s", header)
            header_len = 8
            if size == 1:
                (size,) = struct.unpack(">Q", f.read(8))
                header_len = 16
            if kind == b"moov":
                return f.read(size - header_len) if size else f.read()
            if size == 0:
                raise SandboxError(f"{path}: no moov box found (not an MP4 file?)")
            f.seek(size - header_len, 1)


def avc_codec_from_avcc(avcc: bytes) -> str:
    """``"avc1.PPCCLL"`` from the payload of an ``avcC`` box (AVCDecoderConfigurationRecord)."""
    if len(avcc) < 4 or avcc[0] != 1:
        raise SandboxError("malformed avcC box (configurationVersion is not 1)")
    return f"avc1.{avcc[1]:02x}{avcc[2]:02x}{avcc[3]:02x}"


def _descriptor(data: bytes, pos: int) -> tuple[int, int, int]:
    """Read an MPEG-4 descriptor header; return ``(tag, payload_start, payload_end)``."""
    tag = data[pos]
    pos += 1
    size = 0
    for _ in range(4):
        b = data[pos]
        pos += 1
        size = (size << 7) | (b & 0x7F)
        if not b & 0x80:
            break
    return tag, pos, pos + size


def mp4a_codec_from_esds(esds: bytes) -> str:
    """``"mp4a.OO.A"`` from the payload of an ``esds`` box (a FullBox holding an ES_Descriptor)."""
    try:
        tag, pos, end = _descriptor(esds, 4)  # skip version + flags
        if tag != 0x03:
            raise SandboxError(f"esds does not start with an ES_Descriptor (tag {tag:#x})")
        flags = esds[pos + 2]
        pos += 3  # ES_ID + flags
        if flags & 0x80:  # streamDependenceFlag
            pos += 2
        if flags & 0x40:  # URL_Flag
            pos += 1 + esds[pos]
        if flags & 0x20:  # OCRstreamFlag
            pos += 2
        while pos < end:
            tag, start, stop = _descriptor(esds, pos)
            if tag == 0x04:  # DecoderConfigDescriptor
                oti = esds[start]
                inner = start + 13
                while inner < stop:
                    t, s, e = _descriptor(esds, inner)
                    if t == 0x05:  # DecoderSpecificInfo = AudioSpecificConfig
                        aot = esds[s] >> 3
                        if aot == 31:
                            aot = 32 + (((esds[s] & 0x07) << 3) | (esds[s + 1] >> 5))
                        return f"mp4a.{oti:02x}.{aot}"
                    inner = e
                return f"mp4a.{oti:02x}"
            pos = stop
    except IndexError as exc:
        raise SandboxError("malformed esds box (truncated descriptor)") from exc
    raise SandboxError("esds has no DecoderConfigDescriptor")


def _sample_entries(moov: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(sample_entry_type, entry_payload)`` for every track of a ``moov`` payload."""

    def walk(start: int, end: int) -> Iterator[tuple[bytes, bytes]]:
        for kind, s, e in _boxes(moov, start, end):
            if kind in _CONTAINERS:
                yield from walk(s, e)
            elif kind == b"stsd":
                yield from ((k, moov[es:ee]) for k, es, ee in _boxes(moov, s + 8, e))

    yield from walk(0, len(moov))


def _child(entry: bytes, offset: int, want: bytes) -> bytes | None:
    for kind, s, e in _boxes(entry, offset):
        if kind == want:
            return entry[s:e]
    return None


def mp4_codecs(path: Path) -> tuple[str, str]:
    """Return ``(video_codec, audio_codec)`` RFC 6381 strings read from the MP4 at ``path``."""
    video = audio = None
    for kind, entry in _sample_entries(read_moov(path)):
        if kind in (b"avc1", b"avc3") and video is None:
            avcc = _child(entry, _VISUAL_ENTRY_FIELDS, b"avcC")
            if avcc is None:
                raise SandboxError(f"{path}: {kind.decode()} sample entry has no avcC box")
            video = avc_codec_from_avcc(avcc)
        elif kind == b"mp4a" and audio is None:
            (version,) = struct.unpack_from(">H", entry, 8)
            offset = _AUDIO_ENTRY_FIELDS + {1: 16, 2: 36}.get(version, 0)
            esds = _child(entry, offset, b"esds")
            if esds is None:
                raise SandboxError(f"{path}: mp4a sample entry has no esds box")
            audio = mp4a_codec_from_esds(esds)
    if video is None or audio is None:
        raise SandboxError(
            f"{path}: expected an H.264 and an AAC track, found video={video} audio={audio}"
        )
    return video, audio
