"""Benchmark: :func:`hs_notebook.probe.probe_segment` over every segment of the demo ladder
against bare PyAV demuxing of the same bytes, already in memory.

Run:  PYTHONPATH=. .venv/bin/python -P benchmarks/bench_probe.py [--profile demo|tiny] [--runs 7]

(``-P``: do not put ``benchmarks/`` first on ``sys.path``, where ``inspect.py`` would shadow
the standard library module until it is renamed.)

Both sides get the same bytes from memory (no I/O is timed).  "bare" is the least any
in-memory probe must pay: ``av.open(io.BytesIO(data))`` with the same options the probe
uses (``hs_notebook.probe.demux_options()``: ``skip_frame=all`` and a decoder whitelist
without H.264 and HEVC, so FFmpeg's stream-info pass reads the parsers' facts instead of
handing every video packet to a decoder) and one pass over ``container.demux()``.  "probe"
adds the checks before demuxing, reading each packet's timestamps, sizes and flags, the
codec strings and picture facts from the parameter sets, and the record.  The two are
interleaved run by run and timed in CPU seconds of this process; the headline ratio
compares the best run of each (the run least disturbed by other processes, as ``timeit``
advises) and the median ratio is printed beside it.  The target is probe <= 1.2 x bare.
For context, two more rows time bare demuxing with ``skip_frame=all`` alone (the probe's
options before the whitelist) and with PyAV's default ``av.open`` (which decodes a few
frames per segment).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import av

from hs_notebook.probe import demux_options, probe_segment
from hs_notebook.sandbox.media import ensure_media

TARGET = 1.2
PROBE_OPTIONS = demux_options()
SKIP_FRAME_ONLY = {"skip_frame": "all"}


def bare_demux(data: bytes, options: dict[str, str] | None = PROBE_OPTIONS) -> int:
    """Open the bytes with PyAV and read every packet; nothing else."""
    container = av.open(io.BytesIO(data), mode="r", options=options)
    try:
        return sum(1 for _ in container.demux())
    finally:
        container.close()


def probe_all(segments: list[bytes]) -> None:
    for data in segments:
        probe_segment(data)


def bare_all(segments: list[bytes]) -> None:
    for data in segments:
        bare_demux(data)


def skip_frame_all(segments: list[bytes]) -> None:
    for data in segments:
        bare_demux(data, options=SKIP_FRAME_ONLY)


def default_open_all(segments: list[bytes]) -> None:
    for data in segments:
        bare_demux(data, options=None)


def timed(fn: Callable[[list[bytes]], None], segments: list[bytes]) -> float:
    """CPU seconds of this process (``time.process_time``): both sides run in this one
    thread, and on a shared machine wall time mostly measures the other processes."""
    t0 = time.process_time()
    fn(segments)
    return time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="demo", help="sandbox media profile (demo, tiny)")
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each side")
    args = parser.parse_args()

    media = ensure_media(args.profile)
    segments = [seg.path.read_bytes() for r in media.renditions for seg in r.segments]
    total = sum(map(len, segments))
    print(
        f"{args.profile} ladder: {len(media.renditions)} renditions, {len(segments)} segments, "
        f"{total / 1e6:.1f} MB in memory"
    )
    probe_all(segments)  # warm up both (imports, allocator, page cache)
    bare_all(segments)
    probe_times, bare_times, skip_times, default_times = [], [], [], []
    for _ in range(args.runs):
        bare_times.append(timed(bare_all, segments))
        probe_times.append(timed(probe_all, segments))
        skip_times.append(timed(skip_frame_all, segments))
        default_times.append(timed(default_open_all, segments))
    probe, bare = min(probe_times), min(bare_times)
    skip, default = min(skip_times), min(default_times)
    ratio = probe / bare
    median_ratio = statistics.median(probe_times) / statistics.median(bare_times)
    print(f"bare PyAV demux : {bare * 1000:8.1f} ms  (CPU, best of {args.runs})")
    print(f"  skip_frame    : {skip * 1000:8.1f} ms  (skip_frame=all alone: no whitelist)")
    print(f"  default open  : {default * 1000:8.1f} ms  (av.open without options)")
    print(
        f"probe_segment   : {probe * 1000:8.1f} ms  ({probe / len(segments) * 1000:.2f} ms/segment)"
    )
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(
        f"ratio probe / bare = {ratio:.3f}x best, {median_ratio:.3f}x median  "
        f"(target <= {TARGET}x)  {verdict}"
    )


if __name__ == "__main__":
    main()
