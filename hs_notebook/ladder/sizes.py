"""Segment sizes without downloading the segments (one HEAD, else a one-byte ranged GET):
what :meth:`hs_notebook.ladder.Ladder.measure_segment_sizes` asks the origin for each."""

from __future__ import annotations

from hs_notebook.errors import FetchError
from hs_notebook.http import AsyncClient
from hs_notebook.redaction import redact

__all__ = ["segment_size"]


async def segment_size(ac: AsyncClient, uri: str) -> int:
    """Bytes of the resource at ``uri``: a HEAD's Content-Length, else the Content-Range
    total of a ranged GET (``Range: bytes=0-0``).  A refusal raises the client's error."""
    head = await ac.head(uri, allow_status=(401, 403, 405, 501))
    length = head.headers.get("content-length")
    if head.status < 300 and length is not None and length.isdigit():
        return int(length)
    # HEAD refused or without a length: a one-byte ranged GET (a refusal raises here,
    # with the origin's reason in the JSON body)
    response, final = await ac.open_stream(
        uri, headers={"Range": "bytes=0-0"}, deadline=ac.deadline
    )
    try:
        crange = response.headers.get("content-range", "")
        total = crange.rpartition("/")[2].strip()
        if response.status_code == 206 and total.isdigit():
            return int(total)
        length = response.headers.get("content-length")
        if response.status_code == 200 and length is not None and length.isdigit():
            return int(length)
    finally:
        await response.aclose()
    raise FetchError(
        f"could not measure {redact(final)}: HEAD gave no Content-Length and a ranged GET "
        f"no Content-Range total (status {response.status_code})",
        url=redact(final),
        status=response.status_code,
    )
