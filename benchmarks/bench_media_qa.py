"""Benchmark: the whole ``qa(ladder, depth="media")`` of the demo ladder against just
downloading the same segments with the same concurrency, side by side in one run.

Run:  PYTHONPATH=. .venv/bin/python -P benchmarks/bench_media_qa.py [--profile demo|tiny]
      [--probe full|sample] [--concurrency 8] [--runs 7] [--link 1000] [--latency 0]

What is timed (wall clock, both on the same ``hs_notebook`` client and connection pool,
against the local sandbox, which runs in a process of its own, as an origin would):

- "download": every segment that the QA probes (``--probe full``: all of them), fetched
  with ``AsyncClient.get_bytes`` at most ``--concurrency`` at a time; nothing else.
- "qa media": ``qa(ladder, depth="media", probe=..., measure=False)`` on a freshly fetched
  ladder (its playlists fetched before the clock starts, as a notebook user has them): the
  same segment downloads, plus the subtitle playlists and their first WebVTT segments, the
  probe of every segment (PyAV, in a worker thread), the tables and every rule.

The two are interleaved run by run; each line compares the best run of each (the run least
disturbed by other processes), with the median ratio beside it.  Two origins, one after the
other, in the same run:

- **over a link** (the target, qa <= 1.3 x download): the sandbox sends each body in 16 KiB
  chunks paced so that ``--concurrency`` connections share ``--link`` Mbit/s (the sandbox's
  ``Faults(slow_body=...)``; the rate reached is printed, it is below the nominal one), plus
  ``--latency`` seconds before each answer.  This is what "downloading a ladder" means for
  a user of a CDN: the segments arrive over a network while the probes of the ones already
  in run beside the downloads.
- **loopback** (for information): the origin answers as fast as this machine can.  Then the
  download is bound by CPU, not by a network: the client's and the origin's (a second
  process on the same machine) use the cores, and the probes have no idle core to run on,
  so their CPU time is added to the wall time.  The floor of the ratio there is about
  (client download CPU + origin CPU + probe CPU) / cores / download time; the CPU figures
  printed show it.  ``benchmarks/bench_probe.py`` measures the probe against bare PyAV
  demuxing of the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from hs_notebook import probe_fetch
from hs_notebook.http import AsyncClient, default_client
from hs_notebook.ladder import Ladder, fetch_ladder
from hs_notebook.probe_fetch import sample_indices
from hs_notebook.qa import qa
from hs_notebook.sandbox import Faults, Sandbox
from hs_notebook.sandbox.faults import SLOW_BODY_CHUNK
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


def origin(conn: Connection, profile: str) -> None:
    """The sandbox, in a child process: sends its address and key, then sets the faults it
    is sent (``(latency, slow_body)``) until it is sent ``"stop"``."""
    with Sandbox(profile=profile) as sb:
        key = sb.signing_key
        conn.send((sb.base_url, sb.project_id, sb.video_id, key.key_id, key.private_key_base64()))
        while (command := conn.recv()) != "stop":
            latency, slow_body = command
            sb.faults = Faults(latency=latency, slow_body=slow_body) if command != (0, 0) else None
            conn.send("ok")


def slow_body_for(link_mbit: float, concurrency: int) -> float:
    """Seconds per 16 KiB chunk so that ``concurrency`` connections share the link."""
    per_connection = link_mbit * 1e6 / concurrency
    return SLOW_BODY_CHUNK * 8 / per_connection


@dataclass
class Scenario:
    """One origin setting, and what was measured against it."""

    name: str
    latency: float
    slow_body: float
    download: list[float] = field(default_factory=list)
    qa: list[float] = field(default_factory=list)
    cpu_download: float = 0.0
    cpu_qa: float = 0.0
    summary: str = ""

    def ratios(self) -> tuple[float, float]:
        best = min(self.qa) / min(self.download)
        median = statistics.median(q / d for q, d in zip(self.qa, self.download, strict=True))
        return best, median


def measure(
    scenario: Scenario, ladder: Callable[[], Ladder], urls: list[str], args: argparse.Namespace
) -> None:
    """Interleaved runs of download-only and the media QA against the origin as it is set."""
    client = default_client()
    client.run(lambda ac: download_all(ac, urls, args.concurrency))  # warm up
    qa(ladder(), depth="media", probe=args.probe, measure=False, progress=False)
    for _ in range(args.runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        client.run(lambda ac: download_all(ac, urls, args.concurrency))
        scenario.download.append(time.perf_counter() - started)
        scenario.cpu_download += (time.process_time() - cpu_started) / args.runs

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
        scenario.qa.append(time.perf_counter() - started)
        scenario.cpu_qa += (time.process_time() - cpu_started) / args.runs
        assert fresh.probed is not None and len(fresh.probed.segments) == len(urls)
        assert not report.errors, report.summary
        scenario.summary = report.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo", choices=("demo", "tiny"))
    parser.add_argument("--probe", default="full", choices=("full", "sample"))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--link", type=float, default=1000.0, help="Mbit/s the connections share (default 1000)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds before each answer over the link"
    )
    parser.add_argument(
        "--probe-threads",
        type=int,
        default=probe_fetch.PROBE_THREADS,
        help=f"probe worker threads (default {probe_fetch.PROBE_THREADS})",
    )
    args = parser.parse_args()
    probe_fetch.PROBE_THREADS = args.probe_threads
    scenarios = [
        Scenario(
            f"over a {args.link:g} Mbit/s link"
            + (f", {args.latency * 1e3:g} ms latency" if args.latency else ""),
            args.latency,
            slow_body_for(args.link, args.concurrency),
        ),
        Scenario("loopback (CPU-bound, for information)", 0.0, 0.0),
    ]

    here, there = mp.Pipe()
    server = mp.get_context("spawn").Process(target=origin, args=(there, args.profile), daemon=True)
    server.start()
    base_url, project_id, video_id, key_id, key_b64 = here.recv()
    key = SigningKey.from_base64(key_id, key_b64)
    try:

        def ladder() -> Ladder:
            return fetch_ladder(video_id, key, project_id, base_url)

        urls = segment_urls(ladder(), args.probe)
        total = default_client().run(lambda ac: download_all(ac, urls, args.concurrency))
        for scenario in scenarios:
            here.send((scenario.latency, scenario.slow_body))
            here.recv()
            measure(scenario, ladder, urls, args)
    finally:
        here.send("stop")
        server.join(timeout=30)

    print(
        f"profile {args.profile}, probe={args.probe}: {len(urls)} segments, "
        f"{total / 1e6:.1f} MB, concurrency {args.concurrency}, "
        f"{args.probe_threads} probe threads, {args.runs} runs"
    )
    for scenario in scenarios:
        best, median = scenario.ratios()
        rate = total * 8 / min(scenario.download) / 1e6
        print(f"{scenario.name}: download reached {rate:.0f} Mbit/s")
        print(
            f"  download only      best {min(scenario.download) * 1e3:8.1f} ms   "
            f"(this process's CPU: {scenario.cpu_download * 1e3:.0f} ms a run)"
        )
        print(
            f"  qa depth='media'   best {min(scenario.qa) * 1e3:8.1f} ms   "
            f"(this process's CPU: {scenario.cpu_qa * 1e3:.0f} ms a run; {scenario.summary})"
        )
        verdict = (
            f"target <= {TARGET}x: {'PASS' if best <= TARGET else 'FAIL'}"
            if scenario is scenarios[0]
            else "no target: bound by CPU"
        )
        print(f"  ratio qa/download  best {best:.2f}x   median {median:.2f}x   ({verdict})")


if __name__ == "__main__":
    main()
