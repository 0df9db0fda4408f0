"""The ffmpeg binary of imageio-ffmpeg, and how inputs reach it.

Inputs are local paths or bytes, never URLs: whatever was fetched with a token was fetched
by our client, so no token ever appears on an ffmpeg command line, in a process list or in
ffmpeg's log.  Bytes are streamed into ffmpeg through a named pipe (a FIFO in a private
``0700`` directory, written by a thread) when the container can be read front to back
(MPEG-TS, MP4 with ``moov`` before ``mdat``); otherwise, or when ffmpeg must seek (time
windows, a frame at a given time), they are written to a private temporary file.  Either
way the directory and everything in it is removed when the :class:`Staging` closes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from hs_notebook.errors import HeapStreamError

__all__ = [
    "MEDIA_EXTRA",
    "MediaInput",
    "QualityError",
    "Staging",
    "ffmpeg_exe",
    "local_path",
    "run_ffmpeg",
    "seeks_reliably",
    "streamable",
]

#: A media input: a local file path, or the file's bytes.
MediaInput = str | os.PathLike[str] | bytes | bytearray | memoryview

#: What to install when the media extra is missing.
MEDIA_EXTRA = "pip install 'hs_notebook[media]'"

_TS_PACKET = 188


class QualityError(HeapStreamError):
    """Scoring or measuring media failed (ffmpeg refused an input, a filter is missing, the
    media extra is not installed); the message says which input and why."""


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary in the imageio-ffmpeg wheel (``$IMAGEIO_FFMPEG_EXE``
    overrides it, as imageio-ffmpeg documents)."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise QualityError(f"scoring media needs imageio-ffmpeg: {MEDIA_EXTRA}") from None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:  # no binary for this platform
        raise QualityError(f"no ffmpeg binary available ({exc}); {MEDIA_EXTRA}") from None


def streamable(data: bytes | bytearray | memoryview) -> bool:
    """True when ffmpeg can read the container front to back, without seeking: MPEG-TS,
    or ISO-BMFF (MP4) whose ``moov`` box comes before its ``mdat``."""
    view = memoryview(data)
    if len(view) >= 2 * _TS_PACKET and view[0] == 0x47 and view[_TS_PACKET] == 0x47:
        return True
    offset = 0
    while offset + 8 <= len(view):
        size = int.from_bytes(view[offset : offset + 4], "big")
        kind = bytes(view[offset + 4 : offset + 8])
        if size == 1 and offset + 16 <= len(view):
            size = int.from_bytes(view[offset + 8 : offset + 16], "big")
        if kind == b"moov":
            return True
        if kind == b"mdat" or size < 8:
            return False
        offset += size
    return False


def local_path(value: object, name: str) -> Path:
    """``value`` (a path given as ``str`` or ``PathLike``) as an absolute path to an
    existing file, or :class:`QualityError`.  A URL is refused without being repeated (it
    may carry a token)."""
    if isinstance(value, str) and "://" in value:
        raise QualityError(
            f"{name}: give a local path or the file's bytes, not a URL (fetch it with the "
            "client first: a signed URL must never reach an ffmpeg command line)"
        )
    if not isinstance(value, str | os.PathLike):
        raise QualityError(f"{name}: expected a local path or bytes, got {type(value).__name__}")
    path = Path(value).expanduser()
    if not path.is_file():
        raise QualityError(f"{name}: no such file: {path}")
    return path.resolve()


def seeks_reliably(value: MediaInput) -> bool:
    """False for MPEG-TS (HLS segments): it has no index, and ffmpeg's seek can land
    between keyframes and decode nothing; such inputs are read front to back instead."""
    if isinstance(value, bytes | bytearray | memoryview):
        head = bytes(value[: 2 * _TS_PACKET + 1])
    else:
        with open(local_path(value, "input"), "rb") as f:
            head = f.read(2 * _TS_PACKET + 1)
    is_ts = len(head) > _TS_PACKET and head[0] == 0x47 and head[_TS_PACKET] == 0x47
    return not is_ts


class Staging:
    """Turns :data:`MediaInput` values into what ffmpeg opens (``file:`` paths), and removes
    whatever it created on :meth:`close` (also as a context manager)."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._fifos: list[tuple[Path, threading.Thread]] = []
        self._count = 0

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _private_dir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="hs-quality-"))  # mode 0700
        return self._dir

    @property
    def directory(self) -> Path:
        """The private directory (ffmpeg runs in it, so its logs are plain relative names
        that need no filtergraph escaping); removed on close."""
        return self._private_dir()

    def source(self, value: MediaInput, *, name: str, seekable: bool = False) -> str:
        """What to give ffmpeg's ``-i`` for ``value`` (``name`` says which input it is, for
        error messages).  ``seekable=True`` when ffmpeg will seek in it."""
        if isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
            if not data:
                raise QualityError(f"{name}: no bytes to read")
            self._count += 1
            path = self._private_dir() / f"input-{self._count}"
            if not seekable and streamable(data) and hasattr(os, "mkfifo"):
                os.mkfifo(path, 0o600)
                thread = threading.Thread(
                    target=_feed, args=(path, data), name="hs-quality-feed", daemon=True
                )
                thread.start()
                self._fifos.append((path, thread))
            else:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            return f"file:{path}"
        path = local_path(value, name)
        return f"file:{path}"

    def close(self) -> None:
        for path, thread in self._fifos:
            if thread.is_alive():  # ffmpeg never opened it (it failed first): unblock
                with contextlib.suppress(OSError):
                    os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            thread.join(timeout=5)
        self._fifos = []
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _feed(path: Path, data: bytes) -> None:
    """Write ``data`` into the FIFO at ``path`` (blocks until ffmpeg opens it)."""
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError:  # ffmpeg stopped reading (it failed, or needed no more): its error wins
        pass


def run_ffmpeg(
    args: list[str], *, what: str, cwd: Path | None = None, timeout: float | None = None
) -> tuple[bytes, str]:
    """Run ffmpeg with ``args`` (after ``-hide_banner -nostdin -nostats``) in ``cwd``;
    returns ``(stdout, stderr)`` (stderr is the log), or raises :class:`QualityError`
    naming ``what`` failed, with the end of ffmpeg's log (which names only local paths)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False, cwd=cwd)
    except subprocess.TimeoutExpired:
        raise QualityError(f"{what}: ffmpeg did not finish within {timeout:g} s") from None
    log = done.stderr.decode("utf-8", "replace")
    if done.returncode != 0:
        tail = "\n".join(line for line in log.splitlines()[-8:] if line.strip())
        raise QualityError(f"{what}: ffmpeg failed (exit {done.returncode}):\n{tail}")
    return done.stdout, log
