"""Download a static MP4 (``/stcr4/``) or an original upload (``/dlo/``) to disk.

>>> path = download(hs.mp4_url(preset_id, token), "clips/")          # doctest: +SKIP

The body is streamed (constant memory) into ``<dest>.part`` and renamed to ``dest`` only
when it is complete and its size matches ``Content-Length`` / ``Content-Range``.  An
interrupted download is resumed from the ``.part`` file with ``Range: bytes=<size>-``
(checked against the ``206`` answer's ``Content-Range``; otherwise it starts over).  An
existing ``dest`` is never replaced unless ``overwrite=True``, and then only atomically
once the new file is complete.

Beside the ``.part`` lies ``<dest>.part.json``: the URL without its token, the origin's
validator (a strong ``ETag``, else ``Last-Modified``) and the total size.  A resume sends
the validator as ``If-Range`` and starts over when the URL, the validator or the total
differ, so a ``.part`` of another file or of an older version is never completed with
the bytes of a new one.  (A ``.part`` without that file is resumed as it is.)  Bodies are
asked for with ``Accept-Encoding: identity``: byte ranges count the bytes as stored.

While it runs, a download holds an exclusive lock (``fcntl.flock``) on
``<dest>.part.lock``, removed when it ends: a second download to the same ``dest`` at the
same time raises :class:`~hs_notebook.errors.DownloadError` at once and touches nothing
(two writers would corrupt the one ``.part``).  Where ``flock`` is unavailable (Windows,
some network file systems) downloads run unlocked, as before.

A download is exempt from the client's overall ``deadline`` (it can rightly take long);
every read still has the client's read timeout, and ``idle_timeout`` (default
:data:`DEFAULT_IDLE_TIMEOUT`, 30 s) bounds the wait for each ``chunk_size`` piece of the
body, so an origin that stalls or trickles (a byte every few seconds never trips a read
timeout) cannot hold a download forever.  A stalled or interrupted body resumes from the
``.part``, at most ``client.retries`` times, then raises
:class:`~hs_notebook.errors.DownloadError`.
"""

from __future__ import annotations

import errno
import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
from tqdm.auto import tqdm

from hs_notebook.errors import DownloadError, FetchError, InvalidArgument
from hs_notebook.http import Client, SyncStream, default_client, request_url, without_token
from hs_notebook.redaction import redact
from hs_notebook.urls import parse_signed_url
from hs_notebook.validate import positive_int, positive_seconds

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: downloads are not locked
    fcntl = None  # type: ignore[assignment]

__all__ = ["DEFAULT_IDLE_TIMEOUT", "download", "filename_for"]

#: Default upper bound (seconds) on the wait for each ``chunk_size`` piece of a download's
#: body: with the default 64 KiB chunks, a body slower than about 2 KiB/s is given up.
DEFAULT_IDLE_TIMEOUT = 30.0

_EXTENSIONS = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/mp2t": ".ts",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "text/vtt": ".vtt",
    "application/vnd.apple.mpegurl": ".m3u8",
    "application/x-mpegurl": ".m3u8",
}
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.I)
_UNSATISFIED_RANGE = re.compile(r"^\s*bytes\s+\*/(\d+)\s*$", re.I)
#: Most times one call starts a download over because the ``.part`` did not fit.
_MAX_RESTARTS = 3


def _safe_name(name: str) -> str | None:
    name = name.strip().strip('"').replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in (".", "..") or name.startswith(".") or "\x00" in name:
        return None
    return name


def _disposition_name(value: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (RFC 6266; ``filename*`` wins)."""
    if not value:
        return None
    star = re.search(r"filename\*\s*=\s*([^;]+)", value, re.I)
    if star:
        raw = star.group(1).strip()
        _, _, encoded = raw.partition("''")
        charset = raw.split("'", 1)[0] or "utf-8"
        try:
            name = unquote(encoded or raw, encoding=charset, errors="strict")
        except (LookupError, UnicodeDecodeError):
            name = None
        if name and (safe := _safe_name(name)):
            return safe
    plain = re.search(r'filename\s*=\s*("(?:[^"\\]|\\.)*"|[^;]+)', value, re.I)
    if plain:
        return _safe_name(plain.group(1).replace('\\"', '"'))
    return None


def filename_for(url: str, headers: httpx.Headers | dict[str, str] | None = None) -> str:
    """The file name a download of ``url`` gets in a directory: the ``Content-Disposition``
    name when the origin sends one, else ``<kind>-<id><ext>`` (``mp4-<preset>.mp4``,
    ``original-<video>.mp4``), else the last path segment.

    Raises :class:`~hs_notebook.errors.InvalidArgument` for a non-str ``url`` or headers
    that are not a mapping of strings."""
    if not isinstance(url, str):
        raise InvalidArgument(f"url must be a str, got {type(url).__name__}")
    if headers is not None and not isinstance(headers, httpx.Headers | Mapping):
        raise InvalidArgument(
            f"headers must be a mapping {{name: value}}, got {type(headers).__name__}"
        )
    try:
        headers = httpx.Headers(headers or {})
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"headers must map str names to str values ({exc})") from None
    name = _disposition_name(headers.get("content-disposition"))
    if name:
        return name
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    ext = _EXTENSIONS.get(ctype, "")
    try:
        path = httpx.URL(url).path
        signed = parse_signed_url(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidArgument(f"not a valid URL: {redact(url)!r} ({exc})") from None
    if signed is not None:
        if not ext and signed.kind in ("mp4", "original"):
            ext = ".mp4"
        return f"{signed.kind}-{signed.id}{ext}"
    last = _safe_name(unquote(path.rstrip("/").rsplit("/", 1)[-1]))
    return last or f"download{ext}"


def _total_of(stream: SyncStream, offset: int) -> int | None:
    crange = stream.headers.get("content-range")
    if stream.status_code == 206 and crange:
        m = _CONTENT_RANGE.match(crange)
        if m and m.group(3) != "*":
            return int(m.group(3))
    length = stream.headers.get("content-length")
    if length and length.isdigit():
        return int(length) + (offset if stream.status_code == 206 else 0)
    return None


def _validator(headers: httpx.Headers) -> str | None:
    """What identifies this version of the file: a strong ETag, else Last-Modified."""
    etag = headers.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("last-modified") or None


def _load_meta(path: Path) -> dict[str, Any] | None:
    """The ``.part.json`` beside a ``.part``; ``None`` when absent, ``{}`` when unreadable
    (which then matches nothing)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _start_over(part: Path, meta_path: Path, restarts: int, url: str, why: str) -> int:
    """Drop a ``.part`` that cannot be resumed; the new count of restarts."""
    restarts += 1
    if restarts > _MAX_RESTARTS:
        raise DownloadError(
            f"the download of {redact(url)} had to start over {restarts} times (last: {why}); "
            "the origin does not serve consistent byte ranges",
            url=redact(url),
        )
    part.unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)
    return restarts


def _refuse_existing(dest: Path, url: str) -> None:
    raise DownloadError(
        f"{dest} already exists; pass overwrite=True to replace it (nothing was downloaded)",
        url=redact(url),
    )


#: flock errors meaning "this file system cannot lock": run unlocked rather than fail
_NO_LOCKING = frozenset({errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EINVAL})


def _lock(target: Path, url: str) -> tuple[int, Path] | None:
    """Take the exclusive lock of a download to ``target`` (``<target>.part.lock``).

    Returns (descriptor, lock path) to give to :func:`_unlock`, or ``None`` when this
    platform or file system cannot lock.  Raises :class:`DownloadError` when another
    download to ``target`` holds it."""
    if fcntl is None:  # pragma: no cover - Windows
        return None
    path = target.with_name(target.name + ".part.lock")
    for _ in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DownloadError(
                f"another download to {target} is in progress (it holds {path}); wait for "
                "it to finish, or download to another path (nothing was changed)",
                url=redact(url),
            ) from None
        except OSError as exc:
            os.close(fd)
            if exc.errno in _NO_LOCKING:
                return None
            raise
        # the holder before us removes the file as it ends: make sure we locked the file
        # that is there now, not the one it just removed
        try:
            here, ours = os.stat(path), os.fstat(fd)
            if (here.st_dev, here.st_ino) == (ours.st_dev, ours.st_ino):
                return fd, path
        except FileNotFoundError:
            pass
        os.close(fd)
    raise DownloadError(  # pragma: no cover - only under a storm of competing downloads
        f"could not lock {path}: other downloads to {target} keep starting and ending",
        url=redact(url),
    )


def _unlock(lock: tuple[int, Path] | None) -> None:
    """Release a lock from :func:`_lock` (its file removed first, while still held)."""
    if lock is None:
        return
    fd, path = lock
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
    finally:
        os.close(fd)


def _destination(dest: Any) -> Path:
    """``dest`` as a path: a non-empty str or ``os.PathLike`` of str."""
    path = os.fspath(dest) if isinstance(dest, str | os.PathLike) else None
    if not isinstance(path, str):
        raise InvalidArgument(
            f"dest must be a file path or an existing directory (a str or pathlib.Path), "
            f"got {type(dest).__name__}"
        )
    if not path.strip() or "\x00" in path:
        raise InvalidArgument(
            f"dest must be a file path or an existing directory, got {redact(repr(dest))}; pass "
            "'.' for the current directory"
        )
    return Path(path).expanduser()


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: bool = True,
    client: Client | None = None,
    chunk_size: int = 1 << 16,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
) -> Path:
    """Download ``url`` (a signed ``/stcr4/`` MP4 or ``/dlo/`` original) to ``dest``.

    Args:
        url: the signed URL.
        dest: a file path, or an existing directory (the name then comes from
            ``Content-Disposition``, else from the URL kind and id; see :func:`filename_for`).
        overwrite: replace an existing file (otherwise :class:`DownloadError`).
        progress: show a tqdm progress bar (a widget in notebooks).
        client: the :class:`~hs_notebook.http.Client` to use (default: the shared one).
        chunk_size: bytes per read.
        idle_timeout: the most seconds to wait for each ``chunk_size`` piece of the body
            (``None``: no limit).  A body that stalls, or trickles in slower than
            ``chunk_size`` bytes per ``idle_timeout``, counts as cut off: the download
            resumes from the ``.part`` up to ``client.retries`` times, then raises
            :class:`DownloadError`.

    Returns the final path.  Raises :class:`~hs_notebook.errors.TokenRejected` when the
    origin refuses (``reason="originals_not_kept"`` when the project does not keep
    originals), :class:`~hs_notebook.errors.NotFound`, or :class:`DownloadError` when the
    download cannot be completed (the ``.part`` file is kept so a new call resumes).
    """
    request_url(url)
    target = _destination(dest)
    positive_int("chunk_size", chunk_size)
    positive_seconds("idle_timeout", idle_timeout, optional=True, hint="or None for no limit")
    if client is not None and not isinstance(client, Client):
        raise InvalidArgument(f"client must be a hs_notebook Client, got {type(client).__name__}")
    used = client or default_client()
    bar: Any = None
    attempts = 0
    restarts = 0
    source = without_token(url)  # what the .part.json remembers (never the token)
    total: int | None = None
    part: Path | None = None
    lock: tuple[int, Path] | None = None
    try:
        into_dir = target.is_dir()
        if not into_dir:
            if target.exists() and not overwrite:
                _refuse_existing(target, url)
            if not target.parent.is_dir():
                raise InvalidArgument(f"the directory {target.parent} does not exist")
            lock = _lock(target, url)
        while True:
            part = target.with_name(target.name + ".part") if not into_dir else None
            meta_path = target.with_name(target.name + ".part.json")
            offset = part.stat().st_size if part is not None and part.exists() else 0
            meta = _load_meta(meta_path) if offset else None
            if meta is not None and meta.get("url") != source:
                # a .part of another URL: never complete it with these bytes
                assert part is not None
                part.unlink(missing_ok=True)
                meta_path.unlink(missing_ok=True)
                offset, meta = 0, None
            known_total = meta.get("total") if meta else None
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
                if meta and isinstance(meta.get("validator"), str):
                    headers["If-Range"] = meta["validator"]

            with used.stream(url, headers=headers, allow_status=(416,)) as stream:
                if into_dir:
                    # the name comes from this answer; then restart with the right Range
                    name = filename_for(url, stream.headers)
                    target = target / name
                    into_dir = False
                    if target.exists() and not overwrite:
                        _refuse_existing(target, url)
                    lock = _lock(target, url)
                    if target.with_name(target.name + ".part").exists():
                        continue  # resume with a ranged request
                    part = target.with_name(target.name + ".part")
                    meta_path = target.with_name(target.name + ".part.json")
                assert part is not None
                if stream.status_code == 416:
                    if not offset:
                        raise DownloadError(
                            f"the origin answered 416 (range not satisfiable) to a request for "
                            f"the whole of {redact(url)}",
                            url=redact(url),
                            status=416,
                        )
                    m = _UNSATISFIED_RANGE.match(stream.headers.get("content-range", ""))
                    if m and int(m.group(1)) == offset and known_total in (None, offset):
                        total = offset  # the .part already holds everything
                    else:
                        restarts = _start_over(
                            part, meta_path, restarts, url, "the .part is longer than the file"
                        )
                        continue
                else:
                    mode = "wb"
                    if offset:
                        m = _CONTENT_RANGE.match(stream.headers.get("content-range", ""))
                        if stream.status_code == 206 and m and int(m.group(1)) == offset:
                            if known_total is not None and m.group(3) not in (
                                "*",
                                str(known_total),
                            ):
                                restarts = _start_over(
                                    part,
                                    meta_path,
                                    restarts,
                                    url,
                                    f"the file is now {m.group(3)} bytes, was {known_total}",
                                )
                                continue
                            mode = "ab"
                        elif stream.status_code == 206:
                            restarts = _start_over(
                                part, meta_path, restarts, url, "a range we did not ask for"
                            )
                            continue
                        else:
                            offset = 0  # 200: Range ignored or the file changed; take it whole
                    total = _total_of(stream, offset)
                    if mode == "wb":
                        meta_path.write_text(
                            json.dumps(
                                {
                                    "url": source,
                                    "validator": _validator(stream.headers),
                                    "total": total,
                                }
                            ),
                            encoding="utf-8",
                        )
                    if bar is None:
                        bar = tqdm(
                            total=total,
                            initial=offset,
                            unit="B",
                            unit_scale=True,
                            unit_divisor=1024,
                            desc=target.name,
                            disable=not progress,
                        )
                    else:
                        bar.reset(total=total)
                        bar.update(offset)
                    try:
                        with open(part, mode) as fh:
                            for chunk in stream.iter_bytes(chunk_size, idle_timeout=idle_timeout):
                                fh.write(chunk)
                                bar.update(len(chunk))
                    except FetchError as exc:
                        attempts += 1
                        if attempts > used.retries:
                            raise DownloadError(
                                f"the download of {redact(url)} kept being cut off "
                                f"({attempts} attempts; last: {exc}); the partial file is kept "
                                f"at {part}: call download() again to resume",
                                url=redact(url),
                            ) from exc
                        time.sleep(min(0.2 * 2 ** (attempts - 1), 5.0))
                        continue
            size = part.stat().st_size
            if total is not None and size != total:
                attempts += 1
                if size > total:
                    part.unlink()
                if attempts > used.retries:
                    raise DownloadError(
                        f"the download of {redact(url)} has {size} bytes but the origin "
                        f"announced {total}; the partial file is kept at {part}",
                        url=redact(url),
                    )
                continue
            if target.exists() and not overwrite:
                _refuse_existing(target, url)
            os.replace(part, target)
            meta_path.unlink(missing_ok=True)
            return target
    except OSError as exc:
        where = part if part is not None else target
        raise DownloadError(
            f"cannot write the download of {redact(url)} to {where}: "
            f"{exc.strerror or exc} (check the path, its permissions and the free space)",
            url=redact(url),
        ) from exc
    finally:
        _unlock(lock)
        if bar is not None:
            bar.close()
