"""Tests for hs.quality over a ladder and the quality rules (depth="quality"): real sandbox
media scored with the bundled ffmpeg's libvmaf, the wasted-rung defect, a project without
originals, a rendition that cannot be fetched, the CLI and the Dask audit.

(One rendition's VMAF against a plain ffmpeg libvmaf run of the same inputs, within 0.5, is
tested in tests/test_quality.py::test_matches_a_plain_ffmpeg_libvmaf_run.)"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import hs_notebook as hs
from hs_notebook.errors import InvalidArgument
from hs_notebook.http import Client
from hs_notebook.qa import COLUMNS, RULES
from hs_notebook.quality.ladder import LadderQuality
from hs_notebook.quality_rules import (
    FINDING_COLUMNS,
    QUALITY_RULES,
    QualityThresholds,
    quality_findings,
)
from hs_notebook.sandbox.defects import defect_video_id
from hs_notebook.sandbox.media import MediaSet
from hs_notebook.sandbox.server import Sandbox

QUALITY_IDS = {r.id for r in QUALITY_RULES}


def _ladder(sb: Sandbox, video_id: str, project_id: int | None = None) -> hs.Ladder:
    return hs.fetch_ladder(
        video_id, sb.signing_key, project_id or sb.project_id, base_url=sb.base_url
    )


def _rules(table: pd.DataFrame, subject: str | None = None) -> set[str]:
    rows = table if subject is None else table[(table["subject"] == subject).to_numpy()]
    return set(rows["rule"].tolist())


# ----------------------------------------------------------------------- pure rules


@dataclass
class _Scored:
    renditions: pd.DataFrame
    reference: str = "original"
    reference_note: str = "the original upload (/dlo/)"
    thresholds: QualityThresholds = field(default_factory=QualityThresholds)


def _table(vmaf: list[float], rates: list[int], **extra: Any) -> pd.DataFrame:
    n = len(vmaf)
    return pd.DataFrame(
        {
            "rendition": [f"r{i}" for i in range(n)],
            "declared_bitrate": rates,
            "measured_bitrate": rates,
            "vmaf_mean": vmaf,
            "vmaf_p5": extra.get("p5", [v - 2 for v in vmaf]),
            "integrated": extra.get("integrated", [-20.0] * n),
            "is_reference": [False] * n,
            "error": extra.get("error", [None] * n),
        }
    )


def test_clean_curve_raises_only_the_reference_note() -> None:
    scored = _Scored(_table([60.0, 75.0, 86.0, 95.0], [400_000, 800_000, 1_600_000, 3_200_000]))
    found = quality_findings(scored)
    assert list(found.columns) == list(FINDING_COLUMNS) == list(COLUMNS)
    assert found["rule"].tolist() == ["quality_reference"]
    assert found["severity"].tolist() == ["info"]


def test_each_rule_fires_on_its_own_problem() -> None:
    rates = [400_000, 800_000, 1_600_000, 3_200_000]
    # r2 scores below r1 at twice the bits: not rising, redundant and below the hull
    found = quality_findings(_Scored(_table([60.0, 80.0, 78.0, 95.0], rates)))
    assert {"quality_rises", "quality_redundant", "quality_hull"} <= _rules(found, "r2")
    assert _rules(found, "r1") == set()
    # a rung adding 1 point: redundant only
    found = quality_findings(_Scored(_table([60.0, 75.0, 76.0, 95.0], rates)))
    assert "quality_redundant" in _rules(found, "r2")
    assert "quality_rises" not in _rules(found)
    # the top rung below the floor, a hard scene, loudness apart, a rendition not scored
    table = _table(
        [60.0, 75.0, 85.0, 90.0],
        rates,
        p5=[58.0, 50.0, 83.0, 88.0],
        integrated=[-20.0, -20.0, -22.5, -20.0],
        error=[None, None, None, "NotFound: 404"],
    )
    table.loc[3, "vmaf_mean"] = float("nan")
    found = quality_findings(_Scored(table))
    assert "quality_top_floor" in _rules(found, "r2")  # the top scored rung
    assert "quality_hard_scenes" in _rules(found, "r1")
    assert "quality_loudness" in _rules(found, "ladder")
    assert "quality_scored" in _rules(found, "r3")
    # severities come from the one table: errors first
    assert found["severity"].iloc[0] == "error" or "quality_rises" not in _rules(found)


def test_thresholds_are_parameters() -> None:
    rates = [400_000, 800_000, 1_600_000, 3_200_000]
    scored = _Scored(_table([60.0, 75.0, 78.0, 95.0], rates))
    assert "quality_redundant" not in _rules(quality_findings(scored))
    scored.thresholds = QualityThresholds(min_gain=5.0, top_floor=96.0)
    found = quality_findings(scored)
    assert "quality_redundant" in _rules(found, "r2")
    assert "quality_top_floor" in _rules(found, "r3")


def test_quality_rules_are_in_the_one_table_and_only_at_depth_quality(
    sandbox: Sandbox,
) -> None:
    assert set(RULES) >= QUALITY_IDS
    assert all(RULES[i].quality for i in QUALITY_IDS)
    ladder = _ladder(sandbox, sandbox.video_id)
    report = hs.qa(ladder, measure=False)
    assert not QUALITY_IDS & (set(report.passed) | set(report.skipped) | _rules(report.table))
    offline = hs.ladder_from_text(ladder.master_text, media=ladder.media_texts)
    report = hs.qa(offline, depth="quality", measure=False)
    assert set(report.skipped) >= QUALITY_IDS
    assert "built from text" in report.skipped["quality_rises"]
    with pytest.raises(InvalidArgument):
        hs.qa(ladder, depth="pixels", measure=False)
    with pytest.raises(InvalidArgument):
        hs.quality(offline)


# ----------------------------------------------------------------------- real media


@pytest.fixture(scope="module")
def tiny_quality(sandbox: Sandbox) -> LadderQuality:
    return hs.quality(_ladder(sandbox, sandbox.video_id), progress=False)


@pytest.mark.slow
def test_tiny_ladder_scores_in_ladder_order(tiny_quality: LadderQuality) -> None:
    table = tiny_quality.renditions
    assert tiny_quality.reference == "original"
    assert table["declared_bitrate"].is_monotonic_increasing
    assert table["error"].isna().all() and (table["frames"] > 0).all()
    vmaf = table["vmaf_mean"].tolist()
    assert all(b > a for a, b in itertools.pairwise(vmaf)), vmaf
    assert table["ssim"].between(0, 1).all() and (table["psnr"] > 20).all()
    assert table["integrated"].notna().all()
    assert set(tiny_quality.per_time["rendition"]) == set(table["rendition"])
    # the clean ladder: no quality problem but the note on the reference
    assert not _rules(tiny_quality.findings) & {
        "quality_rises",
        "quality_redundant",
        "quality_hull",
        "quality_scored",
    }
    assert "quality_reference" in _rules(tiny_quality.findings)
    page = tiny_quality._repr_html_()
    assert "data:image/png;base64," in page and "vmaf_mean" in page
    assert "token=ey" not in page


@pytest.mark.slow
def test_demo_ladder_scores_in_ladder_order(hs_cache_dir: Path) -> None:
    """The demo profile (24 s, 360p-1080p): three 2 s windows, every rung strictly above the
    one below, and a spread of at least 15 VMAF points from the lowest to the top rung."""
    with Sandbox("demo", cache_dir=hs_cache_dir) as sb:
        result = hs.quality(_ladder(sb, sb.video_id), progress=False, sample=(3, 2.0))
    table = result.renditions
    assert len(table) == 4 and table["declared_bitrate"].is_monotonic_increasing
    vmaf = table["vmaf_mean"].tolist()
    assert all(b > a for a, b in itertools.pairwise(vmaf)), vmaf
    assert vmaf[-1] - vmaf[0] >= 15, vmaf
    assert "3 window(s)" in result.sampling


@pytest.mark.slow
def test_frame_comparison_of_the_scored_ladder(tiny_quality: LadderQuality) -> None:
    images = tiny_quality.frames_at(2.0)
    assert set(images) == {"reference", *tiny_quality.renditions["rendition"].tolist()}
    shapes = {a.shape for a in images.values()}
    assert len(shapes) == 1
    fig = tiny_quality.frame_comparison_figure(2.0, crop=(0, 0, 64, 64))
    assert len(fig.axes) == 2 * len(images)


@pytest.fixture(scope="module")
def wasted_sandbox(hs_cache_dir: Path, tiny_media: MediaSet) -> Iterator[Sandbox]:
    sb = Sandbox("tiny", cache_dir=hs_cache_dir, media_defects="wasted_rung")
    sb.start()
    yield sb
    sb.stop()


@pytest.mark.slow
def test_wasted_rung_raises_inefficiency_and_redundancy(wasted_sandbox: Sandbox) -> None:
    video_id = defect_video_id("wasted_rung")
    ladder = _ladder(wasted_sandbox, video_id)
    stages: list[str] = []
    report = hs.qa(
        ladder, depth="quality", measure=False, progress=lambda d, t, what: stages.append(what)
    )
    # quality implies media: the segments were probed and every media rule ran
    media = {rid for rid, rule in RULES.items() if rule.media}
    assert not media & set(report.skipped)
    assert media <= set(report.passed) | _rules(report.table)
    # one progress signature, fn(done, total, what), for probing and for scoring
    assert "probing segments" in stages and "scoring" in stages
    target = ladder.renditions.sort_values("bandwidth")["preset_id"].tolist()[-2]
    found = _rules(report.table, target)
    assert {"quality_hull", "quality_redundant"} <= found, report.table
    # the other rungs are not blamed
    others = report.table[(report.table["subject"] != target).to_numpy()]
    assert not _rules(others) & {"quality_hull", "quality_redundant", "quality_rises"}
    assert {"quality_scored"} <= set(report.passed)
    # the scores behind the findings come with the report
    assert report.quality is not None
    scores = report.quality.renditions
    assert (
        scores["rendition"].tolist()
        == ladder.renditions.sort_values("bandwidth")["preset_id"].tolist()
    )
    assert scores["vmaf_mean"].between(0, 100).sum() >= len(scores) - 1  # all but a reference
    assert hs.qa(ladder, depth="media", measure=False, progress=False).quality is None


@pytest.mark.slow
def test_no_originals_falls_back_to_the_top_rung(sandbox: Sandbox) -> None:
    ladder = _ladder(sandbox, "v-noorig", project_id=2)
    result = hs.quality(ladder, progress=False, sample=(1, 2.0))
    table = result.renditions
    top = table["rendition"].iloc[-1]
    assert result.reference == f"top rung {top}"
    assert "originals_not_kept" in result.reference_note
    assert table["is_reference"].tolist() == [False] * (len(table) - 1) + [True]
    assert table["frames"].iloc[-1] == 0 and (table["frames"].iloc[:-1] > 0).all()
    note = result.findings[(result.findings["rule"] == "quality_reference").to_numpy()]
    assert len(note) == 1 and "top rung" in note["message"].iloc[0]
    assert "originals_not_kept" in note["message"].iloc[0]
    vmaf = table["vmaf_mean"].iloc[:-1].tolist()
    assert all(b > a for a, b in itertools.pairwise(vmaf)), vmaf


@pytest.mark.slow
def test_a_rendition_that_cannot_be_fetched_is_reported_and_no_other_lost(
    sandbox: Sandbox,
) -> None:
    ladder = _ladder(sandbox, sandbox.video_id)
    table = ladder.renditions.copy()
    gone = table["preset_id"].iloc[1]
    table.loc[1, "preset_id"] = f"{gone}-gone"  # its /stcr4/ answers 404
    ladder.renditions = table
    result = hs.quality(ladder, progress=False, sample=(1, 2.0))
    rows = result.renditions.set_index("rendition")
    assert rows.loc[f"{gone}-gone", "frames"] == 0
    assert "NotFound" in str(rows.loc[f"{gone}-gone", "error"])
    kept = rows.drop(index=f"{gone}-gone")
    assert len(kept) == len(table) - 1
    assert (kept["frames"] > 0).all() and kept["vmaf_mean"].notna().all()
    assert kept["error"].isna().all()
    assert _rules(result.findings, f"{gone}-gone") == {"quality_scored"}
    assert str(ladder.token) not in result.findings.to_string() + repr(result)


@pytest.mark.slow
def test_reference_may_be_a_preset_or_a_local_path(sandbox: Sandbox, tmp_path: Path) -> None:
    ladder = _ladder(sandbox, sandbox.video_id)
    top = ladder.renditions.sort_values("bandwidth")["preset_id"].iloc[-1]
    result = hs.quality(ladder, reference=top, progress=False, sample=(1, 1.0), metrics=["vmaf"])
    assert result.reference == f"preset {top}"
    assert result.renditions.set_index("rendition").loc[top, "is_reference"]
    assert result.renditions["ssim"].isna().all()  # only VMAF asked for
    original = tmp_path / "source.mp4"
    with Client() as client:
        original.write_bytes(client.get_bytes(sandbox.signed_url("original", sandbox.video_id)))
    result = hs.quality(ladder, reference=str(original), progress=False, sample=(1, 1.0))
    assert result.reference == "source.mp4"
    assert not result.renditions["is_reference"].any()
    with pytest.raises(InvalidArgument, match="not 'original'"):
        hs.quality(ladder, reference=str(tmp_path / "missing.mp4"), progress=False)


# ----------------------------------------------------------------------- faces


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPSTREAM_")}
    return subprocess.run(
        [sys.executable, "-m", "hs_notebook.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.mark.slow
def test_cli_qa_depth_quality(sandbox: Sandbox) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    done = _cli("qa", url, "--depth", "quality", "--sample", "1x2", "--no-measure", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    rules = {f["rule"] for f in report["findings"]}
    assert "quality_reference" in rules
    assert "quality_rises" in report["passed"]
    assert "token=ey" not in done.stdout + done.stderr
    scores = report["quality"]  # one row of scores per rendition, the JSON of report.quality
    assert len(scores) == len(report["variants"]) >= 2
    assert all(0 <= row["vmaf_mean"] <= 100 for row in scores if not row["is_reference"])
    assert report["quality_reference"]
    text = _cli("qa", url, "--depth", "quality", "--sample", "1x2", "--no-measure")
    assert text.returncode == 0, text.stderr[-2000:]
    assert "scored against" in text.stdout and "vmaf_mean" in text.stdout
    assert "token=ey" not in text.stdout + text.stderr
    bad = _cli("qa", url, "--depth", "quality", "--sample", "lots")
    assert bad.returncode == 2 and "--sample" in bad.stderr


@pytest.mark.slow
def test_audit_depth_quality_on_a_dask_local_cluster(sandbox: Sandbox) -> None:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        result = hs.audit(
            [sandbox.video_id, "v-unknown"],
            sandbox.signing_key,
            sandbox.project_id,
            sandbox.base_url,
            engine="dask",
            client=client,
            progress=False,
            timeout=600,
            depth="quality",
        )
    status = dict(zip(result.summary["video_id"], result.summary["status"], strict=True))
    assert status["v-unknown"] == "not_found"
    assert status[sandbox.video_id] in ("ok", "findings")
    mine = result.findings[(result.findings["video_id"] == sandbox.video_id).to_numpy()]
    assert "quality_reference" in set(mine["rule"])
    assert not set(mine["rule"]) & {"quality_rises", "quality_hull", "quality_scored"}
    with pytest.raises(InvalidArgument):
        hs.audit([sandbox.video_id], sandbox.signing_key, 1, depth="deep", progress=False)


@pytest.mark.slow
def test_quality_panel_scores_in_the_background_and_shows_every_view(sandbox: Sandbox) -> None:
    from hs_notebook.widgets import QualityPanel, TokenPanel

    tp = TokenPanel(
        video_id=sandbox.video_id,
        key=sandbox.signing_key,
        project_id=sandbox.project_id,
        base_url=sandbox.base_url,
        use_env=False,
    )
    panel = QualityPanel(tp)
    try:
        assert panel.score_button.disabled  # no token yet
        assert panel.score() is None and "mint a token first" in panel.error_area.value
        tp.mint_button.click()
        assert not panel.score_button.disabled
        seen: list[tuple[int, int]] = []
        panel.progress.observe(lambda c: seen.append((c["new"], panel.progress.max)), "value")
        panel.sample_dropdown.value = "1 window of 2 s"
        panel.score_button.click()  # runs in a thread
        panel.wait(600)
        assert panel.result is not None, panel.error_area.value
        assert seen and seen[-1][0] == seen[-1][1]  # the bar reached its end
        assert panel.status.value.startswith("scored in")
        for name in panel.result.renditions["rendition"].tolist():
            assert name in panel.table.value
        assert "quality_reference" in panel.findings.value
        assert len(panel.rate_plot.outputs) == 1 and len(panel.time_plot.outputs) == 1
        assert not panel.time_slider.disabled and len(panel.frame_plot.outputs) == 1
        first = panel.frame_plot.outputs[0]["data"]["image/png"]
        panel.time_slider.value = 0.5
        assert panel.frame_plot.outputs[0]["data"]["image/png"] != first
        state = json.dumps([w.get_state() for w in (panel.table, panel.findings)], default=str)
        assert sandbox.signing_key.private_key_base64() not in state
        assert str(tp.token) not in state
    finally:
        panel.close()
        tp.close()
