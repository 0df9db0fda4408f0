"""Small helpers of :mod:`hs_notebook.hls`: URI resolution, codec splitting, attribute
values, and typed pandas arrays (``string``, ``Int64``, UTC times).  Internal."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa

from hs_notebook.errors import PlaylistError
from hs_notebook.hls.columns import AUDIO_CODECS, VIDEO_CODECS
from hs_notebook.redaction import excerpt

__all__ = [
    "MPLT_RE",
    "MPL_RE",
    "channel_count",
    "ints",
    "path_ids",
    "resolve_all",
    "resolver",
    "split_codecs",
    "strings",
    "unquote",
    "utc_times",
    "yes",
]

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
MPL_RE = re.compile(r"(?:^|/)mpl/([^/]+)/([^/]+)/")
MPLT_RE = re.compile(r"(?:^|/)mplt/([^/]+)/([^/]+)/")


#: A relative directory that ``urljoin`` appends to the base directory as it is: segments
#: of unreserved characters, none of them ``.`` or ``..``, no scheme, no leading ``/``.
_PLAIN_DIRECTORY_RE = re.compile(r"(?:(?!\.\.?/)[A-Za-z0-9_.~%-]+/)+")


def resolver(base_uri: str | None) -> Callable[[str | None], str | None]:
    """A function making URIs absolute against ``base_uri``, exactly as ``urljoin`` does.

    ``urljoin`` costs microseconds per call, which adds up over thousands of segments
    with distinct URIs, so only the directory part of a URI (everything up to the last
    ``/`` before any ``?`` or ``#``) goes through ``urljoin``, once per distinct directory;
    the file name and query are appended as they are. URIs for which that shortcut could
    differ (no file name, ``.``/``..`` as the name, a possible scheme) take the slow path.
    """
    if not base_uri:
        return lambda uri: uri
    base_dir = urljoin(base_uri, "_")[:-1]
    directories: dict[str, str] = {"": base_dir}
    whole: dict[str, str] = {}

    def join(uri: str) -> str:
        try:
            return urljoin(base_uri, uri)
        except ValueError as exc:  # "//[::0.0]/a.ts": urlsplit checks a bracketed host
            raise PlaylistError(f"the URI {excerpt(uri)} is not a valid URL ({exc})") from None

    def resolve(uri: str | None) -> str | None:
        if uri is None:
            return None
        if uri.startswith(("https://", "http://")) and not (
            "/." in uri or "//" in uri.partition("://")[2]
        ):
            return uri
        cut = len(uri)
        for mark in "?#":
            found = uri.find(mark, 0, cut)
            if found >= 0:
                cut = found
        slash = uri.rfind("/", 0, cut) + 1
        name = uri[slash:cut]
        if name and name != "." and name != ".." and (slash or ":" not in name):
            directory = uri[:slash]
            prefix = directories.get(directory)
            if prefix is None:
                if directory.endswith("//"):  # "//host" or "scheme://host": no path yet
                    return join(uri)
                if _PLAIN_DIRECTORY_RE.fullmatch(directory):  # "v1/", "a/b/": no dot segments
                    prefix = directories[directory] = base_dir + directory
                else:
                    prefix = directories[directory] = join(directory)
            return prefix + uri[slash:]
        result = whole.get(uri)
        if result is None:
            result = whole[uri] = join(uri)
        return result

    return resolve


#: A line (of URIs joined with newlines) that is not a bare file name: it starts with
#: ``.?#`` or has a ``/`` or ``:`` before any query or fragment.
_NOT_BARE_NAME_RE = re.compile(r"^(?:[.?#]|[^?#\n/:]*[/:])", re.MULTILINE)
#: A line that is not an http(s) URL free of dot segments and empty path segments.
_NOT_CLEAN_URL_RE = re.compile(r"^(?!https?://)|^https?://[^\n]*?(?:/\.|//)", re.MULTILINE)


def resolve_all(
    uris: list[Any], base_uri: str | None, resolve: Callable[[str | None], str | None]
) -> list[Any]:
    """Resolve many URIs; the common all-file-names and all-absolute cases in one go."""
    if not base_uri or not uris:
        return uris
    if None not in uris:
        joined = "\n".join(uris)
        if "\n" not in "".join(uris):  # (URIs never hold newlines; be sure)
            if _NOT_BARE_NAME_RE.search(joined) is None:
                base_dir = urljoin(base_uri, "_")[:-1]
                return [base_dir + uri for uri in uris]
            if _NOT_CLEAN_URL_RE.search(joined) is None:
                return list(uris)
    out: list[Any] = []
    previous: str | None = None
    absolute: str | None = None
    for uri in uris:
        if uri != previous or not out:  # byte-range playlists repeat one URI
            previous, absolute = uri, resolve(uri)
        out.append(absolute)
    return out


def path_ids(uri: str | None, pattern: re.Pattern[str]) -> str | None:
    """The id (second path component) after ``mpl/<project>/`` or ``mplt/<project>/``."""
    if not uri or ("mpl/" not in uri and "mplt/" not in uri):  # most URIs: no preset's
        return None
    try:
        path = urlsplit(uri).path
    except ValueError:  # "http://[/mpl/..." (a bracketed host that is no IP): no preset id
        return None
    match = pattern.search(path)
    return match.group(2) if match else None


@functools.lru_cache(maxsize=1024)
def split_codecs(codecs: str | None) -> tuple[str | None, str | None]:
    """(video, audio) entries of a CODECS value, each comma-joined or None.  Cached: the
    variants of a ladder repeat a few CODECS values, and their rows then share the strings."""
    if not codecs:
        return None, None
    video: list[str] = []
    audio: list[str] = []
    for entry in codecs.split(","):
        entry = entry.strip()
        code = entry.split(".", 1)[0].lower()
        if code in VIDEO_CODECS:
            video.append(entry)
        elif code in AUDIO_CODECS:
            audio.append(entry)
    return ",".join(video) or None, ",".join(audio) or None


def unquote(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def yes(value: str | None) -> bool:
    return value is not None and value.strip().upper() == "YES"


def channel_count(channels: str | None) -> int | None:
    if not channels:
        return None
    head = channels.split("/", 1)[0].strip()
    return int(head) if head.isdigit() else None


def strings(values: list[Any]) -> pd.api.extensions.ExtensionArray:
    """A ``string`` array (missing = <NA>) from str/None values, built through Arrow.

    With pandas' default (Arrow) string storage the Arrow array is wrapped as it is,
    which is several times cheaper than ``pd.array`` on the small columns of a ladder.

    Its buffers come from the C library's allocator (``pa.system_memory_pool()``): Arrow's
    default pool (mimalloc) keeps several MB reserved after the first tables, which
    doubled the peak memory of a 10,000-variant master."""
    try:
        arrow = pa.array(values, type=pa.large_string(), memory_pool=pa.system_memory_pool())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.array(values, dtype="string")
    dtype = pd.StringDtype()
    if dtype.storage == "pyarrow":
        return pd.arrays.ArrowStringArray(arrow, dtype=dtype)  # type: ignore[call-arg]  # stubs lag pandas 3
    return pd.array(arrow, dtype="string")


def ints(values: list[Any]) -> pd.arrays.IntegerArray:
    """An ``Int64`` array (missing = <NA>) from int/None values."""
    n = len(values)
    missing = values.count(None)
    if missing == n:
        return pd.arrays.IntegerArray(np.zeros(n, np.int64), np.ones(n, bool))
    if missing == 0:
        return pd.arrays.IntegerArray(np.asarray(values, np.int64), np.zeros(n, bool))
    return pd.array(values, dtype="Int64")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NAT = np.iinfo(np.int64).min


def utc_times(values: list[datetime | None]) -> pd.DatetimeIndex:
    """UTC timestamps (microseconds) from aware datetimes; None becomes NaT."""
    try:
        micros = [_NAT if d is None else (d - _EPOCH) // _MICROSECOND for d in values]
    except TypeError:  # a naive date-time (no UTC offset): let pandas read it as UTC
        return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("us")  # type: ignore[arg-type]
    return pd.DatetimeIndex(np.array(micros, np.int64).view("M8[us]")).tz_localize("UTC")
