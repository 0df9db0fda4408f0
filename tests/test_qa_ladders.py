"""Ladder QA on the shapes of real third-party masters, built from the spec rules (issue 11):
like is compared with like (audio groups sharing video URIs, content-steering pathways,
SDR and PQ rungs, audio-only variants), rule profiles, the RFC 8216bis peak bit rate, and
the parsing gaps (abbreviated LL-HLS rendition reports, non-integer BANDWIDTH, text before
#EXTM3U).  Each test asserts the findings that must appear and those that must not."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hs_notebook import hls
from hs_notebook.errors import InvalidArgument, PlaylistError
from hs_notebook.ladder import ladder_from_text
from hs_notebook.qa import RULES, QAReport, qa
from hs_notebook.qa.rules import PROFILES

ORIGIN = "https://cdn.example.org/show/"

# (video URI, resolution, video bits/s): a good ladder, steps 1.6x-2x
VIDEO = [
    ("v360/prog.m3u8", "640x360", 800_000),
    ("v540/prog.m3u8", "960x540", 1_500_000),
    ("v720/prog.m3u8", "1280x720", 2_600_000),
    ("v1080/prog.m3u8", "1920x1080", 5_000_000),
]
# (AUDIO group id, CODECS audio entry, audio bits/s), as Apple's advanced examples list them
AUDIO = [("aac", "mp4a.40.2", 128_000), ("ac3", "ac-3", 384_000), ("ec3", "ec-3", 192_000)]


def stream_inf(bandwidth: int, resolution: str | None, codecs: str | None, **attrs: str) -> str:
    parts = [f"BANDWIDTH={bandwidth}", f"AVERAGE-BANDWIDTH={bandwidth * 9 // 10}"]
    if resolution:
        parts.append(f"RESOLUTION={resolution}")
    if codecs:
        parts.append(f'CODECS="{codecs}"')
    parts.append("FRAME-RATE=30.000")
    parts += [f'{k.replace("_", "-").upper()}="{v}"' for k, v in attrs.items()]
    return "#EXT-X-STREAM-INF:" + ",".join(parts)


def master_text(lines: list[str]) -> str:
    head = "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n"
    return head + "\n".join(lines) + "\n"


def audio_groups_master(video: list[tuple[str, str, int]] = VIDEO) -> str:
    """Every video URI listed once per audio group (3 x 4 variants), grouped by audio."""
    lines = [
        f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{g}",NAME="{g}",LANGUAGE="en",DEFAULT=YES,'
        f'AUTOSELECT=YES,URI="a/{g}/prog.m3u8"'
        for g, _, _ in AUDIO
    ]
    for group, acodec, abw in AUDIO:
        for uri, res, vbw in video:
            lines += [stream_inf(vbw + abw, res, f"avc1.640028,{acodec}", audio=group), uri]
    return master_text(lines)


def run(text: str, **kw: object) -> QAReport:
    return qa(ladder_from_text(text, {}, ORIGIN + "master.m3u8"), measure=False, **kw)  # type: ignore[arg-type]


def rules_found(report: QAReport) -> set[str]:
    return set(report.table["rule"]) - set(report.skipped) - {"media_available"}


# ------------------------------------------------------------------- like with like


def test_twins_in_three_audio_groups_are_not_compared_with_each_other() -> None:
    report = run(audio_groups_master())
    # before: v360+aac vs v360+ec3 (1.07x), ... dozens of "too close" warnings
    assert report.by_rule("bitrate_step").empty
    assert report.by_rule("resolution_rises").empty
    assert report.by_rule("aspect_ratio").empty
    assert "bitrate_step" in report.passed and "resolution_rises" in report.passed


def test_a_real_step_problem_shows_once_not_once_per_audio_group() -> None:
    video = [*VIDEO[:2], ("v600/prog.m3u8", "1024x576", 1_650_000), *VIDEO[2:]]
    report = run(audio_groups_master(video))
    steps = report.by_rule("bitrate_step")
    # v540 -> v576 is too close in every audio group: one finding for the pair of videos
    assert len(steps) == 1
    assert "v600/prog.m3u8" in steps["subject"].iloc[0]
    assert "v540/prog.m3u8" in steps["message"].iloc[0]


def test_a_smaller_picture_at_a_higher_rate_shows_once() -> None:
    video = [VIDEO[0], ("v540/prog.m3u8", "512x288", 1_500_000), *VIDEO[2:]]
    report = run(audio_groups_master(video))
    rises = report.by_rule("resolution_rises")
    assert len(rises) == 1 and "v540/prog.m3u8" in rises["subject"].iloc[0]
    assert "aspect_ratio" in report.passed  # 512x288 is still 16:9


def test_two_pathways_are_two_ladders() -> None:
    lines = []
    for pathway in ("CDN-A", "CDN-B"):
        for uri, res, vbw in VIDEO:
            lines += [
                stream_inf(vbw, res, "avc1.640028,mp4a.40.2", pathway_id=pathway),
                f"https://{pathway.lower()}.example.net/{uri}",
            ]
    report = run(master_text(lines))
    # before: each CDN-A rung sat next to its CDN-B copy (1.0x apart)
    assert report.by_rule("bitrate_step").empty and "bitrate_step" in report.passed
    table = ladder_from_text(master_text(lines), {}).renditions
    assert table["pathway_id"].tolist() == ["CDN-A"] * 4 + ["CDN-B"] * 4
    # a gap in both copies of the ladder is a finding in each
    gappy = [line for line in lines if "v540" not in line]
    gappy = [
        line
        for i, line in enumerate(gappy)
        if not (line.startswith("#EXT-X-STREAM-INF") and "960x540" in line)
    ]
    steps = run(master_text(gappy)).by_rule("bitrate_step")
    assert len(steps) == 2
    assert {s.split("/")[2] for s in steps["subject"]} == {"cdn-a.example.net", "cdn-b.example.net"}


def test_sdr_and_pq_rungs_are_separate_ladders() -> None:
    lines = []
    for uri, res, vbw in VIDEO:
        lines += [stream_inf(vbw, res, "hvc1.2.4.L123.B0", video_range="SDR"), f"sdr/{uri}"]
    for uri, res, vbw in VIDEO[2:]:  # HDR10 720p and 1080p, 20 % above their SDR twins
        bw = vbw * 6 // 5
        lines += [stream_inf(bw, res, "hvc1.2.4.L123.B0", video_range="PQ"), f"pq/{uri}"]
    text = master_text(lines).replace('VIDEO-RANGE="SDR"', "VIDEO-RANGE=SDR")
    text = text.replace('VIDEO-RANGE="PQ"', "VIDEO-RANGE=PQ")
    report = run(text)
    # before: PQ 720p (3.12 Mbit/s) came "1.04x" after SDR 1080p... and so on
    assert report.by_rule("bitrate_step").empty, report.table.to_string()
    assert report.by_rule("resolution_rises").empty
    # a PQ ladder with a gap of its own is still judged, within PQ
    text = text.replace("pq/v720", "pq/v360").replace(
        f"BANDWIDTH={2_600_000 * 6 // 5}", "BANDWIDTH=900000"
    )
    steps = run(text).by_rule("bitrate_step")
    assert len(steps) == 1 and "pq/v1080" in steps["subject"].iloc[0]
    assert "too far above" in steps["message"].iloc[0]


def test_audio_only_variants_are_not_video_rungs() -> None:
    lines = []
    for uri, res, vbw in VIDEO:
        lines += [stream_inf(vbw, res, "avc1.640028,mp4a.40.2"), uri]
    lines += [stream_inf(64_000, None, "mp4a.40.5"), "audio/aac-lc.m3u8"]  # CODECS: audio only
    lines += [stream_inf(48_000, None, None), "audio/fallback.m3u8"]  # neither
    report = run(master_text(lines))
    # before: 64 kbit/s -> 800 kbit/s "too far above", and RESOLUTION missing on both
    assert report.by_rule("bitrate_step").empty
    assert report.by_rule("resolution_present").empty
    assert report.by_rule("frame_rate_present").empty
    # the one without CODECS still needs CODECS (every variant does)
    codecs = report.by_rule("codecs_present")
    assert codecs["subject"].tolist() == [ORIGIN + "audio/fallback.m3u8"]


def test_a_resolution_without_codecs_is_still_a_video_rung() -> None:
    lines = []
    for uri, res, vbw in VIDEO:
        lines += [stream_inf(vbw, res, "avc1.640028,mp4a.40.2"), uri]
    lines += [stream_inf(5_200_000, "1920x1080", None), "v1080b/prog.m3u8"]
    report = run(master_text(lines))
    steps = report.by_rule("bitrate_step")
    assert len(steps) == 1 and "v1080b/prog.m3u8" in steps["subject"].iloc[0]
    assert len(report.by_rule("codecs_present")) == 1


def test_a_failed_ratio_reads_on_its_side_of_the_limit() -> None:
    lines = []
    for uri, res, vbw in VIDEO[:2]:
        lines += [stream_inf(vbw, res, "avc1.640028"), uri]
    lines += [stream_inf(1_944_900, "1280x720", "avc1.640028"), "v720/prog.m3u8"]  # 1.2966x
    step = run(master_text(lines)).by_rule("bitrate_step")
    assert len(step) == 1
    message, measured = step["message"].iloc[0], step["measured"].iloc[0]
    assert "1.30x" not in message and float(measured) < 1.3
    assert f"is {measured}x that of" in message and "step by 1.3x to 2.5x" in message


# ------------------------------------------------------------------------- profiles

HS_MASTER = master_text(
    [
        stream_inf(800_000, "640x360", "hvc1.1.6.L93.B0"),  # not H.264: a HeapStream error
        "https://app.heapstream.com/mpl/12/p360/",
        stream_inf(1_500_000, "960x540", "hvc1.1.6.L93.B0"),
        "https://app.heapstream.com/mpl/12/p540/",
    ]
)


def test_default_profile_follows_the_origin() -> None:
    hs_ladder = qa(ladder_from_text(HS_MASTER, {}), measure=False)
    assert hs_ladder.profile == "heapstream" and "heapstream_h264" in rules_found(hs_ladder)
    # the same ladder elsewhere: Apple's rules, no HeapStream limits
    other = HS_MASTER.replace("https://app.heapstream.com/mpl/12/", "https://cdn.example.org/")
    apple = qa(ladder_from_text(other, {}), measure=False)
    assert apple.profile == "apple"
    assert not {r for r in apple.passed + list(apple.table["rule"]) if r.startswith("heapstream")}
    assert "iframe_playlists" in rules_found(apple)  # an Apple rule still runs
    # a HeapStream master URL (or the sandbox's) picks heapstream too
    signed = ladder_from_text(other, {}, "http://127.0.0.1:8765/mmpl/12/vid/?token=abc")
    assert qa(signed, measure=False).profile == "heapstream"


def test_profiles_rules_and_ignore() -> None:
    ladder = ladder_from_text(HS_MASTER, {})
    rfc = qa(ladder, profile="rfc8216", measure=False)
    assert rfc.profile == "rfc8216"
    ran = set(rfc.passed) | set(rfc.table["rule"])
    assert ran == set(RULES.in_profile("rfc8216", depth="playlist"))
    assert {"codecs_present", "iframe_playlists", "heapstream_h264"}.isdisjoint(ran)
    assert "target_duration_present" in RULES.in_profile("rfc8216")
    assert set(RULES.in_profile("heapstream")) == set(RULES)  # today's full set
    # each depth runs the rules of the shallower ones too: quality implies media
    media = {rid for rid, rule in RULES.items() if rule.media}
    quality = {rid for rid, rule in RULES.items() if rule.quality}
    assert media and quality
    assert set(RULES.in_profile("heapstream", "playlist")) == set(RULES) - media - quality
    assert set(RULES.in_profile("heapstream", "media")) == set(RULES) - quality
    assert set(RULES.in_profile("heapstream", "quality")) == set(RULES)
    with pytest.raises(InvalidArgument, match="depth"):
        RULES.in_profile("heapstream", "pixels")
    only = qa(ladder, rules=["heapstream_h264", "codecs_present"], measure=False)
    assert set(only.passed) | set(only.table["rule"]) == {"heapstream_h264", "codecs_present"}
    ignored = qa(ladder, ignore="heapstream_h264,iframe_playlists", measure=False)
    assert {"heapstream_h264", "iframe_playlists"}.isdisjoint(
        set(ignored.passed) | set(ignored.table["rule"])
    )
    assert "bitrate_step" in ignored.passed
    # no measured rule selected: nothing is measured, nothing is skipped
    assert qa(ladder, rules=["codecs_present"]).skipped == {}


def test_unknown_profile_or_rule_ids_are_our_errors() -> None:
    ladder = ladder_from_text(HS_MASTER, {})
    with pytest.raises(InvalidArgument, match="'netflix'") as info:
        qa(ladder, profile="netflix", measure=False)
    assert all(p in str(info.value) for p in PROFILES)
    with pytest.raises(InvalidArgument, match="'bitrate_steps'"):
        qa(ladder, rules=["bitrate_steps"], measure=False)
    with pytest.raises(InvalidArgument, match="'nope'"):
        qa(ladder, ignore=["codecs_present", "nope"], measure=False)
    with pytest.raises(InvalidArgument, match="ignore"):
        qa(ladder, ignore=[3], measure=False)  # type: ignore[list-item]


def test_the_report_shows_its_profile() -> None:
    report = qa(ladder_from_text(HS_MASTER, {}), profile="apple", measure=False)
    assert repr(report).startswith("<QAReport (apple profile): ")
    assert "profile: <code>apple</code>" in report._repr_html_()
    assert report.table.attrs["profile"] == "apple"
    assert json.loads(report.to_json())["profile"] == "apple"


# --------------------------------------------------------------------- peak bit rate


def test_peak_bitrate_follows_rfc8216bis() -> None:
    # 6 s target: runs of 3 s to 9.5 s count.  The 1 s last segment at 3 Mbit/s alone is
    # not a run; with its neighbour it is (6 s at 1 Mbit/s + 1 s at 3 Mbit/s = 7 s).
    durations = [6.0, 6.0, 6.0, 1.0]
    rates = [1_000_000, 1_000_000, 1_000_000, 3_000_000]
    sizes = [round(r * d / 8) for r, d in zip(rates, durations, strict=True)]
    peak = hls.peak_bitrate(durations, sizes, 6)
    assert peak == pytest.approx((6 * 1_000_000 + 3_000_000) / 7)
    assert hls.peak_window(6) == (3.0, 9.5)
    # two 2 s segments at 4 Mbit/s make a 4 s run: a real peak
    durations, rates = [6.0, 2.0, 2.0, 6.0], [1_000_000, 4_000_000, 4_000_000, 1_000_000]
    sizes = [round(r * d / 8) for r, d in zip(rates, durations, strict=True)]
    assert hls.peak_bitrate(durations, sizes, 6) == pytest.approx(4_000_000)
    # without a target duration: the largest single segment; a clip shorter than half
    # the target: its whole average
    assert hls.peak_bitrate([6.0, 1.0], [750_000, 375_000], None) == pytest.approx(3_000_000)
    assert hls.peak_bitrate([1.0, 1.0], [125_000, 375_000], 6) == pytest.approx(2_000_000)
    assert hls.peak_bitrate([], [], 6) is None
    assert hls.average_bitrate([6.0, 2.0], [750_000, 500_000]) == pytest.approx(1_250_000)
    with pytest.raises(InvalidArgument):
        hls.peak_bitrate([6.0], [1, 2], 6)


def media_text(durations: list[float], target: int = 6) -> str:
    body = "".join(f"#EXTINF:{d:.3f},\nseg-{i}.ts\n" for i, d in enumerate(durations))
    return (
        f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target}\n"
        f"#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n{body}#EXT-X-ENDLIST\n"
    )


def test_a_short_dense_last_segment_raises_no_false_peak() -> None:
    text = master_text([stream_inf(1_150_000, "640x360", "avc1.640028"), "v360/prog.m3u8"])
    durations = [6.0, 6.0, 6.0, 0.5]
    ladder = ladder_from_text(text, {"v360/prog.m3u8": media_text(durations)})
    rates = [1_000_000, 1_000_000, 1_000_000, 4_000_000]  # the last 0.5 s at 4 Mbit/s
    sizes = pd.DataFrame(
        {
            "preset_id": ["v360/prog.m3u8"] * 4,
            "index": range(4),
            "duration": durations,
            "size": [round(r * d / 8) for r, d in zip(rates, durations, strict=True)],
        }
    )
    report = qa(ladder, sizes=sizes)
    # peak = (6 s at 1 Mbit/s + 0.5 s at 4 Mbit/s) / 6.5 s = 1.23 Mbit/s: within 10 % of
    # 1.15 Mbit/s (the 0.5 s segment alone, at 4 Mbit/s, is not a run)
    assert report.by_rule("peak_bitrate").empty and "peak_bitrate" in report.passed
    assert report.by_rule("peak_to_average").empty
    # a real peak (a whole segment at 1.5 Mbit/s) is still found
    sizes.loc[1, "size"] = round(1_500_000 * 6 / 8)
    peak = qa(ladder, sizes=sizes).by_rule("peak_bitrate")
    assert len(peak) == 1 and peak["measured"].iloc[0] == "1500000"
    assert "is +30% off BANDWIDTH" in peak["message"].iloc[0]


# ---------------------------------------------------------------------- parsing gaps

LL_HLS = """#EXTM3U
#EXT-X-TARGETDURATION:4
#EXT-X-VERSION:9
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.0
#EXT-X-PART-INF:PART-TARGET=1.0
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-MAP:URI="init.mp4"
#EXTINF:4.0,
fileSequence266.mp4
#EXTINF:4.0,
fileSequence267.mp4
#EXT-X-PART:DURATION=1.0,URI="filePart268.0.mp4",INDEPENDENT=YES
#EXT-X-PART:DURATION=1.0,URI="filePart268.1.mp4"
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart268.2.mp4"
#EXT-X-RENDITION-REPORT:URI="../1M/waitForMSN.php"
#EXT-X-RENDITION-REPORT:URI="../2M/waitForMSN.php",LAST-PART=1
#EXT-X-RENDITION-REPORT:URI="../4M/waitForMSN.php",LAST-MSN=268,LAST-PART=1
"""


def test_ll_hls_rendition_reports_may_omit_last_msn_and_last_part() -> None:
    segments = hls.segments_table(LL_HLS)
    assert segments["uri"].tolist() == ["fileSequence266.mp4", "fileSequence267.mp4"]
    info = hls.media_playlist_info(LL_HLS)
    assert info.media_sequence == 266 and info.segment_count == 2
    # rfc8216bis 4.4.5.4: an omitted LAST-MSN is the current playlist's last MSN (268,
    # the segment whose parts are being published)
    reports = hls.parse_media(LL_HLS).rendition_reports
    assert [(r.uri, r.last_msn, r.last_part) for r in reports] == [
        ("../1M/waitForMSN.php", 268, None),
        ("../2M/waitForMSN.php", 268, 1),
        ("../4M/waitForMSN.php", 268, 1),
    ]
    # without parts after the last segment, the last MSN is that segment's
    complete = LL_HLS.split("#EXT-X-PART:")[0] + '#EXT-X-RENDITION-REPORT:URI="../1M/a.m3u8"\n'
    assert hls.parse_media(complete).rendition_reports[0].last_msn == 267


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("BANDWIDTH", "2560000.4"),
        ("AVERAGE-BANDWIDTH", "2560000.4"),
        ("BANDWIDTH", '"INVALIDBW"'),
        ("BANDWIDTH", '"1"'),
        ("BANDWIDTH", "-5"),
    ],
)
def test_bandwidth_must_be_a_decimal_integer(attribute: str, value: str) -> None:
    extra = "" if attribute == "BANDWIDTH" else "BANDWIDTH=2560000,"
    text = f"#EXTM3U\n#EXT-X-STREAM-INF:{extra}{attribute}={value}\nv.m3u8\n"
    with pytest.raises(PlaylistError) as info:
        hls.renditions_table(text)
    message = str(info.value)
    assert message.startswith("line 2: ") and f"{attribute}={value} is not an integer" in message
    with pytest.raises(PlaylistError, match=attribute):
        ladder_from_text(text, {})
    # the well-formed value parses exactly
    good = f"#EXTM3U\n#EXT-X-STREAM-INF:{extra}{attribute}=2560000\nv.m3u8\n"
    assert hls.renditions_table(good)[attribute.lower().replace("-", "_")].tolist() == [2560000]


def test_text_before_extm3u_is_refused_at_its_line() -> None:
    for text, line in (
        ("junk\n#EXTM3U\n#EXT-X-TARGETDURATION:6\n", 1),
        ("\n\n  \nHTTP/1.1 200 OK\n#EXTM3U\n", 4),
    ):
        with pytest.raises(PlaylistError) as info:
            hls.segments_table(text)
        assert str(info.value).startswith(f"line {line}: an HLS playlist must start with #EXTM3U")
