"""Benchmark: ``hs_notebook.quality.score`` with its defaults against what a person does
with the ffmpeg CLI (one full-frame ``libvmaf`` run per rung, in turn), on the sandbox
ladder (every rung against the original upload), plus a table of the speed and accuracy
of the ``sample`` / ``subsample`` settings, all measured in one run.

Run:  .venv/bin/python benchmarks/bench_quality.py [--profile demo|tiny] [--quick]
                                                  [--synthetic SECONDS]

The baseline upscales each rung bicubic to the original's size, like ``score`` does, and
is given libvmaf threads for every core (a person often leaves libvmaf single-threaded, so
the measured ratio is the conservative one).  Targets (issue 13): the defaults at least
3x faster than the baseline for the 4-rung ladder, with every rung's mean VMAF within 1.0
point of the full-frame run.  ``--quick`` skips the settings table; ``--synthetic 8``
scores a ladder encoded here from 8 s of a synthetic 1080p source instead (real encodes of
the reference, for accuracy figures that mean something while the sandbox's renditions are
not encodes of its original).  CPU seconds (this process and its ffmpeg children) are
printed beside wall time: on a shared machine they are the steadier measure.  Exit status 0 on
PASS, 1 on FAIL.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from hs_notebook.quality import DEFAULT_SUBSAMPLE, media_facts, score
from hs_notebook.quality._ffmpeg import ffmpeg_exe
from hs_notebook.sandbox.media import ensure_media

SETTINGS: list[tuple[str, dict[str, Any]]] = [
    ("whole, every frame", {"sample": "full", "subsample": 1}),
    ("whole, every 2nd frame", {"sample": "full", "subsample": 2}),
    ("whole, every 4th frame", {"sample": "full", "subsample": 4}),
    (
        f"whole, every {DEFAULT_SUBSAMPLE}th frame",
        {"sample": "full", "subsample": DEFAULT_SUBSAMPLE},
    ),
    ("defaults (sample=None, subsample=None)", {}),
    ("whole, every 12th frame", {"sample": "full", "subsample": 12}),
    ("3 windows of 2 s, every frame", {"sample": (3, 2.0), "subsample": 1}),
    ("3 windows of 2 s, every 2nd frame", {"sample": (3, 2.0), "subsample": 2}),
    ("3 windows of 4 s, every 4th frame", {"sample": (3, 4.0), "subsample": 4}),
]


def plain_libvmaf(rung: Path, original: Path, width: int, height: int, log: Path) -> dict[str, Any]:
    """One full-frame libvmaf run, as typed by hand."""
    graph = (
        f"[0:v]scale={width}:{height}:flags=bicubic[d];"
        f"[d][1:v]libvmaf=log_fmt=json:log_path={log.name}:n_threads={os.cpu_count() or 1}"
    )
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            str(rung),
            "-i",
            str(original),
            "-lavfi",
            graph,
            "-f",
            "null",
            "-",
        ],
        check=True,
        cwd=log.parent,
    )
    pooled = json.loads(log.read_text())["pooled_metrics"]["vmaf"]
    frames = [f["metrics"]["vmaf"] for f in json.loads(log.read_text())["frames"]]
    p5 = float(np.percentile(frames, 5))  # as score() computes it
    return {"mean": float(pooled["mean"]), "p5": p5, "min": float(pooled["min"])}


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children (ffmpeg)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Any) -> tuple[Any, float, float]:
    """``(result, wall seconds, CPU seconds)`` of ``fn()``."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = fn()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo", choices=["demo", "tiny"])
    parser.add_argument("--quick", action="store_true", help="skip the settings table")
    parser.add_argument(
        "--synthetic",
        type=float,
        metavar="SECONDS",
        help="score a ladder encoded here from a synthetic 1080p source of this length "
        "instead of the sandbox's",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if args.synthetic:
            original, rungs, what = synthetic_ladder(Path(work), args.synthetic)
        else:
            media = ensure_media(args.profile)
            original, rungs = media.original, {r.name: r.mp4 for r in media.renditions}
            what = (
                f"sandbox {args.profile} ladder, {media.duration:g} s at {media.frame_rate:g} fps"
            )
        return run(original, rungs, what, quick=args.quick)


def synthetic_ladder(work: Path, seconds: float) -> tuple[Path, dict[str, Path], str]:
    """A 1080p30 reference (testsrc2: detail and motion) and a 4-rung x264 ladder of it."""
    original = work / "original.mp4"
    src = f"testsrc2=size=1920x1080:rate=30:duration={seconds:g}"
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    ffmpeg("-f", "lavfi", "-i", src, *x264, "-crf", "10", str(original))
    rungs = {}
    for height, rate in ((360, "300k"), (480, "600k"), (720, "1200k"), (1080, "2500k")):
        rungs[f"{height}p"] = work / f"{height}p.mp4"
        ffmpeg(
            "-i",
            str(original),
            "-vf",
            f"scale=-2:{height}",
            *x264,
            "-b:v",
            rate,
            "-maxrate",
            rate,
            "-bufsize",
            rate,
            str(rungs[f"{height}p"]),
        )
    return original, rungs, f"synthetic ladder, {seconds:g} s of 1080p30 testsrc2"


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def run(original: Path, rungs: dict[str, Path], what: str, *, quick: bool) -> int:
    ref = media_facts(original, name="original")
    width, height = ref.width, ref.height
    print(f"{what}: {len(rungs)} rungs ({', '.join(rungs)}); {os.cpu_count()} cores")
    # what a person does: one full-frame libvmaf run per rung, in turn
    baseline: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:

        def run_baseline() -> None:
            for name, path in rungs.items():
                baseline[name] = plain_libvmaf(
                    path, original, width, height, Path(tmp) / f"{name}.json"
                )

        _, t_base, c_base = timed(run_baseline)
    ours, t_ours, c_ours = timed(lambda: score(original, rungs))
    print(f"\n{'run':<48} {'wall s':>8} {'CPU s':>8}")
    print(f"{'baseline (full-frame libvmaf per rung, in turn)':<48} {t_base:8.2f} {c_base:8.2f}")
    print(f"{'hs_notebook.quality.score, defaults':<48} {t_ours:8.2f} {c_ours:8.2f}")
    print(f"  ({ours.line()})")
    print(
        f"\n{'rung':<8} {'plain VMAF':>10} {'ours':>8} {'diff':>6}   {'plain p5':>8} {'ours p5':>8}"
    )
    summary = ours.renditions.set_index("rendition")
    diffs = []
    for name in rungs:
        mean, plain = float(summary.loc[name, "vmaf_mean"]), baseline[name]["mean"]
        diffs.append(abs(mean - plain))
        print(
            f"{name:<8} {plain:10.2f} {mean:8.2f} {mean - plain:+6.2f}"
            f"   {baseline[name]['p5']:8.2f} {float(summary.loc[name, 'vmaf_p5']):8.2f}"
        )
    ratio, cpu_ratio = t_base / t_ours, c_base / c_ours
    if not quick:
        head = f"{'seconds':>8} {'speed-up':>9} {'max |dVMAF|':>12} {'max |dp5|':>10}"
        print(f"\n{'setting':<40} {head}")
        for label, options in SETTINGS:
            result, elapsed, _cpu = timed(lambda o=options: score(original, rungs, **o))
            rows = result.renditions.set_index("rendition")
            d_mean = max(abs(float(rows.loc[n, "vmaf_mean"]) - baseline[n]["mean"]) for n in rungs)
            d_p5 = max(abs(float(rows.loc[n, "vmaf_p5"]) - baseline[n]["p5"]) for n in rungs)
            print(
                f"{label:<40} {elapsed:8.2f} {t_base / elapsed:8.2f}x {d_mean:12.2f} {d_p5:10.2f}"
            )
    print(f"\n{'target':<52} {'value':>8}  verdict")
    checks = [
        ("defaults >= 3x faster than the baseline (wall)", f"{ratio:.2f}x", ratio >= 3.0),
        (
            "every rung's mean VMAF within 1.0 of the baseline",
            f"{max(diffs):.2f}",
            max(diffs) <= 1.0,
        ),
    ]
    for label, value, ok in checks:
        print(f"{label:<52} {value:>8}  {'PASS' if ok else 'FAIL'}")
    print(f"{'(CPU seconds: baseline / defaults)':<52} {cpu_ratio:7.2f}x  info")
    verdict = all(ok for *_, ok in checks)
    print("PASS" if verdict else "FAIL")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
