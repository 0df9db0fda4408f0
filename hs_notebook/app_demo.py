"""``make demo``: the Inspector app in Voilà, on this machine, against the local sandbox.

    python -m hs_notebook.app_demo [--port 8866] [--profile demo|tiny]

Prepares the sandbox media (generated once, then cached), starts Voilà on 127.0.0.1
serving ``notebooks/app.ipynb`` (``from hs_notebook.widgets import Inspector; Inspector()``),
prints the URL to open, and serves until Ctrl-C.  When ``HEAPSTREAM_SIGNING_KEY_ID`` and
``HEAPSTREAM_SIGNING_KEY`` are set the app uses HeapStream instead of the sandbox.

The helpers (:func:`free_port`, :func:`start_voila`, :func:`wait_for_server`) are also what
the browser test uses to run the same app.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

from hs_notebook.cli.base import EXIT_FAILED, EXIT_OK
from hs_notebook.errors import HeapStreamError
from hs_notebook.extras import require_extra

__all__ = [
    "APP_NOTEBOOK",
    "DEFAULT_PORT",
    "app_notebook",
    "free_port",
    "main",
    "start_voila",
    "stop_process",
    "wait_for_server",
]

DEFAULT_PORT = 8866
#: The notebook Voilà serves, in a source checkout.
APP_NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "app.ipynb"
#: A Jupyter data directory holding the Inspector's Voilà template ``hs_inspector`` (lab's,
#: without the Font Awesome stylesheets lab links from a CDN: the page works offline).
VOILA_DATA_DIR = Path(__file__).resolve().parent / "widgets" / "jupyter"
#: Voilà options of the Inspector: that template, and no jupyter-server-proxy lab extension
#: (it only adds JupyterLab launcher items, and fails to load inside Voilà; the proxy itself
#: is a server extension and keeps working).
VOILA_ARGS: tuple[str, ...] = (
    "--template=hs_inspector",
    '--VoilaConfiguration.extension_denylist=["@jupyterhub/jupyter-server-proxy"]',
)

_APP_SOURCE = "from hs_notebook.widgets import Inspector\n\nInspector()"


def app_notebook() -> Path:
    """``notebooks/app.ipynb`` of the checkout, or (installed without the notebooks) the
    same one-cell notebook written to a temporary directory."""
    if APP_NOTEBOOK.is_file():
        return APP_NOTEBOOK
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(_APP_SOURCE)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    path = Path(tempfile.mkdtemp(prefix="hs-notebook-app-")) / "app.ipynb"
    nbformat.write(nb, path)
    return path


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """``preferred`` when it can be bound on ``host``, else a free ephemeral port."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise HeapStreamError(f"no free TCP port on {host}")  # pragma: no cover


def start_voila(
    notebook: Path,
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    log: IO[bytes] | int | None = None,
    extra_args: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Start ``python -m voila <notebook>`` on ``127.0.0.1:<port>`` (no browser) with this
    interpreter; its output goes to ``log``."""
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        *VOILA_ARGS,
        *extra_args,
    ]
    environ = dict(os.environ if env is None else env)
    paths = [str(VOILA_DATA_DIR), *filter(None, environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    environ["JUPYTER_PATH"] = os.pathsep.join(paths)
    return subprocess.Popen(
        cmd,
        cwd=str(notebook.parent),
        env=environ,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches only us; we stop Voilà ourselves
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
    )


def wait_for_server(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    """Return once ``url`` answers (any status below 500); raise :class:`HeapStreamError`
    when the process exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False) as client:
        while (left := deadline - time.monotonic()) > 0:
            if proc.poll() is not None:
                raise HeapStreamError(f"Voilà exited with status {proc.returncode} while starting")
            try:
                # wait as long as is left for an answer: Voilà renders the notebook (in a
                # new kernel) for every GET of it, so a request given up on and sent again
                # would start one more kernel each time on a slow machine
                if client.get(url, timeout=max(left, 1.0)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
    raise HeapStreamError(f"Voilà did not answer at {url} within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` (kill it after 10 s) and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo until Ctrl-C. Exit status (:mod:`hs_notebook.cli.base`): 0 after Ctrl-C,
    1 when Voilà or the sandbox media fails."""
    from hs_notebook.env import ENV_SANDBOX_PROFILE, env_value, has_credentials

    parser = argparse.ArgumentParser(
        prog="python -m hs_notebook.app_demo",
        description="Serve the hs_notebook Inspector with Voilà on 127.0.0.1.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default 8866 (or free)")
    parser.add_argument(
        "--profile",
        choices=["demo", "tiny"],
        default=env_value(ENV_SANDBOX_PROFILE, default="demo"),
        help="sandbox media profile (default $HS_NOTEBOOK_SANDBOX_PROFILE or demo)",
    )
    args = parser.parse_args(argv)
    require_extra("notebook", "voila", feature="the demo app (Voilà)")
    # `kill` / a service manager's SIGTERM stops Voilà too, like Ctrl-C
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    env = dict(os.environ)
    env[ENV_SANDBOX_PROFILE] = args.profile
    if has_credentials(env):
        print("HEAPSTREAM_SIGNING_KEY_ID/HEAPSTREAM_SIGNING_KEY are set: using HeapStream.")
    else:
        from hs_notebook.sandbox.media import ensure_media

        print(f"Preparing the sandbox media (profile {args.profile!r}; the first run encodes")
        print("it with ffmpeg and takes a minute, later runs reuse the cache)…", flush=True)
        try:
            ensure_media(args.profile)
        except HeapStreamError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED

    notebook = app_notebook()
    port = free_port(args.port)
    url = f"http://127.0.0.1:{port}/"
    log_path = Path(tempfile.gettempdir()) / f"hs-notebook-voila-{port}.log"
    with log_path.open("wb") as log:
        proc = start_voila(notebook, port, env=env, log=log)
        try:
            wait_for_server(url, proc)
        except HeapStreamError as exc:
            stop_process(proc)
            tail = log_path.read_text(errors="replace")[-3000:]
            print(f"error: {exc}\n--- Voilà log ({log_path}) ---\n{tail}", file=sys.stderr)
            return EXIT_FAILED
        print()
        print(f"  The Inspector is at {url}")
        print("  Open it in a browser, click Mint, then look at the Embed, Ladder and")
        print("  Storyboard tabs.")
        print(f"  (Voilà's log: {log_path})  Press Ctrl-C to stop.")
        print(flush=True)
        interrupted = False
        try:
            while proc.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            interrupted = True
            print("\nstopping…")
        finally:
            stop_process(proc)
    if not interrupted:
        print(f"Voilà stopped (status {proc.returncode}); see {log_path}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
