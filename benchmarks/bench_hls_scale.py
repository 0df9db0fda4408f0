"""Benchmark: how hs_notebook.hls and the ladder scale with playlist size, against m3u8
alone (the parser they are built on).

Run (from the project root; about a minute):

    PYTHONPATH=$PWD .venv/bin/python -P benchmarks/bench_hls_scale.py \
        [--segments 200000] [--variants 10000] [--fetch-variants 2000] [--skip-fetch]

The 1,000,000-segment media playlist of issue 10 (about 2 minutes; one case at a time, each
peaking at about 1.4 GB; ``--skip-fetch`` leaves out the loopback fetch):

    PYTHONPATH=$PWD .venv/bin/python -P benchmarks/bench_hls_scale.py --segments 1000000

Each case runs in a fresh subprocess, so its peak memory (``ru_maxrss``, less the same
process's figure before the case: interpreter, imports and the playlist text) is its own;
a case that takes under a second runs three times (fresh processes each) and keeps its
least time and memory.
Every case runs at two sizes, ``n/2`` and ``n``, to show how it scales. Cases:

- media playlist of ``--segments`` segments: ``m3u8.loads`` alone; ``hls.segments_table``;
  ``hls.read_media`` (the facts a ladder and its QA keep); ``ladder_from_text`` with it as
  the only preset plus ``qa`` (what an audit does; ``ladder.segments()`` would parse once
  more, as ``segments_table`` does);
- master of ``--variants`` variants: ``m3u8.loads`` alone; ``hls.renditions_table``;
  ``ladder_from_text(master, {})`` plus ``.renditions`` (QA's cost grows with the number
  of findings, not measured here);
- ``fetch_ladder_url`` of a master of ``--fetch-variants`` variants (each with its own
  one-segment media playlist) from a loopback HTTP server (a thread of the same process),
  next to the same GETs with plain ``httpx``: one after the other on one connection, and
  with ``httpx.AsyncClient`` as many at a time as the ladder fetches (no target; shown for
  reference).

Targets (issue 10): each hs_notebook case stays within 2x of ``m3u8.loads`` alone on the
same text, in time and in peak memory (a PASS/FAIL verdict per case), and time and memory
grow linearly with size (the scaling table: cost per item at ``n`` over cost per item at
``n/2``, about 1.0 when linear).  Prints the figures of one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def media_text(n: int) -> str:
    head = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    )
    body = "".join(f"#EXTINF:6.000,\nseg-{i}.ts\n" for i in range(n))
    return head + body + "#EXT-X-ENDLIST\n"


def master_text(n: int) -> str:
    head = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    return head + "".join(
        f"#EXT-X-STREAM-INF:BANDWIDTH={100_000 + i},AVERAGE-BANDWIDTH={90_000 + i},"
        f'RESOLUTION=640x360,CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=30.000\n'
        f"v{i}/index.m3u8\n"
        for i in range(n)
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(case: str, n: int) -> dict[str, float]:
    """One case, in this process: {"seconds": ..., "mb": peak RSS growth}."""
    import m3u8

    from hs_notebook import hls
    from hs_notebook.ladder import ladder_from_text
    from hs_notebook.qa import qa

    base = "https://cdn.example.org/show/master.m3u8?token=abc"
    text = media_text(n) if case.startswith("media") else master_text(n)
    one_variant = master_text(1)
    # first use of pandas / Arrow / m3u8 allocates what any size needs: not the case's
    warm = ladder_from_text(one_variant, {"v0/index.m3u8": media_text(3)}, base)
    warm.segments(warm.preset_ids[0]), warm.renditions, qa(warm, measure=False)
    m3u8.loads(media_text(3))
    del warm
    before = _rss_mb()
    start = time.perf_counter()
    if case == "media:m3u8":
        m3u8.loads(text, uri=base)
    elif case == "media:segments_table":
        hls.segments_table(text, base)
    elif case == "media:read_media":
        hls.read_media(text, base)
    elif case == "media:ladder":  # what an audit does: parse, check (no segments table)
        ladder = ladder_from_text(one_variant, {"v0/index.m3u8": text}, base)
        qa(ladder, measure=False)
    elif case == "master:m3u8":
        m3u8.loads(text, uri=base)
    elif case == "master:renditions_table":
        hls.renditions_table(text, base)
    elif case == "master:ladder":
        ladder = ladder_from_text(text, {}, base)
        _ = ladder.renditions
    else:
        raise SystemExit(f"unknown case {case}")
    return {"seconds": time.perf_counter() - start, "mb": _rss_mb() - before}


def measure(case: str, n: int) -> dict[str, float]:
    """:func:`in_subprocess`; a case that took under a second (where a busy machine's noise
    weighs most) runs twice more, each in a fresh process, and keeps its least time and
    memory."""
    runs = [in_subprocess(case, n)]
    if runs[0]["seconds"] < 1.0:
        runs += [in_subprocess(case, n) for _ in range(2)]
    return {key: min(run[key] for run in runs) for key in ("seconds", "mb")}


def in_subprocess(case: str, n: int) -> dict[str, float]:
    # -P: the script's folder is not put on sys.path (nothing there may shadow a module)
    out = subprocess.run(
        [sys.executable, "-P", __file__, "--case", case, "--n", str(n)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    if out.returncode:
        raise SystemExit(f"case {case} n={n} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fetch_case(n: int) -> dict[str, float]:
    """Seconds of ``fetch_ladder_url`` ("seconds"), of the same GETs with plain httpx, one
    after the other on one connection ("plain"), and with ``httpx.AsyncClient``, at most
    :data:`~hs_notebook.ladder.VARIANT_CONCURRENCY` at a time as the ladder does ("async")."""
    import asyncio
    import functools
    import http.server
    import tempfile
    import threading

    import httpx

    from hs_notebook.http import Client
    from hs_notebook.ladder import VARIANT_CONCURRENCY, fetch_ladder_url

    class Handler(http.server.SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a CDN would
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body

        def log_message(self, format: str, *args: object) -> None:
            pass

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "master.m3u8").write_text(master_text(n))
        one = media_text(1)
        for i in range(n):
            (root / f"v{i}").mkdir()
            (root / f"v{i}" / "index.m3u8").write_text(one)
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=tmp)
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/master.m3u8"
        urls = [url.replace("master.m3u8", f"v{i}/index.m3u8") for i in range(n)]

        async def plain_async() -> None:
            limit = asyncio.Semaphore(VARIANT_CONCURRENCY)

            async def get(u: str) -> None:
                async with limit:
                    (await client.get(u)).raise_for_status()

            async with httpx.AsyncClient() as client:
                (await client.get(url)).raise_for_status()
                await asyncio.gather(*(get(u) for u in urls))

        try:
            with Client() as client:
                start = time.perf_counter()
                ladder = fetch_ladder_url(url, client=client)
                t_ladder = time.perf_counter() - start
            assert len(ladder.preset_ids) == n
            with httpx.Client() as plain:
                start = time.perf_counter()
                plain.get(url)
                for u in urls:
                    plain.get(u)
                t_plain = time.perf_counter() - start
            start = time.perf_counter()
            asyncio.run(plain_async())
            t_async = time.perf_counter() - start
        finally:
            server.shutdown()
    return {"seconds": t_ladder, "plain": t_plain, "async": t_async}


#: Most hs_notebook may cost, as a multiple of m3u8.loads alone (issue 10).
TARGET = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=200_000)
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--fetch-variants", type=int, default=2_000)
    parser.add_argument("--skip-fetch", action="store_true")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case == "fetch":
        print(json.dumps(fetch_case(args.n)))
        return
    if args.case:
        print(json.dumps(run_case(args.case, args.n)))
        return

    got: dict[tuple[str, int], dict[str, float]] = {}
    plan = (
        ("media", args.segments, ("m3u8", "segments_table", "read_media", "ladder")),
        ("master", args.variants, ("m3u8", "renditions_table", "ladder")),
    )
    for kind, size, cases in plan:
        for n in (size // 2, size):
            for case in cases:
                got[f"{kind}:{case}", n] = one = measure(f"{kind}:{case}", n)
                print(
                    f"  {kind}:{case} n={n}: {one['seconds']:.2f} s, {one['mb']:.0f} MB", flush=True
                )

    print(f"\nagainst m3u8.loads alone on the same text (target: at most {TARGET:g}x in both)")
    print(f"{'case':<24} {'n':>8} {'seconds':>8} {'x m3u8':>7} {'MB':>7} {'x m3u8':>7}  verdict")
    failed = 0
    for kind, size, cases in plan:
        for n in (size // 2, size):
            ref = got[f"{kind}:m3u8", n]
            for case in cases[1:]:
                one = got[f"{kind}:{case}", n]
                t_ratio = one["seconds"] / ref["seconds"]
                m_ratio = one["mb"] / max(ref["mb"], 1.0)
                ok = t_ratio <= TARGET and m_ratio <= TARGET
                failed += not ok
                print(
                    f"{kind + ':' + case:<24} {n:>8} {one['seconds']:8.2f} {t_ratio:7.2f} "
                    f"{one['mb']:7.0f} {m_ratio:7.2f}  {'PASS' if ok else 'FAIL'}"
                )
    print("all cases within the target: " + ("PASS" if not failed else f"FAIL ({failed})"))

    print("\nscaling: cost per item at n over cost per item at n/2 (1.00 = linear)")
    print(
        f"{'case':<24} {'us/item':>8} {'us/item':>8} {'ratio':>6} "
        f"{'KB/item':>8} {'KB/item':>8} {'ratio':>6}"
    )
    for kind, size, cases in plan:
        half = size // 2
        for case in cases:
            small, large = got[f"{kind}:{case}", half], got[f"{kind}:{case}", size]
            t_small, t_large = small["seconds"] / half * 1e6, large["seconds"] / size * 1e6
            m_small, m_large = small["mb"] / half * 1024, large["mb"] / size * 1024
            print(
                f"{kind + ':' + case:<24} {t_small:8.2f} {t_large:8.2f} {t_large / t_small:6.2f} "
                f"{m_small:8.2f} {m_large:8.2f} {m_large / max(m_small, 1e-9):6.2f}"
            )

    if not args.skip_fetch:
        fetched = in_subprocess("fetch", args.fetch_variants)
        t_ladder = fetched["seconds"]
        gets = args.fetch_variants + 1
        print(
            f"\nfetch_ladder_url, {args.fetch_variants} variants on loopback: {t_ladder:.2f} s; "
            f"the same {gets} GETs with httpx.Client, one after the other: "
            f"{fetched['plain']:.2f} s (ratio {t_ladder / fetched['plain']:.2f}); with "
            f"httpx.AsyncClient, as many at a time as fetch_ladder_url: {fetched['async']:.2f} s "
            f"(ratio {t_ladder / fetched['async']:.2f})"
        )


if __name__ == "__main__":
    main()
