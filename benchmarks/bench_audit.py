"""Benchmark: audit a catalog of sandbox videos, concurrently vs one video at a time.

Starts a sandbox origin (``tiny`` profile, ``--videos`` catalog videos) with injected
latency (20 ms per request) and 5xx answers (5 %), then runs, in the same run:

1. a sequential baseline: the same audit code with ``concurrency=1`` over the first
   ``--baseline`` videos (extrapolated as videos/s);
2. the concurrent audit of every video (``--concurrency`` videos in flight): with the
   local engine (one event loop) and with the Dask engine (``--workers`` worker processes
   on a ``LocalCluster``), as chosen by ``--engine`` (default both).

The origin runs in its own process by default, as a real origin would (in this process
its request handling would compete with the auditor for the GIL); ``--in-process`` runs it
on a thread here instead.  Prints videos/s, p50 and p95 seconds per video, peak RSS of
this process and of the Dask workers (``resource.getrusage``; with ``--in-process`` it
includes the origin), CPU milliseconds per video (local engine: auditor and origin), the
speed-up over the baseline, and PASS/FAIL against the targets: >= 10x the sequential
baseline (the faster engine), every id present in the summary, peak RSS < 1 GiB.  Exit
status 0 on PASS, 1 on FAIL.

    .venv/bin/python benchmarks/bench_audit.py [--videos 500] [--baseline 50] [--concurrency 16]
                                               [--engine local|dask|both] [--in-process]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
from typing import Any

from hs_notebook.catalog import audit
from hs_notebook.sandbox import Faults, Sandbox
from hs_notebook.tokens import SigningKey

TARGET_SPEEDUP = 10.0
TARGET_RSS = 1 << 30  # bytes


def _peak_rss() -> int:
    """Peak resident set size of this process, in bytes (ru_maxrss is KiB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _origin(conn: Any, videos: int) -> None:
    """Child process: run the sandbox; answer "faults", "cpu", "requests" and "stop"."""
    sb = Sandbox("tiny", catalog_size=videos)
    sb.start()
    key = sb.signing_key
    conn.send(
        (sb.base_url, sb.project_id, key.key_id, key.private_key_base64(), sb.catalog_video_ids)
    )
    while True:
        command, arg = conn.recv()
        if command == "faults":
            sb.faults = arg
            conn.send(None)
        elif command == "cpu":
            conn.send(_cpu())
        elif command == "requests":
            conn.send(len(sb.requests))
        else:
            break
    sb.stop()


class _Remote:
    """The sandbox in a child process, driven over a pipe."""

    def __init__(self, videos: int) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_origin, args=(child, videos), daemon=True)
        self.process.start()
        base_url, project_id, key_id, key_b64, ids = self.conn.recv()
        self.base_url, self.project_id, self.ids = base_url, project_id, ids
        self.key = SigningKey.from_base64(key_id, key_b64)

    def call(self, command: str, arg: Any = None) -> Any:
        self.conn.send((command, arg))
        return self.conn.recv()

    def stop(self) -> None:
        self.conn.send(("stop", None))
        self.process.join(timeout=30)


class _Local:
    """The sandbox on a thread of this process (``--in-process``)."""

    def __init__(self, videos: int) -> None:
        self.sb = Sandbox("tiny", catalog_size=videos).start()
        self.base_url, self.project_id = self.sb.base_url, self.sb.project_id
        self.ids, self.key = self.sb.catalog_video_ids, self.sb.signing_key

    def call(self, command: str, arg: Any = None) -> Any:
        if command == "faults":
            self.sb.faults = arg
            return None
        if command == "cpu":
            return 0.0  # counted in this process
        return len(self.sb.requests)

    def stop(self) -> None:
        self.sb.stop()


def _worker_rss() -> int:
    """Peak RSS of a Dask worker process, bytes (runs on the worker)."""
    return _peak_rss()


def _run_dask(ids: list[str], key: SigningKey, where: tuple[Any, str], args: Any) -> Any:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        common: dict[str, Any] = dict(progress=False, measure=args.measure, engine="dask")
        audit(ids[: 2 * args.workers], key, *where, client=client, **common)  # warm-up
        t0 = time.perf_counter()
        result = audit(ids, key, *where, client=client, concurrency=args.concurrency, **common)
        elapsed = time.perf_counter() - t0
        rss = max(client.run(_worker_rss).values())
    return result, elapsed, rss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=500)
    parser.add_argument("--baseline", type=int, default=50, help="videos audited sequentially")
    parser.add_argument("--concurrency", type=int, default=16, help="videos in flight (per worker)")
    parser.add_argument("--latency", type=float, default=0.020, help="seconds per request")
    parser.add_argument("--error-rate", type=float, default=0.05, help="fraction of 5xx")
    parser.add_argument("--measure", action="store_true", help="also HEAD every segment")
    parser.add_argument("--in-process", action="store_true", help="run the origin here")
    parser.add_argument(
        "--engine", choices=("local", "dask", "both"), default="both", help="concurrent engines"
    )
    parser.add_argument("--workers", type=int, default=2, help="Dask worker processes")
    args = parser.parse_args(argv)

    origin: _Remote | _Local = _Local(args.videos) if args.in_process else _Remote(args.videos)
    # engine -> result, s, (auditor cpu s, origin cpu s), rss
    runs: dict[str, tuple[Any, float, tuple[float, float], int]] = {}
    try:
        ids, key, where = origin.ids, origin.key, (origin.project_id, origin.base_url)
        common: dict[str, Any] = dict(progress=False, measure=args.measure)
        audit(ids[:2], key, *where, **common)  # warm-up: imports, first connections
        origin.call("faults", Faults(latency=args.latency, error_rate=args.error_rate, seed=7))

        base_ids = ids[: args.baseline]
        t0 = time.perf_counter()
        base = audit(base_ids, key, *where, concurrency=1, **common)
        base_elapsed = time.perf_counter() - t0
        base_rate = len(base_ids) / base_elapsed

        if args.engine in ("local", "both"):
            cpu0, server0 = _cpu(), origin.call("cpu")
            t0 = time.perf_counter()
            result = audit(ids, key, *where, concurrency=args.concurrency, **common)
            elapsed = time.perf_counter() - t0
            cpu = (_cpu() - cpu0, origin.call("cpu") - server0)
            runs["local"] = (result, elapsed, cpu, _peak_rss())
        if args.engine in ("dask", "both"):
            result, elapsed, rss = _run_dask(ids, key, where, args)
            nan = float("nan")
            runs[f"dask ({args.workers} workers)"] = (result, elapsed, (nan, nan), rss)
        requests = origin.call("requests")
    finally:
        origin.stop()

    placement = "in this process" if args.in_process else "in a child process"
    print(
        f"sandbox: tiny profile {placement}, {len(ids)} videos, latency "
        f"{args.latency * 1000:g} ms, {args.error_rate:.0%} injected 5xx, measure={args.measure}"
    )
    base_counts = ", ".join(f"{n} {s}" for s, n in base.counts.items() if n)
    print(
        f"sequential baseline (concurrency=1): {len(base_ids)} videos in {base_elapsed:.2f} s = "
        f"{base_rate:.1f} videos/s ({base_counts})"
    )
    checks: dict[str, bool] = {}
    speedups = {}
    for engine, (result, elapsed, cpu, rss) in runs.items():
        rate = len(ids) / elapsed
        speedups[engine] = rate / base_rate
        per_video = result.summary["elapsed"]
        counts = ", ".join(f"{n} {s}" for s, n in result.counts.items() if n)
        print(
            f"{engine}, concurrency={args.concurrency}: {len(ids)} videos in {elapsed:.2f} s = "
            f"{rate:.1f} videos/s = {speedups[engine]:.1f}x the baseline ({counts})"
        )
        print(
            f"  per video: p50 {per_video.quantile(0.5):.3f} s, "
            f"p95 {per_video.quantile(0.95):.3f} s"
        )
        if cpu[0] == cpu[0]:  # not NaN
            ms = [c / len(ids) * 1000 for c in cpu]
            print(
                f"  CPU per video (auditor + origin): {sum(ms):.1f} ms "
                f"(auditor {ms[0]:.1f} ms, origin {ms[1]:.1f} ms)"
            )
        where_rss = "this process" if engine == "local" else "largest worker"
        print(f"  peak RSS ({where_rss}): {rss / 2**20:.0f} MiB")
        present = set(result.summary["video_id"]) == set(ids) and len(result.summary) == len(ids)
        checks[f"{engine}: every id present ({len(result.summary)}/{len(ids)})"] = present
        checks[f"{engine}: peak RSS {rss / 2**20:.0f} MiB < 1024 MiB"] = rss < TARGET_RSS
    print(f"requests served by the origin in total: {requests}")
    best = max(speedups, key=lambda e: speedups[e])
    checks[f"speed-up {speedups[best]:.1f}x ({best}) >= {TARGET_SPEEDUP:g}x"] = (
        speedups[best] >= TARGET_SPEEDUP
    )
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    verdict = all(checks.values())
    print("PASS" if verdict else "FAIL")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
