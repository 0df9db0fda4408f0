"""Benchmark: the whole ``qa(ladder, depth="media")`` of the demo ladder against just
downloading the same segments with the same concurrency, side by side in one run.

Run:  PYTHONPATH=. .venv/bin/python -P benchmarks/bench_media_qa.py [--profile demo|tiny]
      [--probe full|sample] [--concurrency 8] [--runs 7] [--latency 0.03]

What is timed (wall clock, both on the same ``hs_notebook`` client and connection pool,
against the local sandbox, which runs in a process of its own, as an origin would: it does
not compete with the client for this interpreter's GIL):

- "download": every segment that the QA probes (``--probe full``: all of them), fetched
  with ``AsyncClient.get_bytes`` at most ``--concurrency`` at a time; nothing else.
- "qa media": ``qa(ladder, depth="media", probe=..., measure=False)`` on a freshly fetched
  ladder (its playlists fetched before the clock starts, as a notebook user has them): the
  same segment downloads, plus the subtitle playlists and their first WebVTT segments, the
  probe of every segment (PyAV, in worker threads), the tables and every rule.

The two are interleaved run by run; the headline ratio compares the best run of each (the
run least disturbed by other processes) and the median ratio is printed beside it.  The
target is qa <= 1.3 x download.  ``--latency`` (seconds, via the sandbox's ``Faults``) adds
a per-request delay like a CDN round trip; 0 is loopback, the worst case for the ratio
(downloads take almost no time, so the probing is all that is left to measure).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import time
from multiprocessing.connection import Connection

from hs_notebook import probe_fetch
from hs_notebook.http import AsyncClient, default_client
from hs_notebook.ladder import Ladder, fetch_ladder
from hs_notebook.probe_fetch import sample_indices
from hs_notebook.qa import qa
from hs_notebook.sandbox import Faults, Sandbox
from hs_notebook.tokens import SigningKey

TARGET = 1.3


def segment_urls(ladder: Ladder, probe: str) -> list[str]:
    """The URLs the media QA fetches for ``probe`` (the same sample as the probe takes)."""
    urls: list[str] = []
    for key in ladder.preset_ids:
        uris = ladder.segments(key)["uri"].tolist()
        urls += [uris[i] for i in sample_indices(len(uris), probe)]
    return urls


async def download_all(ac: AsyncClient, urls: list[str], concurrency: int) -> int:
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str) -> int:
        async with gate:
            return len(await ac.get_bytes(url))

    return sum(await asyncio.gather(*(one(u) for u in urls)))


def origin(conn: Connection, profile: str, latency: float) -> None:
    """The sandbox, in a child process: sends its address and key, serves until told."""
    with Sandbox(profile=profile) as sb:
        if latency:
            sb.faults = Faults(latency=latency)
        key = sb.signing_key
        conn.send((sb.base_url, sb.project_id, sb.video_id, key.key_id, key.private_key_base64()))
        conn.recv()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo", choices=("demo", "tiny"))
    parser.add_argument("--probe", default="full", choices=("full", "sample"))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--probe-threads",
        type=int,
        default=probe_fetch.PROBE_THREADS,
        help=f"probe worker threads (default {probe_fetch.PROBE_THREADS})",
    )
    args = parser.parse_args()
    probe_fetch.PROBE_THREADS = args.probe_threads

    here, there = mp.Pipe()
    server = mp.get_context("spawn").Process(
        target=origin, args=(there, args.profile, args.latency), daemon=True
    )
    server.start()
    base_url, project_id, video_id, key_id, key_b64 = here.recv()
    key = SigningKey.from_base64(key_id, key_b64)
    try:

        def ladder() -> Ladder:
            return fetch_ladder(video_id, key, project_id, base_url)

        client = default_client()
        urls = segment_urls(ladder(), args.probe)
        total = client.run(lambda ac: download_all(ac, urls, args.concurrency))  # warm up
        qa(ladder(), depth="media", probe=args.probe, measure=False, progress=False)
        download_times: list[float] = []
        qa_times: list[float] = []
        cpu = {"download": 0.0, "qa": 0.0}
        for _ in range(args.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            client.run(lambda ac: download_all(ac, urls, args.concurrency))
            download_times.append(time.perf_counter() - started)
            cpu["download"] += time.process_time() - cpu_started

            fresh = ladder()
            started, cpu_started = time.perf_counter(), time.process_time()
            report = qa(
                fresh,
                depth="media",
                probe=args.probe,
                measure=False,
                progress=False,
                concurrency=args.concurrency,
            )
            qa_times.append(time.perf_counter() - started)
            cpu["qa"] += time.process_time() - cpu_started
            assert fresh.probed is not None and len(fresh.probed.segments) == len(urls)
    finally:
        here.send("stop")
        server.join(timeout=30)

    best = min(qa_times) / min(download_times)
    median = statistics.median(q / d for q, d in zip(qa_times, download_times, strict=True))
    print(
        f"profile {args.profile}, probe={args.probe}: {len(urls)} segments, "
        f"{total / 1e6:.1f} MB, concurrency {args.concurrency}, latency {args.latency:g} s, "
        f"{args.probe_threads} probe threads, {args.runs} runs"
    )
    print(
        f"  download only      best {min(download_times) * 1e3:8.1f} ms   "
        f"(this process's CPU: {cpu['download'] / args.runs * 1e3:.0f} ms a run)"
    )
    print(
        f"  qa depth='media'   best {min(qa_times) * 1e3:8.1f} ms   "
        f"(this process's CPU: {cpu['qa'] / args.runs * 1e3:.0f} ms a run; {report.summary})"
    )
    print(f"  ratio qa/download  best {best:.2f}x   median {median:.2f}x   (target <= {TARGET}x)")


if __name__ == "__main__":
    main()
