"""The ffmpeg binary of imageio-ffmpeg, run for the sandbox's media generation.

:func:`run_ffmpeg` is the one way the sandbox runs it: no stdin, no stdout, a timeout, and a
:class:`SandboxError` quoting the tail of ffmpeg's stderr when it fails.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from hs_notebook.errors import SandboxError

__all__ = ["FFMPEG_TIMEOUT", "ffmpeg_exe", "run_ffmpeg"]

#: Seconds one ffmpeg run may take before we give up.
FFMPEG_TIMEOUT = 900.0
_STDERR_TAIL = 2000  # characters of ffmpeg's stderr quoted in a SandboxError


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary shipped in the imageio-ffmpeg wheel
    (``$IMAGEIO_FFMPEG_EXE`` overrides it, as imageio-ffmpeg documents)."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise SandboxError(
            f"no ffmpeg binary available ({exc}); install the imageio-ffmpeg wheel "
            "(pip install imageio-ffmpeg)"
        ) from exc


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _STDERR_TAIL else "..." + text[-_STDERR_TAIL:]


def run_ffmpeg(
    args: Sequence[str], *, what: str, cwd: Path | None = None, loglevel: str = "error"
) -> str:
    """Run the bundled ffmpeg with ``args``; return its stderr or raise SandboxError.

    ``what`` completes "ffmpeg failed while ..." in the error message; ``cwd`` is the
    working directory (relative output names keep a ``%`` in a cache path from becoming a
    pattern); ``loglevel`` is ffmpeg's (``"info"`` when the caller reads filter output).
    """
    exe = ffmpeg_exe()
    cmd = [exe, "-hide_banner", "-nostdin", "-y", "-loglevel", loglevel, *args]
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=FFMPEG_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SandboxError(
            f"ffmpeg took longer than {FFMPEG_TIMEOUT:.0f} s while {what}; "
            f"stderr tail: {_tail((exc.stderr or b'').decode('utf-8', 'replace'))}"
        ) from exc
    except OSError as exc:
        raise SandboxError(f"could not run ffmpeg at {exe} while {what}: {exc}") from exc
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        shown = " ".join(cmd[1:])
        raise SandboxError(
            f"ffmpeg failed (exit {proc.returncode}) while {what}.\n"
            f"stderr tail:\n{_tail(stderr) or '(empty)'}\ncommand: ffmpeg {shown}"
        )
    return stderr
