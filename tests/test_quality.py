"""Tests for hs_notebook.quality: VMAF/PSNR/SSIM and loudness on real media made here with
the ffmpeg of imageio-ffmpeg (a few seconds each), checked against a plain ffmpeg libvmaf
run; the pure rate-quality hull; the quality figures."""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hs_notebook.errors import InvalidArgument
from hs_notebook.quality import (
    DEFAULT_SUBSAMPLE,
    FRAME_COLUMNS,
    LOUDNESS_COLUMNS,
    MIN_SCORED_FRAMES,
    SECOND_COLUMNS,
    SUMMARY_COLUMNS,
    QualityError,
    auto_subsample,
    frames_at,
    hull_gap,
    loudness,
    plan_windows,
    score,
    upper_hull,
)
from hs_notebook.quality._ffmpeg import ffmpeg_exe, streamable

SIZE = (640, 360)
RATE = 24
SECONDS = 3


def _ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A detailed, moving 640x360 reference with a tone, and encodes of it."""
    d = tmp_path_factory.mktemp("quality")
    w, h = SIZE
    src = f"testsrc2=size={w}x{h}:rate={RATE}:duration={SECONDS}"
    tone = f"sine=frequency=440:duration={SECONDS}"
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        src,
        "-f",
        "lavfi",
        "-i",
        tone,
        *x264,
        "-crf",
        "8",
        "-c:a",
        "aac",
        "-movflags",
        "+faststart",
        str(d / "ref.mp4"),
    )
    _ffmpeg(
        "-i",
        str(d / "ref.mp4"),
        "-vf",
        "scale=320:180",
        *x264,
        "-b:v",
        "40k",
        "-maxrate",
        "40k",
        "-bufsize",
        "80k",
        "-af",
        "volume=-10dB",
        "-c:a",
        "aac",
        str(d / "bad.mp4"),
    )  # moov at the end: not streamable
    _ffmpeg(
        "-i",
        str(d / "ref.mp4"),
        *x264,
        "-crf",
        "30",
        "-an",
        "-movflags",
        "+faststart",
        str(d / "mid.mp4"),
    )
    _ffmpeg("-i", str(d / "ref.mp4"), "-c", "copy", "-f", "mpegts", str(d / "ref.ts"))
    return {p.stem if p.suffix != ".ts" else "ts": p for p in d.iterdir()}


def _plain_libvmaf(distorted: Path, reference: Path, log: Path) -> float:
    """What a person runs by hand: one full-frame libvmaf, upscaled bicubic."""
    w, h = SIZE
    _ffmpeg(
        "-i",
        str(distorted),
        "-i",
        str(reference),
        "-lavfi",
        f"[0:v]scale={w}:{h}:flags=bicubic[d];[d][1:v]libvmaf=log_fmt=json:log_path={log}",
        "-f",
        "null",
        "-",
    )
    return float(json.loads(log.read_text())["pooled_metrics"]["vmaf"]["mean"])


@pytest.mark.slow
def test_identical_scores_high_and_a_starved_encode_lower(
    media: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))  # where Staging makes its dir
    ref = media["ref"]
    result = score(
        ref, {"same": ref.read_bytes(), "bad": media["bad"].read_bytes(), "mid": media["mid"]}
    )
    assert list(private.iterdir()) == []  # FIFOs, temp files and logs are gone
    summary = result.renditions.set_index("rendition")
    assert list(result.renditions.columns) == list(SUMMARY_COLUMNS)
    assert summary.loc["same", "vmaf_mean"] > 95
    assert summary.loc["same", "ssim"] > 0.99
    assert summary.loc["bad", "vmaf_mean"] < summary.loc["same", "vmaf_mean"] - 20
    assert summary.loc["bad", "vmaf_mean"] < summary.loc["mid", "vmaf_mean"]
    assert summary.loc["bad", "psnr"] < summary.loc["mid", "psnr"]
    assert (summary.loc["bad", "width"], summary.loc["bad", "height"]) == (320, 180)
    assert summary.loc["bad", "vmaf_min"] <= summary.loc["bad", "vmaf_p5"]
    assert summary.loc["bad", "vmaf_p5"] <= summary.loc["bad", "vmaf_mean"]
    assert summary.loc["bad", "bitrate"] < summary.loc["mid", "bitrate"]
    # default for a short clip: every frame of the whole reference
    assert result.subsample == 1 and result.windows is None
    assert summary.loc["same", "frames"] == SECONDS * RATE
    assert "whole reference" in result.sampling
    assert list(result.frames.columns) == list(FRAME_COLUMNS)
    per_second = result.per_second
    assert list(per_second.columns) == list(SECOND_COLUMNS)
    assert sorted(set(per_second["second"])) == list(range(SECONDS))
    assert "3 renditions" in repr(result) and "<table" in result._repr_html_()


@pytest.mark.slow
def test_matches_a_plain_ffmpeg_libvmaf_run(media: dict[str, Path], tmp_path: Path) -> None:
    plain = _plain_libvmaf(media["bad"], media["ref"], tmp_path / "plain.json")
    full = score(media["ref"], {"bad": media["bad"]}, subsample=1, sample="full")
    ours = float(full.renditions["vmaf_mean"].iloc[0])
    assert abs(ours - plain) < 0.5, (ours, plain)
    assert full.renditions["frames"].iloc[0] == SECONDS * RATE
    every_4th = score(media["ref"], {"bad": media["bad"]}, metrics=["vmaf"], subsample=4)
    assert every_4th.renditions["frames"].iloc[0] == SECONDS * RATE / 4
    assert abs(float(every_4th.renditions["vmaf_mean"].iloc[0]) - plain) < 2.0  # 18 frames
    assert every_4th.frames["psnr"].isna().all()  # only the metrics asked for


@pytest.mark.slow
def test_hls_segments_by_pipe_are_aligned_in_time(media: dict[str, Path]) -> None:
    data = media["ts"].read_bytes()
    assert streamable(data) and streamable(media["ref"].read_bytes())
    assert not streamable(media["bad"].read_bytes())  # moov after mdat: a temp file
    result = score(media["ref"], {"ts": data}, subsample=2)
    # MPEG-TS timestamps start at 1.4 s; both are re-based to 0, so frames pair up
    assert float(result.renditions["vmaf_mean"].iloc[0]) > 95


@pytest.mark.slow
def test_time_windows(media: dict[str, Path]) -> None:
    windows = [(0.5, 1.0), (2.0, 0.5)]
    # an MP4 is opened once per window with an accurate seek; MPEG-TS (no index: a seek
    # can land between keyframes) is read once, by pipe, and trimmed to the windows
    data = media["ts"].read_bytes()
    result = score(media["ref"], {"mid": media["mid"], "ts": data}, sample=windows, subsample=1)
    for name in ("mid", "ts"):
        times = result.frames.loc[(result.frames["rendition"] == name).to_numpy(), "time"]
        assert len(times) == RATE * 1 + RATE // 2
        assert times.between(0.5, 1.5, inclusive="left").sum() == RATE
        assert times.between(2.0, 2.5, inclusive="left").sum() == RATE // 2
    summary = result.renditions.set_index("rendition")
    assert summary.loc["ts", "vmaf_mean"] > 95  # the same pictures, aligned in each window
    assert summary.loc["mid", "vmaf_mean"] < summary.loc["ts", "vmaf_mean"]
    assert result.windows is not None and len(result.windows) == 2
    assert "2 window(s)" in result.sampling


def test_auto_subsample() -> None:
    assert auto_subsample(72) == 1  # a short clip: every frame
    assert auto_subsample(MIN_SCORED_FRAMES * 3) == 3
    assert auto_subsample(24 * 30) == DEFAULT_SUBSAMPLE  # the demo: 24 s at 30 fps
    assert auto_subsample(3600 * 30) == DEFAULT_SUBSAMPLE


def test_plan_windows() -> None:
    assert plan_windows(None, 24.0)[0] is None
    windows, said = plan_windows(None, 120.0)
    assert windows is not None and [w.duration for w in windows] == [2.0, 2.0, 2.0]
    assert [w.start for w in windows] == [19.0, 59.0, 99.0] and "by default" in said
    assert plan_windows("full", 600.0)[0] is None
    assert plan_windows((2, 5.0), 100.0)[0] is not None
    assert plan_windows((5, 5.0), 20.0)[0] is None  # would cover it all
    assert plan_windows(4, 100.0)[0] is not None
    with pytest.raises(InvalidArgument, match="sample"):
        plan_windows("some", 10.0)
    with pytest.raises(InvalidArgument, match="after the reference's end"):
        plan_windows([(30.0, 1.0)], 10.0)
    with pytest.raises(InvalidArgument, match="window count"):
        plan_windows((0, 2.0), 10.0)


def test_bad_inputs_name_the_problem_without_the_token(media: dict[str, Path]) -> None:
    secret = "eyJhbGciOiJSUzI1NiJ9.secret.sig"
    with pytest.raises(QualityError) as info:
        score(media["ref"], {"720p": f"https://app.heapstream.com/stcr4/1/p/?token={secret}"})
    assert secret not in str(info.value) and "not a URL" in str(info.value)
    with pytest.raises(QualityError, match="no such file"):
        score(media["ref"], {"x": media["ref"].with_name("missing.mp4")})
    with pytest.raises(QualityError, match="PyAV"):
        score(media["ref"], {"x": b"not a video at all"})
    with pytest.raises(InvalidArgument, match="metrics"):
        score(media["ref"], {"x": media["mid"]}, metrics=["vmaf", "bogus"])
    with pytest.raises(InvalidArgument, match="renditions"):
        score(media["ref"], {})
    with pytest.raises(InvalidArgument, match="subsample"):
        score(media["ref"], {"x": media["mid"]}, subsample=0)


@pytest.mark.slow
def test_loudness(media: dict[str, Path]) -> None:
    table = loudness(
        {"ref": media["ref"], "bad": media["bad"].read_bytes(), "silent": media["mid"]}
    )
    assert list(table.columns) == list(LOUDNESS_COLUMNS)
    rows = table.set_index("rendition")
    assert -30 < rows.loc["ref", "integrated"] < -10
    # the bad encode's audio was turned down by 10 dB
    assert rows.loc["ref", "integrated"] - rows.loc["bad", "integrated"] == pytest.approx(10, abs=1)
    assert rows.loc["bad", "true_peak"] < rows.loc["ref", "true_peak"]
    assert math.isnan(rows.loc["silent", "integrated"])  # no audio stream


@pytest.mark.slow
def test_frames_at_and_the_comparison_figure(media: dict[str, Path]) -> None:
    from matplotlib.figure import Figure

    from hs_notebook.plots import frame_comparison_figure

    images = frames_at(media["ref"], {"ts": media["ts"].read_bytes(), "bad": media["bad"]}, 1.5)
    assert list(images) == ["reference", "ts", "bad"]
    assert {a.shape for a in images.values()} == {(SIZE[1], SIZE[0], 3)}
    same = np.abs(images["ts"].astype(int) - images["reference"].astype(int)).mean()
    worse = np.abs(images["bad"].astype(int) - images["reference"].astype(int)).mean()
    assert same < 1.0 < worse
    fig = frame_comparison_figure(images, crop=(100, 50, 160, 90))
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    assert fig.axes[3].images[0].get_array().shape[:2] == (90, 160)
    with pytest.raises(InvalidArgument, match="crop"):
        frame_comparison_figure(images, crop=(600, 0, 100, 100))
    with pytest.raises(InvalidArgument, match="past the reference's end"):
        frames_at(media["ref"], {"bad": media["bad"]}, 60.0)


def test_upper_hull_and_gaps() -> None:
    rates = [300_000, 800_000, 1_500_000, 3_000_000]
    assert upper_hull(rates, [60.0, 80.0, 78.0, 95.0]) == [0, 1, 3]
    even = [1_000_000, 2_000_000, 3_000_000, 4_000_000]
    assert upper_hull(even, [60.0, 70.0, 80.0, 90.0]) == [0, 3]  # collinear: the ends
    assert upper_hull(rates, [60.0, 85.0, 90.0, 92.0]) == [0, 1, 2, 3]  # concave
    # a rung below the chord of its neighbours is off the hull, by how much it is below
    assert upper_hull(rates, [60.0, 65.0, 90.0, 95.0]) == [0, 2, 3]
    gaps = hull_gap(rates, [60.0, 65.0, 90.0, 95.0])
    assert gaps[1] == pytest.approx(60 + 30 * 500 / 1200 - 65)
    assert gaps[0] == gaps[2] == gaps[3] == 0.0
    # NaN (unscored) rungs are on no hull; equal bitrates keep the better score
    assert upper_hull([1, 2, 2, 3], [50.0, 60.0, 70.0, math.nan]) == [0, 2]
    assert math.isnan(hull_gap([1, 2], [50.0, math.nan])[1])
    assert upper_hull([], []) == []
    with pytest.raises(InvalidArgument, match="same length"):
        upper_hull([1, 2], [50.0])


def test_quality_figures() -> None:
    from matplotlib.figure import Figure

    from hs_notebook.plots import rate_quality_figure, vmaf_over_time_figure

    table = pd.DataFrame(
        {
            "rendition": ["360p", "480p", "720p", "1080p"],
            "bitrate": [300_000, 800_000, 1_500_000, 3_000_000],
            "vmaf_mean": [60.0, 65.0, 90.0, 95.0],
        }
    )
    fig = rate_quality_figure(table)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    (hull_line,) = ax.get_lines()
    assert list(hull_line.get_xdata()) == pytest.approx([0.3, 1.5, 3.0])
    notes = [t.get_text() for t in ax.texts]
    assert "480p (7.5 below)" in notes and "720p" in notes
    with pytest.raises(InvalidArgument, match="bitrate"):
        rate_quality_figure(table.drop(columns="bitrate"))
    frames = pd.DataFrame(
        {
            "rendition": ["a"] * 6 + ["b"] * 6,
            "time": [0.0, 0.5, 1.0, 10.0, 10.5, 11.0] * 2,
            "vmaf": [90.0, 91, 92, 93, 94, 95, 50, 51, 52, 53, 54, 55],
        }
    )
    ax = vmaf_over_time_figure(frames).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"a", "b"}
    ys = np.asarray(lines["a"].get_ydata(), dtype=float)
    assert np.isnan(ys).sum() == 1  # the gap between the two windows is not bridged
    with pytest.raises(InvalidArgument, match="rendition"):
        vmaf_over_time_figure(frames.drop(columns="rendition"))
