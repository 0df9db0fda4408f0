"""``hs-notebook qa`` and ``hs-notebook audit`` as a person runs them: real subprocesses
against the sandbox, checking exit codes (0 clean, 1 findings/failures, 2 usage), output
and the saved results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hs_notebook.tokens import ENV_KEY, ENV_KEY_ID

# The same main() as the `hs-notebook` console script.
ENTRY = ["-m", "hs_notebook.cli"]


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Any:
    clean = {k: v for k, v in os.environ.items() if k not in (ENV_KEY, ENV_KEY_ID)}
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, *ENTRY, *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=clean,
        timeout=120,
    )


@pytest.fixture(scope="module")
def key_file(sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sandbox's signing key as a PEM file (generated at test time, never committed)."""
    path = tmp_path_factory.mktemp("key") / "key.pem"
    path.write_text(sandbox.signing_key.private_key_pem())
    path.chmod(0o600)
    return path


def key_args(sandbox: Any, key_file: Path) -> list[str]:
    return ["--key-id", sandbox.signing_key.key_id, "--key-file", str(key_file)]


# ----------------------------------------------------------------------------- qa


def test_qa_master_url_needs_no_key_and_exits_0_on_warnings(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    done = run("qa", url)
    assert done.returncode == 0, done.stderr
    assert "0 errors, 8 warnings" in done.stdout
    assert "heapstream_resolution" in done.stdout and "v-demo-144p" in done.stdout
    token = url.split("token=")[1]
    assert token not in done.stdout + done.stderr  # the URL is shown redacted


def test_qa_fail_on_warning_exits_1(sandbox: Any) -> None:
    done = run("qa", sandbox.signed_url("master", sandbox.video_id), "--fail-on", "warning")
    assert done.returncode == 1
    assert "segment_duration" in done.stdout


def test_qa_json_and_no_measure(sandbox: Any) -> None:
    url = sandbox.signed_url("master", sandbox.video_id)
    measured = json.loads(run("qa", url, "--json").stdout)
    assert measured["counts"]["error"] == 0
    assert "peak_bitrate" in measured["passed"] and measured["skipped"] == {}
    fast = json.loads(run("qa", url, "--json", "--no-measure").stdout)
    assert set(fast["skipped"]) == {"peak_bitrate", "average_bitrate", "peak_to_average"}
    assert "measure=False" in fast["skipped"]["peak_bitrate"]
    assert "token=" not in fast["target"] or "token=…" in fast["target"]


def test_qa_video_id_with_key_file_and_with_env(sandbox: Any, key_file: Path) -> None:
    where = ["--project-id", str(sandbox.project_id), "--base-url", sandbox.base_url]
    done = run("qa", sandbox.video_id, *where, *key_args(sandbox, key_file), "--no-measure")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{sandbox.video_id}: 4 renditions")
    env = {
        ENV_KEY_ID: sandbox.signing_key.key_id,
        ENV_KEY: sandbox.signing_key.private_key_base64(),
    }
    done = run("qa", sandbox.video_id, *where, "--no-measure", env=env)
    assert done.returncode == 0, done.stderr
    assert env[ENV_KEY][:40] not in done.stdout + done.stderr


def test_qa_usage_and_input_errors_exit_2(sandbox: Any, key_file: Path) -> None:
    done = run("qa", sandbox.video_id)  # a video id without --project-id
    assert done.returncode == 2 and "--project-id" in done.stderr
    done = run("qa", sandbox.video_id, "--project-id", "1", "--base-url", sandbox.base_url)
    assert done.returncode == 2 and "HEAPSTREAM_SIGNING_KEY" in done.stderr  # no key
    done = run("qa", sandbox.signed_url("master", sandbox.video_id), "--fail-on", "fatal")
    assert done.returncode == 2 and "invalid choice" in done.stderr
    # a token for another video: the origin refuses it; one line, no traceback
    url = sandbox.signed_url("master", sandbox.video_id).replace(
        f"/{sandbox.video_id}/", f"/{sandbox.catalog_video_ids[0]}/"
    )
    done = run("qa", url)
    assert done.returncode == 2
    assert "token rejected: wrong_subject" in done.stderr and "Traceback" not in done.stderr


# ----------------------------------------------------------------------------- audit


def test_audit_saves_results_and_exit_codes(sandbox: Any, key_file: Path, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("# catalog\n" + "\n".join(sandbox.catalog_video_ids) + "\n\n")
    out = tmp_path / "results.parquet"
    common = [
        "audit", "--ids", str(ids), "--out", str(out), "--project-id", str(sandbox.project_id),
        "--base-url", sandbox.base_url, *key_args(sandbox, key_file), "--concurrency", "4",
    ]  # fmt: skip
    done = run(*common)
    assert done.returncode == 0, done.stderr
    assert "3 videos: 3 findings" in done.stdout
    summary = pd.read_parquet(out)
    assert sorted(summary["video_id"]) == sorted(sandbox.catalog_video_ids)
    assert set(summary["status"]) == {"findings"}
    assert (tmp_path / "results.findings.parquet").exists()

    done = run(*common, "--fail-on", "warning")
    assert done.returncode == 1 and "findings  v-cat-" in done.stdout

    # an unknown id makes the audit fail at the default threshold; JSON lists every video
    ids.write_text("\n".join([*sandbox.catalog_video_ids, "v-unknown"]) + "\n")
    done = run(*common, "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["counts"]["not_found"] == 1 and len(report["videos"]) == 4
    statuses = {v["video_id"]: v["status"] for v in report["videos"]}
    assert statuses["v-unknown"] == "not_found"


def test_audit_reads_ids_from_stdin_to_csv(sandbox: Any, key_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    done = run(
        "audit", "--ids", "-", "--out", str(out), "--project-id", str(sandbox.project_id),
        "--base-url", sandbox.base_url, *key_args(sandbox, key_file),
        stdin=f"{sandbox.video_id}\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(out)["video_id"].tolist() == [sandbox.video_id]


def test_audit_usage_errors_exit_2(sandbox: Any, key_file: Path, tmp_path: Path) -> None:
    base = ["--project-id", "1", "--base-url", sandbox.base_url, *key_args(sandbox, key_file)]
    done = run("audit", "--ids", str(tmp_path / "missing.txt"), "--out", "r.parquet", *base)
    assert done.returncode == 2 and "cannot read --ids" in done.stderr
    ids = tmp_path / "ids.txt"
    ids.write_text("v-demo\n")
    done = run("audit", "--ids", str(ids), "--out", str(tmp_path / "r.json"), *base)
    assert done.returncode == 2 and ".parquet or .csv" in done.stderr
    done = run("audit", "--ids", str(ids), *base)  # no --out
    assert done.returncode == 2 and "--out" in done.stderr
    done = run("audit", "--ids", str(ids), "--out", str(tmp_path / "r.csv"), *base,
               "--scheduler", "tcp://127.0.0.1:1")  # fmt: skip
    assert done.returncode == 2 and "--engine dask" in done.stderr


def test_audit_on_a_dask_scheduler(sandbox: Any, key_file: Path, tmp_path: Path) -> None:
    from distributed import LocalCluster

    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(sandbox.catalog_video_ids) + "\n")
    out = tmp_path / "results.parquet"
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        done = run(
            "audit", "--ids", str(ids), "--out", str(out), "--project-id",
            str(sandbox.project_id), "--base-url", sandbox.base_url,
            *key_args(sandbox, key_file), "--engine", "dask", "--scheduler",
            cluster.scheduler_address,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert set(pd.read_parquet(out)["status"]) == {"findings"}
