"""Benchmark: ``hs_notebook.ladder.fetch_ladder`` against a naive sequential fetch loop and the
critical path, on a local sandbox with injected latency; and the cost of tabulating a
1,000-segment media playlist against ``m3u8.loads`` alone.

Run:  .venv/bin/python benchmarks/bench_inspect.py [--profile tiny|demo] [--latency 0.05]
                                                   [--runs 15]

Everything is measured in one run, side by side; the table prints medians, ratios and
PASS/FAIL against the targets:

- inspect <= 1.3 x critical path (2 x latency + the parse/tabulation time measured alone);
- inspect >= 3 x faster than the naive loop (``httpx.get`` the master, then each preset in
  turn).  A second naive row reuses one ``httpx.Client`` (no per-request connection
  set-up); with 4 presets its ceiling is 5 / 2 = 2.5 x, reported for context.
- ``segments_table`` on 1,000 segments <= 1.5 x ``m3u8.loads`` on the same text.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
import m3u8

from hs_notebook.hls import segments_table
from hs_notebook.http import Client, child_url
from hs_notebook.ladder import fetch_ladder, ladder_from_text, propagate_tokens
from hs_notebook.sandbox.faults import Faults
from hs_notebook.sandbox.server import Sandbox


def median_time(fn: Callable[[], Any], runs: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def naive(master_url: str, get: Callable[[str], httpx.Response]) -> list[str]:
    """What a first notebook would do: GET the master, then each preset in turn."""
    r = get(master_url)
    r.raise_for_status()
    playlist = m3u8.loads(r.text, uri=master_url)
    texts = []
    for variant in playlist.playlists:
        rr = get(child_url(master_url, variant.uri))
        rr.raise_for_status()
        texts.append(rr.text)
    return texts


def media_playlist(n: int) -> str:
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:6",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for i in range(n):
        lines += [f"#EXTINF:{6.0 - (i % 3) * 0.04:.3f},", f"seg-{i:05d}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="tiny", choices=["tiny", "demo"])
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()

    rows: list[tuple[str, str, float, str]] = []
    with Sandbox(args.profile) as sb, Client() as client:
        key = sb.signing_key
        vid = sb.video_id
        master_url = sb.url("master", vid, key.mint(vid, 3600))
        n_presets = len(sb.videos[vid].presets)

        # the texts, fetched once without latency, for the parse-only measurement
        warm = fetch_ladder(vid, key, sb.project_id, sb.base_url, client=client)
        media = warm.media_texts
        master_text = warm.master_text
        parse = median_time(lambda: ladder_from_text(master_text, media, master_url), args.runs * 4)

        sb.faults = Faults(latency=args.latency)
        t_inspect = median_time(
            lambda: fetch_ladder(vid, key, sb.project_id, sb.base_url, client=client), args.runs
        )
        t_naive = median_time(
            lambda: naive(master_url, lambda u: httpx.get(u, trust_env=False)), args.runs
        )
        with httpx.Client(trust_env=False) as pooled:
            t_pooled = median_time(lambda: naive(master_url, pooled.get), args.runs)
        sb.faults = None
    critical = 2 * args.latency + parse

    # ---- tabulation cost
    text = media_playlist(1000)
    base = "http://127.0.0.1:8000/mpl/1/p/?token=aaa.bbb.ccc"
    t_loads = median_time(lambda: m3u8.loads(text), args.runs * 2)
    t_table = median_time(lambda: segments_table(text), args.runs * 2)
    t_table_base = median_time(lambda: segments_table(text, base_uri=base), args.runs * 2)
    uris = segments_table(text, base_uri=base)["uri"].tolist()
    t_prop = median_time(lambda: propagate_tokens(base, uris), args.runs * 2)

    ms = 1000.0
    print(
        f"\nsandbox profile={args.profile}, {n_presets} presets, injected latency "
        f"{args.latency * ms:.0f} ms/request, {args.runs} runs, medians\n"
    )
    print(f"{'measurement':58s} {'median':>10s}")
    print("-" * 70)
    for name, value in [
        ("fetch_ladder() (shared Client, mint + 1 + N concurrent GETs)", t_inspect),
        ("naive loop: httpx.get master, then each preset in turn", t_naive),
        ("naive loop, one pooled httpx.Client (sequential)", t_pooled),
        ("parse/tabulate alone (ladder_from_text, no HTTP)", parse),
        ("critical path = 2 x latency + parse", critical),
        ("m3u8.loads, 1,000 segments", t_loads),
        ("segments_table, 1,000 segments", t_table),
        ("segments_table + base_uri, 1,000 segments", t_table_base),
        ("propagate_tokens over those 1,000 URIs", t_prop),
    ]:
        print(f"{name:58s} {value * ms:8.2f} ms")

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    r_crit = t_inspect / critical
    r_naive = t_naive / t_inspect
    r_pooled = t_pooled / t_inspect
    r_table = t_table / t_loads
    r_table_base = (t_table_base + t_prop) / t_loads
    rows = [
        ("inspect / critical path", "<= 1.3", r_crit, verdict(r_crit <= 1.3)),
        ("naive (httpx.get) / inspect", ">= 3.0", r_naive, verdict(r_naive >= 3.0)),
        (
            "naive (pooled client) / inspect",
            f"(ceiling {(n_presets + 1) / 2:.1f})",
            r_pooled,
            "info",
        ),
        ("segments_table / m3u8.loads", "<= 1.5", r_table, verdict(r_table <= 1.5)),
        (
            "(segments_table+base_uri+propagation) / m3u8.loads",
            "(info)",
            r_table_base,
            "info",
        ),
    ]
    print(f"\n{'ratio':52s} {'target':>16s} {'value':>8s}  verdict")
    print("-" * 88)
    for name, target, value, v in rows:
        print(f"{name:52s} {target:>16s} {value:8.2f}  {v}")
    return 0 if all(v != "FAIL" for *_, v in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
