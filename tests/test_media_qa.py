"""Media-level QA end to end, over the real sandbox on loopback (profile tiny): the media
rules fire on the sandbox video carrying their defect and stay quiet on the clean one;
``qa(depth="media")`` on a ladder whose segments answer 403/404; renditions known by URI
on another origin, with fMP4 init segments behind byte ranges; the CLI's ``--depth media``;
the LadderPanel's "Check media".  The rules' unit cases (segments made to break each one)
are in tests/test_probe.py."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _loopback import RawOrigin

import hs_notebook as hs
from hs_notebook.errors import HeapStreamError, InvalidArgument
from hs_notebook.ladder import fetch_ladder, fetch_ladder_url, ladder_from_text
from hs_notebook.ladder.probing import init_byteranges
from hs_notebook.media_rules import MEDIA_RULES
from hs_notebook.qa import RULES, qa
from hs_notebook.sandbox import Sandbox
from hs_notebook.sandbox.defects import WRONG_CODECS

MEDIA = {rid for rid, rule in RULES.items() if rule.media}

#: Defect -> the media rule that must find it (and its severity).
DEFECT_RULES: dict[str, tuple[str, str]] = {
    "no_idr": ("media_idr_start", "error"),
    "codecs": ("media_codecs_match", "error"),
    "resolution": ("media_resolution_match", "error"),
    "frame_rate": ("media_frame_rate_match", "warning"),
    "misaligned": ("media_boundaries_aligned", "error"),
    "no_timestamp_map": ("media_vtt_timestamp_map", "error"),
    "extinf_drift": ("media_extinf_match", "warning"),
}
#: Media rules with no sandbox defect, and where a real case breaks each.
ELSEWHERE = {
    "media_segment_readable": "test_refused_and_missing_segments_are_findings_per_segment",
    "media_codecs_level_higher": "test_a_declared_level_above_the_stream_is_a_warning",
    "media_ts_pat_pmt": "test_the_clean_ladder_has_no_media_errors (ffmpeg writes an SDT first)",
    "media_keyframe_interval": "tests/test_probe.py (a 4 s GOP)",
    "media_audio_channels": "tests/test_probe.py",
    "media_av_start": "tests/test_probe.py",
    "media_encrypted_skipped": "tests/test_probe.py (EXT-X-KEY on real segments)",
}


#: ffmpeg arguments for a 4 s single-file fMP4 HLS rendition (1 s segments, 1 s GOPs).
_FMP4_ARGS = (
    *("-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=15:d=4"),
    *("-f", "lavfi", "-i", "sine=f=440:d=4", "-c:v", "libx264", "-g", "15"),
    *("-keyint_min", "15", "-sc_threshold", "0", "-c:a", "aac", "-f", "hls"),
    *("-hls_time", "1", "-hls_segment_type", "fmp4", "-hls_flags", "single_file"),
    *("-hls_playlist_type", "vod"),
)


def _quiet() -> dict[str, Any]:
    return {"measure": False, "progress": False}


@pytest.fixture(scope="module")
def defects(hs_cache_dir: Path, tiny_media: Any) -> Iterator[Sandbox]:
    """A tiny sandbox serving every defect a media rule finds (made once per session)."""
    sb = Sandbox("tiny", cache_dir=hs_cache_dir, media_defects=list(DEFECT_RULES))
    sb.start()
    yield sb
    sb.stop()


def _ladder(sb: Sandbox, video_id: str) -> hs.Ladder:
    return fetch_ladder(video_id, sb.signing_key, sb.project_id, sb.base_url)


def _media_rows(report: hs.QAReport) -> pd.DataFrame:
    table = report.table
    return table[table["rule"].isin(MEDIA).to_numpy()]


def test_every_media_rule_is_in_rules_with_a_case() -> None:
    assert {r.id for r in MEDIA_RULES} == MEDIA
    assert {rule for rule, _ in DEFECT_RULES.values()} | set(ELSEWHERE) == MEDIA
    for rid in MEDIA:
        rule = RULES[rid]
        assert rule.source.startswith(("RFC 8216", "Apple HLS")) and rule.checks
        assert "apple" in rule.profiles and "heapstream" in rule.profiles
    # at depth "playlist" the media rules are not run, nor counted
    assert not MEDIA & set(RULES.select("heapstream", depth="playlist"))
    assert set(RULES.select("heapstream", depth="media")) >= MEDIA


@pytest.mark.slow
def test_the_clean_ladder_has_no_media_errors(sandbox: Sandbox) -> None:
    ladder = _ladder(sandbox, sandbox.video_id)
    report = qa(ladder, depth="media", probe="full", **_quiet())
    media = _media_rows(report)
    assert set(media["severity"]) <= {"info"}, media.to_string()
    assert set(media["rule"]) <= {"media_ts_pat_pmt"}  # ffmpeg writes an SDT before the PAT
    ran = set(report.passed) | set(report.table["rule"])
    assert ran >= MEDIA and not MEDIA & set(report.skipped)
    # the probe is kept on the ladder: every segment of every rendition, all probed
    probed = ladder.probed
    assert probed is not None
    table = probed.segment_table()
    assert (table["status"] == "probed").all()
    assert len(table) == sum(len(ladder.segments(k)) for k in ladder.preset_ids)
    over = probed.variant_overview()
    assert over["rendition"].tolist() == ladder.preset_ids
    declared = ladder.renditions.set_index("preset_id")
    for row in over.to_dict("records"):
        want = declared.loc[row["rendition"]]
        assert (row["width"], row["height"]) == (want["width"], want["height"])
        assert row["codecs"] == want["codecs"] and row["processed"] == pytest.approx(100.0)
        assert abs(row["peak_diff"]) < 10 and abs(row["average_diff"]) < 10
    # the subtitles were checked against the media: the sandbox maps cue time 0
    assert len(probed.text_tracks) == len(ladder.text_tracks) > 0
    assert "media_vtt_timestamp_map" in report.passed
    # asked again, the kept probe answers without fetching a segment
    sandbox.clear_requests()
    again = qa(ladder, depth="media", **_quiet())
    assert again.table.equals(report.table)
    assert not [r for r in sandbox.requests if "/seg-" in r.path]


@pytest.mark.slow
@pytest.mark.parametrize("defect", list(DEFECT_RULES))
def test_each_media_rule_fires_on_its_defect(defects: Sandbox, defect: str) -> None:
    rule, severity = DEFECT_RULES[defect]
    ladder = _ladder(defects, defects.defect_video_ids[defect])
    report = qa(ladder, depth="media", **_quiet())
    media = _media_rows(report)
    loud = media[media["severity"] != "info"]
    assert set(loud["rule"]) == {rule}, media.to_string()
    hits = report.by_rule(rule)
    assert set(hits["severity"]) == {severity}
    assert rule not in report.passed
    for row in hits.to_dict("records"):
        name, _, index = row["subject"].rpartition(":")
        assert index.isdigit() and name  # the rendition (or text track) and the segment
        assert row["measured"] and row["expected"] and row["measured"] != row["expected"]
    if defect == "no_timestamp_map":
        assert set(hits["subject"]) == {f"{t}:0" for t in ladder.text_tracks["text_track_id"]}
        assert (hits["measured"] == "no X-TIMESTAMP-MAP").all()
        assert hits["expected"].str.startswith("MPEGTS:").all()
    elif defect == "extinf_drift":
        assert len(hits) == len(ladder.preset_ids)  # every rendition drifts
    else:  # one rendition carries the defect: the second highest
        target = ladder.preset_ids[max(0, len(ladder.preset_ids) - 2)]
        assert [s.rpartition(":")[0] for s in hits["subject"]] == [target]
    if defect == "codecs":
        assert hits["expected"].tolist() == [WRONG_CODECS]
        assert hits["measured"].str.startswith("avc1.64").all()
    if defect == "frame_rate":
        assert report.errors == 0 and report.fails("warning")


@pytest.mark.slow
def test_defect_target_is_what_the_tests_assume(defects: Sandbox) -> None:
    # the target rung is defined by the sandbox; the assertions above find it by position
    ladder = _ladder(defects, defects.defect_video_ids["codecs"])
    rows = ladder.renditions[ladder.renditions["codecs"].str.startswith(WRONG_CODECS)]
    assert rows["preset_id"].tolist() == [ladder.preset_ids[-2]]


@pytest.mark.slow
def test_a_declared_level_above_the_stream_is_a_warning(sandbox: Sandbox) -> None:
    ladder = _ladder(sandbox, sandbox.video_id)
    table = ladder.renditions.copy()
    stream = str(table.loc[0, "codecs"])  # avc1.64LLxx,mp4a.40.2
    video, audio = stream.split(",")
    table.loc[0, "codecs"] = f"{video[:9]}33,{audio}"  # level 5.1 declared
    ladder.renditions = table
    report = qa(ladder, depth="media", rules=sorted(MEDIA), **_quiet())
    hits = report.by_rule("media_codecs_level_higher")
    assert hits[["subject", "severity"]].values.tolist() == [
        [f"{ladder.preset_ids[0]}:0", "warning"]
    ]
    assert hits["expected"].tolist() == [f"{video[:9]}33"]
    assert hits["measured"].tolist() == [video]
    assert report.by_rule("media_codecs_match").empty


# ------------------------------------------------------------------ 403 / 404, by URI


def _serve(files: dict[str, tuple[str, bytes]]) -> Any:
    """A RawOrigin handler serving ``files`` ({path: (content type, body)}), honouring a
    single ``Range: bytes=a-b`` as a 206."""

    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        if path not in files:
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        kind, body = files[path]
        wanted = h.headers.get("Range", "")
        status = 200
        if wanted.startswith("bytes="):
            first, _, last = wanted[6:].partition("-")
            body = body[int(first) : int(last) + 1]
            status = 206
        h.send_response(status)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    return answer


def _master(variants: list[tuple[str, dict[str, Any]]]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for uri, row in variants:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={row['bandwidth']},"
            f'AVERAGE-BANDWIDTH={row["average_bandwidth"]},CODECS="{row["codecs"]}",'
            f"RESOLUTION={row['width']}x{row['height']},FRAME-RATE={row['frame_rate']:.3f}"
        )
        lines.append(uri)
    return "\n".join(lines) + "\n"


def _media(uris: list[str], durations: list[float], target: int) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{target}"]
    lines.append("#EXT-X-PLAYLIST-TYPE:VOD")
    for uri, d in zip(uris, durations, strict=True):
        lines += [f"#EXTINF:{d:.6f},", uri]
    return "\n".join(lines) + "\n#EXT-X-ENDLIST\n"


@pytest.mark.slow
def test_refused_and_missing_segments_are_findings_per_segment(sandbox: Sandbox) -> None:
    """Another origin (no HeapStream paths: renditions known by URI) whose media playlists
    list the sandbox's real segments, one of them missing (404) and one with a refused
    token (403)."""
    source = _ladder(sandbox, sandbox.video_id)
    rows = source.renditions.to_dict("records")[:2]
    files: dict[str, tuple[str, bytes]] = {}
    variants = []
    for i, row in enumerate(rows):
        segs = source.segments(row["preset_id"])
        uris = segs["uri"].tolist()
        if i == 1:
            uris[1] = uris[1].replace("seg-00001", "seg-09999")  # 404
            uris[2] = uris[2].split("?")[0] + "?token=not.a.token"  # 403
        text = _media(uris, segs["duration"].tolist(), int(segs.attrs["target_duration"]))
        files[f"/r{i}/media.m3u8"] = ("application/vnd.apple.mpegurl", text.encode())
        variants.append((f"r{i}/media.m3u8", row))
    files["/master.m3u8"] = ("application/vnd.apple.mpegurl", _master(variants).encode())
    with RawOrigin(_serve(files)) as origin:
        ladder = fetch_ladder_url(f"{origin.base_url}/master.m3u8")
        keys = ladder.preset_ids
        assert keys == [f"{origin.base_url}/r{i}/media.m3u8" for i in range(2)]  # by URI
        report = qa(ladder, depth="media", probe="full", **_quiet())
    assert report.profile == "apple"
    readable = report.by_rule("media_segment_readable")
    assert readable[["subject", "measured", "severity"]].values.tolist() == [
        [f"{keys[1]}:1", "HTTP 404", "error"],
        [f"{keys[1]}:2", "HTTP 403", "error"],
    ]
    assert "not.a.token" not in report.to_json()
    assert all(t not in report.to_json() for t in [str(source.token)])
    probed = ladder.probed
    assert probed is not None
    over = probed.variant_overview()
    assert over["rendition"].tolist() == keys  # no rendition lost
    assert over["failed"].tolist() == [0, 2] and over["probed"].tolist()[1] == 1
    table = probed.segment_table()
    failed = table[table["status"] == "failed"]
    assert failed[["index", "http_status"]].values.tolist() == [[1, 404], [2, 403]]
    # the rest was checked: the probed segments pass the other media rules
    assert "media_codecs_match" in report.passed and "media_idr_start" in report.passed


def test_init_segment_byte_ranges_are_read_from_the_playlist() -> None:
    text = (
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n"
        '#EXT-X-MAP:URI="main.mp4",BYTERANGE="720@0"\n'
        "#EXT-X-BYTERANGE:1000@720\n#EXTINF:2.0,\nmain.mp4\n"
        '#EXT-X-MAP:URI="other.mp4"\n'
        "#EXTINF:2.0,\nseg.m4s\n#EXT-X-ENDLIST\n"
    )
    assert init_byteranges(text) == [(0, 720), None]
    assert init_byteranges(text.replace('"720@0"', '"64"')) == [(0, 64), None]


@pytest.mark.slow
def test_fmp4_behind_byte_ranges_on_another_origin_with_tokens(tmp_path: Path) -> None:
    """A single-file fMP4 rendition (EXT-X-MAP and segments as byte ranges of one file),
    made by ffmpeg, on an origin that signs its URLs: the init segment is fetched with the
    token and its byte range, and every segment probes."""
    import imageio_ffmpeg

    out = tmp_path / "fmp4"
    out.mkdir()
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    done = subprocess.run(
        [ffmpeg, *_FMP4_ARGS, str(out / "v.m3u8")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    media_text = (out / "v.m3u8").read_text()
    assert "BYTERANGE=" in media_text and "#EXT-X-MAP" in media_text
    body = next(p for p in out.iterdir() if p.suffix in (".mp4", ".m4s")).read_bytes()
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()

    def answer(h: http.server.BaseHTTPRequestHandler) -> None:
        path, _, query = h.path.partition("?")
        with lock:
            seen.append((path, h.headers.get("Range", "")))
        if "token=tok" not in query:
            h.send_response(403)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        files = {
            "/master.m3u8": ("application/vnd.apple.mpegurl", master.encode()),
            "/v.m3u8": ("application/vnd.apple.mpegurl", media_text.encode()),
            f"/{name}": ("video/mp4", body),
        }
        _serve(files)(h)

    name = next(p.name for p in out.iterdir() if p.suffix in (".mp4", ".m4s"))
    master = (
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.64000d,mp4a.40.2",'
        "RESOLUTION=320x180,FRAME-RATE=15.000\nv.m3u8\n"
    )
    with RawOrigin(answer) as origin:
        ladder = fetch_ladder_url(f"{origin.base_url}/master.m3u8?token=tok")
        segs = ladder.segments(ladder.preset_ids[0])
        assert segs["init_uri"].str.contains("token=tok").all()  # the token reaches EXT-X-MAP
        media = ladder.probe("full", progress=False)
    table = media.segment_table()
    assert (table["status"] == "probed").all(), table[["status", "error"]].to_string()
    assert set(table["container"]) == {"mp4"} and set(table["width"]) == {320}
    init_range = init_byteranges(media_text)[0]
    assert init_range is not None
    offset, length = init_range
    init_asks = [r for p, r in seen if p == f"/{name}" and r == f"bytes={offset}-{length - 1}"]
    assert len(init_asks) == 1  # fetched once, with its byte range
    assert all(r for p, r in seen if p == f"/{name}")  # never the whole file


# ------------------------------------------------------------------ arguments


def test_depth_arguments_are_checked(sandbox: Sandbox) -> None:
    offline = ladder_from_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n")
    with pytest.raises(InvalidArgument, match="depth"):
        qa(offline, depth="deep")
    with pytest.raises(InvalidArgument, match="probe"):
        qa(offline, depth="media", probe="some")
    with pytest.raises(InvalidArgument, match="progress"):
        qa(offline, depth="media", progress="yes")  # type: ignore[arg-type]
    # a ladder from text has no origin: the media rules are skipped and say why
    report = qa(offline, depth="media", measure=False)
    assert set(report.skipped) >= MEDIA
    assert all("ladder_from_text" in report.skipped[r] for r in MEDIA)
    # named at depth "playlist", a media rule is reported as not checked
    named = qa(offline, rules=["media_idr_start"], measure=False)
    assert "depth=" in named.skipped["media_idr_start"]
    with pytest.raises(HeapStreamError, match="built from text"):
        offline.probe()
    ladder = _ladder(sandbox, sandbox.video_id)
    with pytest.raises(InvalidArgument, match="depth"):
        ladder.probe("most")
    with pytest.raises(InvalidArgument, match="concurrency"):
        ladder.probe(concurrency=0)


# ------------------------------------------------------------------ CLI


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPSTREAM_")}
    return subprocess.run(
        [sys.executable, "-m", "hs_notebook.cli", "qa", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


def _signed_master(sb: Sandbox, video_id: str) -> str:
    return hs.HeapStream(sb.project_id, sb.base_url).master_playlist_url(
        video_id, sb.signing_key.mint(video_id, 600)
    )


@pytest.mark.slow
def test_cli_depth_media_exit_codes(sandbox: Sandbox, defects: Sandbox) -> None:
    clean = _cli(_signed_master(sandbox, sandbox.video_id), "--depth", "media", "--json")
    assert clean.returncode == 0, clean.stderr
    data = json.loads(clean.stdout)
    assert sorted(v["rendition"] for v in data["variants"]) == sorted(
        sandbox.videos[sandbox.video_id].presets.values()
    )
    assert not [f for f in data["findings"] if f["rule"] in MEDIA and f["severity"] == "error"]
    assert set(data["passed"]) | {f["rule"] for f in data["findings"]} >= MEDIA

    broken = _signed_master(defects, defects.defect_video_ids["codecs"])
    found = _cli(broken, "--depth", "media")
    assert found.returncode == 1, found.stderr
    assert "media_codecs_match" in found.stdout and "peak_bitrate" in found.stdout
    assert broken.split("token=")[1] not in found.stdout + found.stderr
    # the same ladder at the playlist depth does not look inside: no failure
    assert _cli(broken, "--no-measure").returncode == 0

    rate = _signed_master(defects, defects.defect_video_ids["frame_rate"])
    assert _cli(rate, "--depth", "media", "--no-measure").returncode == 0  # a warning
    assert _cli(rate, "--depth", "media", "--no-measure", "--fail-on", "warning").returncode == 1
    assert _cli(rate, "--depth", "deep").returncode == 2


# ------------------------------------------------------------------ LadderPanel


@pytest.mark.slow
def test_ladder_panel_check_media_fills_its_outputs(sandbox: Sandbox) -> None:
    from hs_notebook.widgets import LadderPanel, TokenPanel

    info = sandbox.videos[sandbox.video_id]
    panel = TokenPanel(
        key=sandbox.signing_key,
        video_id=sandbox.video_id,
        project_id=sandbox.project_id,
        base_url=sandbox.base_url,
        preset_ids=list(info.presets.values()),
        use_env=False,
    )
    ladder_panel = LadderPanel(panel, measure_sizes=False)
    try:
        assert ladder_panel.media_button.disabled  # no ladder yet
        panel.mint()
        ladder_panel.fetch()
        assert not ladder_panel.media_button.disabled
        ticks: list[tuple[int, int]] = []
        ladder_panel.media_progress.observe(
            lambda c: ticks.append((c["new"], ladder_panel.media_progress.max)), names="value"
        )
        ladder_panel.media_button.click()  # runs in a background thread
        thread = ladder_panel.media_thread
        assert thread is not None and thread is not threading.current_thread()
        thread.join(timeout=120)
        assert not thread.is_alive()
        report = ladder_panel.media_report
        assert report is not None and set(report.passed) | set(report.table["rule"]) <= MEDIA
        assert report.errors == 0
        for preset in info.presets.values():
            assert preset in ladder_panel.variants_html.value
        assert "peak_diff" in ladder_panel.variants_html.value
        assert "rules passed" in ladder_panel.media_findings_html.value
        assert ladder_panel.media_status.value.startswith("12 of 12 segments probed")
        assert ladder_panel.media_progress.value == ladder_panel.media_progress.max == 12
        assert (12, 12) in ticks and len(ticks) >= 3  # it moved while probing
        assert not ladder_panel.media_button.disabled
        assert "token=" not in ladder_panel.variants_html.value
    finally:
        ladder_panel.close()
        panel.close()
