"""``hs-notebook qa`` and ``hs-notebook audit`` as a person runs them: real subprocesses
against the sandbox (and, for a ladder the sandbox cannot serve, a stdlib static HTTP server
on loopback), checking exit codes (0 clean, 1 findings or origin failures, 2 usage/input),
output and the saved results."""

from __future__ import annotations

import functools
import http.server
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _loopback import LoopbackServer

from hs_notebook.env import ENV_KEY, ENV_KEY_ID
from hs_notebook.ladder import fetch_ladder_url
from hs_notebook.qa import qa
from hs_notebook.sandbox import Faults

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
    # the same findings as qa() in this process: no errors, the tiny profile's warnings
    expected = qa(fetch_ladder_url(url))
    assert expected.errors == 0 and expected.warnings > 0
    assert done.stdout.splitlines()[1] == expected.summary
    assert "segment_duration" in done.stdout and "heapstream_resolution" not in done.stdout
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_qa_usage_and_input_errors_exit_2(sandbox: Any, key_file: Path) -> None:
    done = run("qa", sandbox.video_id)  # a video id without --project-id
    assert done.returncode == 2 and "--project-id" in done.stderr
    done = run("qa", sandbox.video_id, "--project-id", "1", "--base-url", sandbox.base_url)
    assert done.returncode == 2 and "HEAPSTREAM_SIGNING_KEY" in done.stderr  # no key
    done = run("qa", sandbox.signed_url("master", sandbox.video_id), "--fail-on", "fatal")
    assert done.returncode == 2 and "invalid choice" in done.stderr
    # an id that cannot be put in a URL: an input error, nothing was asked of the origin
    where = ["--project-id", str(sandbox.project_id), "--base-url", sandbox.base_url]
    done = run("qa", "bad/id", *where, *key_args(sandbox, key_file))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _one_line_error(done: Any) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.slow
def test_qa_origin_failures_exit_1(sandbox: Any, key_file: Path) -> None:
    # a token for another video: the origin refuses it (403)
    url = sandbox.signed_url("master", sandbox.video_id).replace(
        f"/{sandbox.video_id}/", f"/{sandbox.catalog_video_ids[0]}/"
    )
    done = run("qa", url)
    assert done.returncode == 1, done.stderr
    line = _one_line_error(done)
    assert ": refused: token rejected: wrong_subject" in line
    assert url.split("token=")[1] not in line
    # the same, as JSON on stdout for CI
    done = run("qa", url, "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["error"]["type"] == "TokenRejected" and report["error"]["status"] == 403
    assert report["error"]["reason"] == "wrong_subject"
    # a video the project does not have (404)
    where = ["--project-id", str(sandbox.project_id), "--base-url", sandbox.base_url]
    done = run("qa", "v-unknown", *where, *key_args(sandbox, key_file), "--no-measure")
    assert done.returncode == 1, done.stderr
    assert _one_line_error(done).startswith("hs-notebook: qa v-unknown: not found: ")
    # an origin that does not answer at all (a closed port), after the retries
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = sandbox.signed_url("master", sandbox.video_id).replace(f":{sandbox.port}/", f":{port}/")
    done = run("qa", dead)
    assert done.returncode == 1, done.stderr
    line = _one_line_error(done)
    assert "origin failed or unreachable" in line and "could not connect" in line


def test_qa_origin_5xx_exits_1(sandbox_factory: Any) -> None:
    sb = sandbox_factory(faults=Faults(error_rate=1.0, paths="^/mmpl/"))
    done = run("qa", sb.signed_url("master", sb.video_id))
    assert done.returncode == 1, done.stderr
    line = _one_line_error(done)
    assert "origin failed or unreachable" in line and "503" in line


def test_qa_failed_measurement_still_checks_the_rest(sandbox_factory: Any) -> None:
    sb = sandbox_factory(faults=Faults(error_rate=1.0, paths=r"\.ts$"))
    done = run("qa", sb.signed_url("master", sb.video_id), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["skipped"]) == {"peak_bitrate", "average_bitrate", "peak_to_average"}
    assert "measuring the segment sizes failed" in report["skipped"]["peak_bitrate"]
    assert "extinf_within_target" in report["passed"]


# A ladder with a 144p rung, below HeapStream's 360p floor, served by a plain static HTTP
# server (the sandbox's own media keeps the rule, so it cannot serve this one).
_LOW_MASTER = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n" + "".join(
    f"#EXT-X-STREAM-INF:BANDWIDTH={bw},AVERAGE-BANDWIDTH={bw * 9 // 10},RESOLUTION={w}x{h},"
    f'CODECS="avc1.64001f,mp4a.40.2",FRAME-RATE=30.000\n{name}.m3u8\n'
    for name, bw, w, h in (
        ("p144", 300_000, 256, 144),
        ("p360", 600_000, 640, 360),
        ("p720", 1_200_000, 1280, 720),
    )
)
_LOW_MEDIA = (
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"
    "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXTINF:6.000,\ns0.ts\n#EXTINF:6.000,\ns1.ts\n#EXTINF:4.000,\ns2.ts\n#EXT-X-ENDLIST\n"
)


@pytest.fixture
def static_ladder(tmp_path: Path) -> Iterator[str]:
    """The URL of _LOW_MASTER on a stdlib HTTP server on loopback."""
    (tmp_path / "master.m3u8").write_text(_LOW_MASTER)
    for name in ("p144", "p360", "p720"):
        (tmp_path / f"{name}.m3u8").write_text(_LOW_MEDIA)
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = LoopbackServer(handler)  # type: ignore[arg-type]
    try:
        yield f"{server.base_url}/master.m3u8"
    finally:
        server.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.slow
def test_qa_error_findings_exit_1_at_the_default_threshold(static_ladder: str) -> None:
    done = run("qa", static_ladder, "--no-measure", "--profile", "heapstream")
    assert done.returncode == 1, done.stderr
    assert "heapstream_resolution" in done.stdout and "256x144 is 144p" in done.stdout
    assert done.stdout.splitlines()[1].startswith("1 error, ")
    # as JSON: the 144p rung is the only error
    done = run("qa", static_ladder, "--no-measure", "--json", "--profile", "heapstream")
    report = json.loads(done.stdout)
    assert [f["rule"] for f in report["findings"] if f["severity"] == "error"] == [
        "heapstream_resolution"
    ]


def test_qa_profile_and_ignore(static_ladder: str) -> None:
    # not a HeapStream origin: the apple profile by default, without HeapStream's limits
    done = run("qa", static_ladder, "--no-measure", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert report["profile"] == "apple"
    assert not [r for r in report["passed"] if r.startswith("heapstream")]
    assert "(apple profile)" in run("qa", static_ladder, "--no-measure").stdout.splitlines()[0]
    # --ignore drops rules (repeatable, comma-separated)
    done = run(
        "qa",
        static_ladder,
        "--no-measure",
        "--json",
        "--profile",
        "heapstream",
        "--ignore",
        "heapstream_resolution,iframe_playlists",
        "--ignore",
        "segment_duration",
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    ran = set(report["passed"]) | {f["rule"] for f in report["findings"]}
    assert ran.isdisjoint({"heapstream_resolution", "iframe_playlists", "segment_duration"})
    assert "heapstream_h264" in report["passed"]
    # an unknown rule id or profile is a usage error, before anything is fetched
    done = run("qa", static_ladder, "--ignore", "no_such_rule")
    assert done.returncode == 2 and "no_such_rule" in done.stderr
    done = run("qa", static_ladder, "--profile", "netflix")
    assert done.returncode == 2 and "netflix" in done.stderr


# ----------------------------------------------------------------------------- audit


@pytest.mark.slow
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


@pytest.mark.slow
def test_audit_reads_ids_from_stdin_to_csv(sandbox: Any, key_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    done = run(
        "audit", "--ids", "-", "--out", str(out), "--project-id", str(sandbox.project_id),
        "--base-url", sandbox.base_url, *key_args(sandbox, key_file),
        stdin=f"{sandbox.video_id}\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(out)["video_id"].tolist() == [sandbox.video_id]


@pytest.mark.slow
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


@pytest.mark.slow
def test_audit_unreachable_or_malformed_scheduler_exits_2(
    sandbox: Any, key_file: Path, tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{sandbox.video_id}\n")
    base = [
        "audit", "--ids", str(ids), "--out", str(tmp_path / "r.parquet"), "--project-id",
        str(sandbox.project_id), "--base-url", sandbox.base_url, *key_args(sandbox, key_file),
        "--engine", "dask",
    ]  # fmt: skip
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = run(*base, "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "2")
    assert done.returncode == 2, done.stderr
    line = _one_line_error(done)
    assert f"cannot connect to the Dask scheduler at tcp://127.0.0.1:{port} within 2 s" in line
    done = run(*base, "--scheduler", "garbage::")
    assert done.returncode == 2, done.stderr
    assert "'garbage::' is not a Dask scheduler address" in _one_line_error(done)
    assert not (tmp_path / "r.parquet").exists()
    done = run(*base[:-2], "--connect-timeout", "2")  # without --scheduler
    assert done.returncode == 2 and "--connect-timeout is for --scheduler" in done.stderr


@pytest.mark.slow
def test_help_documents_the_exit_codes() -> None:
    for command in ("qa", "audit"):
        done = run(command, "--help")
        assert done.returncode == 0
        assert "exit codes:" in done.stdout
        assert "404" in done.stdout and "usage or input error" in done.stdout


@pytest.mark.slow
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
