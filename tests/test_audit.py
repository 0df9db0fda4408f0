"""Tests for hs_notebook.catalog: audits of many sandbox videos with injected faults,
refused tokens and unknown ids (every id comes back with the right status), saving and
resuming, and the Dask engine on a real LocalCluster."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hs_notebook.catalog import (
    DASK_TOKEN_TTL,
    FINDINGS_COLUMNS,
    STATUSES,
    SUMMARY_COLUMNS,
    AuditResult,
    audit,
    audit_async,
    audit_dask,
)
from hs_notebook.catalog._dask import PartitionTokens
from hs_notebook.errors import InvalidArgument
from hs_notebook.sandbox import Faults
from hs_notebook.tokens import decode_token, generate_signing_key


def _status(result: AuditResult) -> dict[str, str]:
    return dict(zip(result.summary["video_id"], result.summary["status"], strict=True))


def _masters(sb: Any) -> list[str]:
    """Video ids whose master playlist the sandbox was asked for."""
    return [r.path.split("/")[3] for r in sb.requests if r.path.startswith("/mmpl/")]


def test_every_id_comes_back_with_its_status(sandbox: Any) -> None:
    cat = sandbox.catalog_video_ids
    ids = [
        cat[0],
        "v-unknown",  # no such video
        sandbox.no_originals_video_id,  # a video of another project
        "bad/id",  # not usable in a URL
        cat[1],
        cat[0],  # a duplicate: audited once
        sandbox.video_id,
    ]
    result = audit(ids, sandbox.signing_key, sandbox.project_id, sandbox.base_url, progress=False)
    assert list(result.summary.columns) == list(SUMMARY_COLUMNS)
    assert list(result.findings.columns) == list(FINDINGS_COLUMNS)
    assert result.summary["video_id"].tolist() == list(dict.fromkeys(ids))  # input order
    assert _status(result) == {
        cat[0]: "findings",
        "v-unknown": "not_found",
        sandbox.no_originals_video_id: "not_found",
        "bad/id": "error",
        cat[1]: "findings",
        sandbox.video_id: "findings",
    }
    rows = result.summary.set_index("video_id")
    # the tiny profile: warnings only (2 s segments, no I-frame playlists)
    assert rows.loc[cat[0], "errors"] == 0 and rows.loc[cat[0], "warnings"] > 0
    assert rows.loc[cat[0], "worst_rule"] in {"segment_duration", "iframe_playlists"}
    assert pd.isna(rows.loc[cat[0], "reason"])
    assert "no video 'v-unknown' in project 1" in rows.loc["v-unknown", "reason"]
    assert "InvalidId" in rows.loc["bad/id", "reason"]
    assert (result.summary["elapsed"] >= 0).all()
    # findings are long: one row per finding, tagged with the video
    mine = result.findings[result.findings["video_id"] == cat[0]]
    assert len(mine) == rows.loc[cat[0], "warnings"] + rows.loc[cat[0], "infos"]
    assert set(result.findings["video_id"]) == {cat[0], cat[1], sandbox.video_id}
    assert result.counts == {"ok": 0, "findings": 3, "refused": 0, "not_found": 2, "error": 1}
    assert set(result.failed("error")["video_id"]) == {
        "v-unknown",
        "bad/id",
        sandbox.no_originals_video_id,
    }
    assert len(result.failed("warning")) == 6
    assert "3 findings" in repr(result) and "2 not_found" in result._repr_html_()


def test_refused_tokens_wrong_and_revoked_keys(sandbox: Any) -> None:
    ids = [*sandbox.catalog_video_ids, "v-unknown"]
    stranger = generate_signing_key("not-registered")
    result = audit(ids, stranger, sandbox.project_id, sandbox.base_url, progress=False)
    statuses = _status(result)
    assert {statuses[v] for v in sandbox.catalog_video_ids} == {"refused"}
    assert statuses["v-unknown"] == "not_found"
    refused = result.summary[result.summary["status"] == "refused"]
    assert all(r.startswith("unknown_kid:") for r in refused["reason"])
    assert result.findings.empty

    revoked = sandbox.create_signing_key()
    sandbox.revoke_signing_key(revoked.key_id)
    result = audit(
        sandbox.catalog_video_ids, revoked, sandbox.project_id, sandbox.base_url, progress=False
    )
    assert set(result.summary["status"]) == {"refused"}
    assert all(r.startswith("revoked_key:") for r in result.summary["reason"])


def test_injected_5xx_on_one_video_and_retries_on_the_rest(sandbox: Any) -> None:
    cat = sandbox.catalog_video_ids
    # every answer for one video's master is a 503: retried, then reported as an error
    sandbox.faults = Faults(error_rate=1.0, paths=f"^/mmpl/{sandbox.project_id}/{cat[1]}/")
    result = audit(cat, sandbox.signing_key, sandbox.project_id, sandbox.base_url, progress=False)
    statuses = _status(result)
    assert statuses[cat[1]] == "error"
    assert {statuses[cat[0]], statuses[cat[2]]} == {"findings"}
    reason = result.summary.set_index("video_id").loc[cat[1], "reason"]
    assert "503" in reason and "gave up after 4 attempts" in reason
    assert _masters(sandbox).count(cat[1]) >= 4

    # 30 % of all answers fail: retries absorb most; whatever happens, every id is back
    sandbox.faults = Faults(error_rate=0.3, seed=11, latency=0.005)
    result = audit(
        [*cat, sandbox.video_id], sandbox.signing_key, sandbox.project_id, sandbox.base_url,
        progress=False,
    )  # fmt: skip
    assert sorted(result.summary["video_id"]) == sorted([*cat, sandbox.video_id])
    assert set(result.summary["status"]) <= {"findings", "error"}
    assert (result.summary["status"] == "findings").sum() >= 2


def test_latency_and_the_per_video_timeout(sandbox: Any) -> None:
    sandbox.faults = Faults(latency=0.3)
    cat = sandbox.catalog_video_ids
    result = audit(
        cat, sandbox.signing_key, sandbox.project_id, sandbox.base_url, progress=False, timeout=0.1
    )
    assert set(result.summary["status"]) == {"error"}
    assert set(result.summary["reason"]) == {"timed out after 0.1 s"}
    sandbox.faults = Faults(latency=0.05)
    result = audit(cat, sandbox.signing_key, sandbox.project_id, sandbox.base_url, progress=False)
    assert set(result.summary["status"]) == {"findings"}
    assert (result.summary["elapsed"] >= 0.1).all()  # two round trips of 50 ms at least


def test_measure_checks_bitrates_from_real_segments(sandbox: Any) -> None:
    ids = sandbox.catalog_video_ids[:2]
    fast = audit(ids, sandbox.signing_key, sandbox.project_id, sandbox.base_url, progress=False)
    assert set(fast.summary["infos"]) == {3}  # the three measured rules, skipped
    assert set(fast.findings.loc[fast.findings["severity"] == "info", "rule"]) == {
        "peak_bitrate",
        "average_bitrate",
        "peak_to_average",
    }
    sandbox.clear_requests()
    measured = audit(
        ids, sandbox.signing_key, sandbox.project_id, sandbox.base_url, progress=False,
        measure=True,
    )  # fmt: skip
    assert set(measured.summary["infos"]) == {0} and set(measured.summary["errors"]) == {0}
    heads = [r for r in sandbox.requests if r.method == "HEAD" and r.path.endswith(".ts")]
    assert len(heads) == 2 * 4 * 3  # videos x renditions x segments, one HEAD each


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_saves_and_resumes(sandbox: Any, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"audit{suffix}"
    cat = sandbox.catalog_video_ids
    args = (sandbox.signing_key, sandbox.project_id, sandbox.base_url)
    # first run: one video fails (its master always answers 503), one id is unknown
    sandbox.faults = Faults(error_rate=1.0, paths=f"^/mmpl/{sandbox.project_id}/{cat[2]}/")
    first = audit([cat[0], cat[2], "NA"], *args, out=out, progress=False)
    assert _status(first) == {cat[0]: "findings", cat[2]: "error", "NA": "not_found"}
    assert out.exists() and (tmp_path / f"audit.findings{suffix}").exists()
    assert not (tmp_path / f"audit{suffix}.parts").exists()

    # second run, faults gone: done ids are skipped, the error is redone, new ids are added
    sandbox.faults = None
    sandbox.clear_requests()
    second = audit([cat[0], cat[2], "NA", cat[1]], *args, out=out, progress=False)
    assert sorted(_masters(sandbox)) == sorted([cat[2], cat[1]])
    assert second.audited == 2
    assert _status(second) == {
        cat[0]: "findings",
        cat[2]: "findings",
        "NA": "not_found",  # a string id that pandas would read as missing, kept as is
        cat[1]: "findings",
    }
    assert set(second.findings["video_id"]) == {cat[0], cat[1], cat[2]}
    # what is on disk is what was returned
    reread = audit([cat[0], cat[2], "NA", cat[1]], *args, out=out, progress=False)
    assert reread.audited == 0
    pd.testing.assert_frame_equal(reread.summary, second.summary)
    assert len(reread.findings) == len(second.findings)

    # resume=False audits everything again and overwrites
    sandbox.clear_requests()
    again = audit([cat[0]], *args, out=out, progress=False, resume=False)
    assert _masters(sandbox) == [cat[0]] and len(again.summary) == 1


def test_an_interrupted_audit_resumes_from_its_saved_batches(
    sandbox_factory: Any, tmp_path: Path
) -> None:
    sb = sandbox_factory(catalog_size=12, faults=Faults(latency=0.05))
    out = tmp_path / "audit.parquet"
    args = (sb.signing_key, sb.project_id, sb.base_url)
    parts = tmp_path / "audit.parquet.parts"

    async def interrupted() -> None:
        task = asyncio.create_task(
            audit_async(sb.catalog_video_ids, *args, out=out, progress=False, concurrency=2,
                        flush_every=1)
        )  # fmt: skip
        while not list(parts.glob("part-*-summary.parquet")) or len(list(parts.glob("*"))) < 6:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    assert not out.exists() and parts.is_dir()
    saved = pd.concat(pd.read_parquet(p) for p in parts.glob("part-*-summary.parquet"))
    done = set(saved["video_id"])
    assert 3 <= len(done) < 12

    sb.clear_requests()
    result = audit(sb.catalog_video_ids, *args, out=out, progress=False)
    assert set(_masters(sb)).isdisjoint(done)
    assert result.audited == 12 - len(done)
    assert result.summary["video_id"].tolist() == sb.catalog_video_ids
    assert set(result.summary["status"]) == {"findings"}
    assert out.exists() and not parts.exists()


def test_audit_works_inside_a_running_event_loop(sandbox: Any) -> None:
    async def in_a_cell() -> AuditResult:  # as in a Jupyter cell, where a loop is running
        return audit(
            sandbox.catalog_video_ids[:1], sandbox.signing_key, sandbox.project_id,
            sandbox.base_url, progress=False,
        )  # fmt: skip

    result = asyncio.run(in_a_cell())
    assert _status(result) == {sandbox.catalog_video_ids[0]: "findings"}


def test_progress_bar_counts_every_video(sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    audit(
        sandbox.catalog_video_ids, sandbox.signing_key, sandbox.project_id, sandbox.base_url,
        progress=True,
    )  # fmt: skip
    err = capsys.readouterr().err
    assert "3/3" in err and "video" in err


def test_bad_arguments(sandbox: Any, tmp_path: Path) -> None:
    args = (sandbox.signing_key, sandbox.project_id, sandbox.base_url)
    with pytest.raises(InvalidArgument, match=r"\.parquet or \.csv"):
        audit(["v"], *args, out=tmp_path / "x.txt", progress=False)
    with pytest.raises(InvalidArgument, match="engine"):
        audit(["v"], *args, engine="spark", progress=False)
    with pytest.raises(InvalidArgument, match=r"distributed\.Client"):
        audit(["v"], *args, engine="dask", progress=False)
    with pytest.raises(InvalidArgument, match="SigningKey"):
        audit(["v"], "key", sandbox.project_id, progress=False)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="not one string"):
        audit("v-demo", *args, progress=False)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="concurrency"):
        audit(["v"], *args, concurrency=0, progress=False)
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidArgument, match="not written by"):
        audit(["v"], *args, out=foreign, progress=False)
    assert set(STATUSES) == {"ok", "findings", "refused", "not_found", "error"}


def test_a_failed_measurement_keeps_the_videos_findings(sandbox: Any) -> None:
    cat = sandbox.catalog_video_ids[:2]
    args = (sandbox.signing_key, sandbox.project_id, sandbox.base_url)
    checked = audit(cat, *args, progress=False, measure=False)
    # every segment answers 503: measuring fails after the retries, the rest still runs
    sandbox.faults = Faults(error_rate=1.0, paths=r"\.ts$")
    result = audit(cat, *args, progress=False, measure=True)
    assert set(result.summary["status"]) == {"findings"}
    assert result.summary["reason"].isna().all()
    assert result.summary["infos"].tolist() == [3, 3]
    pd.testing.assert_frame_equal(
        result.summary[["video_id", "status", "errors", "warnings", "worst_rule"]],
        checked.summary[["video_id", "status", "errors", "warnings", "worst_rule"]],
    )
    notes = result.findings[result.findings["severity"] == "info"]
    assert set(notes["rule"]) == {"peak_bitrate", "average_bitrate", "peak_to_average"}
    assert all("not checked: measuring the segment sizes failed" in m for m in notes["message"])
    assert all("503" in m for m in notes["message"])


def test_partition_tokens_are_redacted() -> None:
    key = generate_signing_key("k-1")
    tokens = PartitionTokens({"v-1": str(key.mint("v-1", 60))})
    shown = repr(tokens) + str(tokens)
    assert tokens.tokens["v-1"] not in shown and "redacted" in shown


def test_dask_token_ttl_is_checked(sandbox: Any) -> None:
    with pytest.raises(InvalidArgument, match="token_ttl"):
        audit_dask(
            None, ["v"], sandbox.signing_key, sandbox.project_id, token_ttl=0, progress=False
        )
    with pytest.raises(InvalidArgument, match="SigningKey"):
        audit_dask(None, ["v"], "key", sandbox.project_id, progress=False)  # type: ignore[arg-type]


class _CaptureGraphs:
    """A Dask scheduler plugin that keeps, pickled, the run spec (function and arguments)
    of every task submitted: exactly what the scheduler ships to the workers."""

    name = "hs-capture-graphs"

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    def update_graph(self, scheduler: Any, *, tasks: Any, **kwargs: Any) -> None:
        from distributed.protocol import pickle as dask_pickle

        for key in tasks:
            self.payloads.append(dask_pickle.dumps(scheduler.tasks[key].run_spec))


def _secret_windows(b64: str) -> list[str]:
    """Every 40-character slice of the private key's base64, 8 apart (so any leaked run of
    48 characters or more contains one), plus the PEM body's."""
    import base64

    pem = base64.b64decode(b64).decode()
    body = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
    return [s[i : i + 40] for s in (b64, body) for i in range(0, len(s) - 40, 8)]


def test_dask_engine_on_a_local_cluster(sandbox: Any) -> None:
    import re

    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    plugin = type("CaptureGraphs", (_CaptureGraphs, SchedulerPlugin), {})()
    cat = sandbox.catalog_video_ids
    ids = [*cat, "v-unknown", sandbox.video_id, "bad/id", ""]
    secret = sandbox.signing_key.private_key_base64()
    windows = _secret_windows(secret)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        client.register_plugin(plugin)
        before = time.time()
        result = audit(
            ids, sandbox.signing_key, sandbox.project_id, sandbox.base_url, engine="dask",
            client=client, progress=False, partition_size=2, token_ttl=900,
        )  # fmt: skip
        # the same per-video code ran on the workers (not here): the workers are other processes
        assert result.engine == "dask" and result.extra["partitions"] == 4
        assert result.summary["video_id"].tolist() == ids
        assert _status(result) == {
            cat[0]: "findings",
            cat[1]: "findings",
            cat[2]: "findings",
            "v-unknown": "not_found",
            sandbox.video_id: "findings",
            "bad/id": "error",
            "": "error",  # no token can be minted for it: never sent to a worker
        }
        reasons = result.summary.set_index("video_id")["reason"]
        assert "InvalidId" in reasons["bad/id"] and "empty" in reasons[""]
        assert set(result.findings["video_id"]) == {*cat, sandbox.video_id}

        # what the workers were sent: tokens, one per video, minted with token_ttl ...
        payloads = cluster.scheduler.plugins[_CaptureGraphs.name].payloads
        assert len(payloads) == 3  # [cat0, cat1], [cat2, v-unknown], [v-demo, bad/id]; not [""]
        sent = b"".join(payloads)
        jwts = set(re.findall(rb"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+", sent))
        claims = [decode_token(t.decode()).claims for t in jwts]
        assert sorted(c["sub"] for c in claims) == sorted(
            [*cat, "v-unknown", sandbox.video_id, "bad/id"]
        )
        assert all(int(before) + 900 <= c["exp"] <= time.time() + 900 for c in claims)
        # ... and no part of the private key, in the task graph or in the worker logs
        text = sent.decode("latin-1")
        assert not [w for w in windows if w in text]
        logs = str(client.get_worker_logs()) + str(client.get_scheduler_logs())
        assert not [w for w in windows if w in logs]
        # nor anywhere in the workers' memory: no SigningKey object was ever rebuilt there
        held = client.run(
            lambda: sum(type(o).__name__ == "SigningKey" for o in __import__("gc").get_objects())
        )
        assert set(held.values()) == {0}
        pids = client.run(lambda: __import__("os").getpid())
        assert len(pids) == 2 and __import__("os").getpid() not in pids.values()
    assert DASK_TOKEN_TTL == 6 * 3600
