"""Tests for hs_notebook.qa: every rule broken by a hand-written playlist and passed by a
good one (offline, via ladder_from_text), the measured rules on real segment sizes from
the sandbox, and the QAReport object."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from matplotlib.container import BarContainer

from hs_notebook.errors import InvalidArgument, PlaylistError
from hs_notebook.ladder import fetch_ladder, ladder_from_text
from hs_notebook.qa import COLUMNS, RULES, SEVERITIES, QAReport, qa
from hs_notebook.sandbox import Faults

HOST = "https://h.example"
MEASURED = {rid for rid, rule in RULES.items() if rule.measured}
# the media rules run at depth="media" and "quality" (tests/test_media_qa.py,
# tests/test_probe.py)
MEDIA = {rid for rid, rule in RULES.items() if rule.media}
#: The quality rules run only at depth="quality" (tests/test_quality_ladder.py breaks each).
QUALITY = {rid for rid, rule in RULES.items() if rule.quality}
#: At the default depth the playlist rules are all that run.
PLAYLIST = set(RULES) - MEDIA - QUALITY


# ----------------------------------------------------------------------------- builders


@dataclass
class V:
    """One variant of a hand-written ladder."""

    preset: str
    bandwidth: int | None
    width: int
    height: int
    average: int | None = -1  # -1: 90 % of bandwidth
    codecs: str | None = "avc1.64001f,mp4a.40.2"
    frame_rate: float | None = 30.0
    media: dict[str, Any] = field(default_factory=dict)  # overrides for media()

    def line(self) -> str:
        attrs = []
        if self.bandwidth is not None:
            attrs.append(f"BANDWIDTH={self.bandwidth}")
        average = self.average
        if average == -1:
            average = int(self.bandwidth * 0.9) if self.bandwidth is not None else None
        if average is not None:
            attrs.append(f"AVERAGE-BANDWIDTH={average}")
        if self.width:
            attrs.append(f"RESOLUTION={self.width}x{self.height}")
        if self.codecs is not None:
            attrs.append(f'CODECS="{self.codecs}"')
        if self.frame_rate is not None:
            attrs.append(f"FRAME-RATE={self.frame_rate:.3f}")
        attrs.append('SUBTITLES="subs"')
        return f"#EXT-X-STREAM-INF:{','.join(attrs)}\n{HOST}/mpl/1/{self.preset}/\n"


def ladder_variants() -> list[V]:
    """A good 4-step ladder: 360p..1080p, steps 1.7x..1.83x, 16:9 (854x480 included)."""
    return [
        V("p360", 1_000_000, 640, 360),
        V("p480", 1_700_000, 854, 480),
        V("p720", 3_000_000, 1280, 720),
        V("p1080", 5_500_000, 1920, 1080),
    ]


SUBS_EN = (
    '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=YES,'
    f'AUTOSELECT=YES,URI="{HOST}/mplt/1/tt-en/"\n'
)
IFRAMES = (
    '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=150000,RESOLUTION=640x360,CODECS="avc1.64001f",'
    f'URI="{HOST}/mpl/1/p360-iframes/"\n'
)


def master(
    variants: list[V] | None = None,
    *,
    version: int | None = 3,
    independent: bool = True,
    subtitles: str = SUBS_EN,
    iframes: str = IFRAMES,
) -> str:
    text = "#EXTM3U\n"
    if version is not None:
        text += f"#EXT-X-VERSION:{version}\n"
    if independent:
        text += "#EXT-X-INDEPENDENT-SEGMENTS\n"
    text += subtitles
    for v in variants if variants is not None else ladder_variants():
        text += v.line()
    return text + iframes


def media(
    durations: tuple[float, ...] = (6.0, 6.0, 6.0, 4.5),
    *,
    version: int | None = 3,
    target: int | None = 6,
    playlist_type: str | None = "VOD",
    endlist: bool = True,
    independent: bool = True,
    header: str = "",
    before: dict[int, str] | None = None,
    media_sequence: int = 0,
) -> str:
    """A media playlist; ``before[i]`` is inserted before segment i's EXTINF."""
    text = "#EXTM3U\n"
    if version is not None:
        text += f"#EXT-X-VERSION:{version}\n"
    if target is not None:
        text += f"#EXT-X-TARGETDURATION:{target}\n"
    text += f"#EXT-X-MEDIA-SEQUENCE:{media_sequence}\n"
    if playlist_type:
        text += f"#EXT-X-PLAYLIST-TYPE:{playlist_type}\n"
    if independent:
        text += "#EXT-X-INDEPENDENT-SEGMENTS\n"
    text += header
    for i, d in enumerate(durations):
        text += (before or {}).get(i, "")
        text += f"#EXTINF:{d:.3f},\nseg-{i}.ts\n"
    if endlist:
        text += "#EXT-X-ENDLIST\n"
    return text


def build(
    variants: list[V] | None = None, omit_media: tuple[str, ...] = (), **master_kw: Any
) -> Any:
    variants = variants if variants is not None else ladder_variants()
    texts = {v.preset: media(**v.media) for v in variants if v.preset not in omit_media}
    return ladder_from_text(master(variants, **master_kw), texts)


def failing(findings: QAReport) -> set[str]:
    """Rules that produced a finding other than a "not checked" skip note."""
    return set(findings.table["rule"]) - set(findings.skipped)


def with_variant(index: int, **changes: Any) -> list[V]:
    variants = ladder_variants()
    for name, value in changes.items():
        setattr(variants[index], name, value)
    return variants


def sizes_for(variants: list[V], peak: float = 1.0, average: float = 0.9) -> pd.DataFrame:
    """A sizes table whose first segment runs at ``peak`` x BANDWIDTH and the others at a
    rate chosen so that the whole averages ``average`` x BANDWIDTH."""
    rows = []
    durations = (6.0, 6.0, 6.0, 4.5)
    total = sum(durations)
    for v in variants:
        bw = v.bandwidth
        first = bw * peak * durations[0] / 8
        rest_bits = bw * average * total - first * 8
        rest_rate = rest_bits / (total - durations[0])
        for i, d in enumerate(durations):
            size = first if i == 0 else rest_rate * d / 8
            rows.append({"preset_id": v.preset, "index": i, "duration": d, "size": round(size)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- the table


def test_rules_table_is_documented_and_complete() -> None:
    frame = RULES.to_frame()
    assert list(frame.columns) == [
        "id",
        "severity",
        "source",
        "checks",
        "measured",
        "media",
        "quality",
    ]
    assert set(frame.loc[frame["media"], "id"]) == MEDIA
    assert set(frame.loc[frame["quality"], "id"]) == QUALITY
    assert len(frame) == len(RULES) >= 20
    assert set(frame["severity"]) <= set(SEVERITIES)
    for rule in RULES.values():
        assert rule.source.startswith(("RFC 8216", "Apple HLS", "HeapStream", "hs_notebook"))
        assert rule.checks and callable(rule.check)
    assert {"peak_bitrate", "average_bitrate", "peak_to_average"} == MEASURED
    # HeapStream's FAQ: renditions from 360p to 2160p, a hard limit (an error)
    assert RULES["heapstream_resolution"].severity == "error"
    assert "warning because" not in RULES["heapstream_resolution"].checks
    assert RULES["extinf_within_target"].severity == "error"
    assert "extinf_within_target" in RULES._repr_html_()


def test_a_good_ladder_passes_every_rule_offline() -> None:
    findings = qa(build())
    assert findings.errors == 0 and findings.warnings == 0
    assert set(findings.passed) == PLAYLIST - MEASURED
    # offline: the measured rules are skipped, say why, and are not counted as passed
    assert set(findings.skipped) == MEASURED
    for reason in findings.skipped.values():
        assert "ladder_from_text" in reason
    infos = findings.table[findings.table["severity"] == "info"]
    assert set(infos["rule"]) == MEASURED
    assert all(
        m.startswith(f"{rule} not checked: ")
        for rule, m in zip(infos["rule"], infos["message"], strict=True)
    )
    assert (
        findings.summary
        == f"0 errors, 0 warnings, 3 infos, {len(PLAYLIST) - 3} rules passed, 3 skipped"
    )


# Each case: (rule id, how to build the ladder that breaks it, extra rules allowed to fire).
BREAKS: list[tuple[str, Any, set[str]]] = [
    (
        "target_duration_present",
        lambda: build(with_variant(0, media={"target": None})),
        set(),
    ),
    (
        "extinf_within_target",
        lambda: build(with_variant(1, media={"durations": (6.0, 6.5, 6.0, 4.0)})),
        set(),
    ),
    (
        "vod_endlist",
        lambda: build(with_variant(2, media={"endlist": False})),
        set(),
    ),
    ("bandwidth_present", lambda: build(with_variant(0, bandwidth=0, average=0)), set()),
    (
        "version_compat",
        lambda: build(
            with_variant(0, media={"header": f'#EXT-X-MAP:URI="{HOST}/init.mp4"\n', "version": 5})
        ),
        set(),
    ),
    (
        "sequence_numbers",
        lambda: build(with_variant(3, media={"media_sequence": -1})),
        set(),
    ),
    (
        "discontinuities_aligned",
        lambda: build(with_variant(1, media={"before": {2: "#EXT-X-DISCONTINUITY\n"}})),
        set(),
    ),
    ("media_available", lambda: build(omit_media=("p720",)), set()),
    ("codecs_present", lambda: build(with_variant(2, codecs=None)), set()),
    # without RESOLUTION the variant also drops out of the aspect/resolution checks
    ("resolution_present", lambda: build(with_variant(1, width=0, height=0)), set()),
    ("frame_rate_present", lambda: build(with_variant(3, frame_rate=None)), set()),
    ("average_bandwidth_present", lambda: build(with_variant(0, average=None)), set()),
    (
        "independent_segments",
        lambda: build(
            [
                V(v.preset, v.bandwidth, v.width, v.height, media={"independent": False})
                for v in ladder_variants()
            ],
            independent=False,
        ),
        set(),
    ),
    ("bitrate_step", lambda: build(with_variant(1, bandwidth=1_100_000)), set()),
    (
        "resolution_rises",
        lambda: build(with_variant(2, width=640, height=360)),
        set(),
    ),
    ("aspect_ratio", lambda: build(with_variant(0, width=640, height=480)), set()),
    (
        "segment_duration",
        lambda: build(with_variant(0, media={"durations": (2.0, 2.0, 2.0), "target": 2})),
        set(),
    ),
    ("iframe_playlists", lambda: build(iframes=""), set()),
    (
        "subtitle_language_name",
        lambda: build(subtitles=SUBS_EN.replace('LANGUAGE="en",', "")),
        set(),
    ),
    (
        "subtitle_autoselect",
        lambda: build(subtitles=SUBS_EN.replace("AUTOSELECT=YES", "AUTOSELECT=NO")),
        set(),
    ),
    (
        "heapstream_h264",
        lambda: build(
            [
                V(v.preset, v.bandwidth, v.width, v.height, codecs="hvc1.2.4.L120.B0,mp4a.40.2")
                for v in ladder_variants()
            ]
        ),
        set(),
    ),
    (
        "heapstream_resolution",
        lambda: build(
            [V("p144", 600_000, 256, 144), *ladder_variants()[:3]],
        ),
        set(),
    ),
    (
        "heapstream_frame_rate",
        lambda: build(with_variant(3, frame_rate=60.0)),
        set(),
    ),
]


def test_every_rule_has_a_breaking_case() -> None:
    # the media rules' breaking cases: tests/test_media_qa.py (sandbox defects) and
    # tests/test_probe.py (segments made to break them); the quality rules':
    # tests/test_quality_ladder.py
    broken = {case[0] for case in BREAKS} | MEASURED
    assert broken == PLAYLIST
    assert MEDIA and QUALITY and not MEDIA & QUALITY  # a rule runs from one depth on


@pytest.mark.parametrize(("rule_id", "make", "extra"), BREAKS, ids=[c[0] for c in BREAKS])
def test_each_rule_breaks_alone(rule_id: str, make: Any, extra: set[str]) -> None:
    findings = qa(make(), measure=False)
    assert failing(findings) == {rule_id} | extra
    hits = findings.by_rule(rule_id)
    assert len(hits) >= 1
    assert set(hits["severity"]) == {RULES[rule_id].severity}
    assert all(len(m) > 20 for m in hits["message"])
    assert rule_id not in findings.passed


def test_extinf_rounding_subjects_and_boundaries() -> None:
    # 6.4 rounds to 6 (fine); 6.5 rounds half up to 7 (too long); subject is preset:index
    variants = with_variant(1, media={"durations": (6.4, 6.5, 6.0, 4.0)})
    hits = qa(build(variants)).by_rule("extinf_within_target")
    assert hits["subject"].tolist() == ["p480:1"]
    assert hits["measured"].tolist() == ["6.5"]
    assert hits["expected"].tolist() == ["<= 6"]


@pytest.mark.parametrize(
    ("media_kw", "master_kw", "needed", "subject"),
    [
        ({"header": "#EXT-X-BYTERANGE:100@0\n", "version": 3}, {}, 4, "p360"),
        ({"durations": (5.5, 6.0, 6.0, 4.5), "version": 2}, {}, 3, "p360"),
        (
            {"header": f'#EXT-X-KEY:METHOD=AES-128,URI="{HOST}/k",KEYFORMAT="identity"\n'},
            {},
            5,
            "p360",
        ),
        (
            {
                "header": f'#EXT-X-KEY:METHOD=AES-128,URI="{HOST}/k",IV=0x1234\n',
                "durations": (6.0, 6.0, 6.0, 4.0),
                "version": None,
            },
            {},
            2,
            "p360",
        ),
    ],
    ids=["byterange", "float-extinf", "keyformat", "iv"],
)
def test_version_compat_cases(
    media_kw: dict[str, Any], master_kw: dict[str, Any], needed: int, subject: str
) -> None:
    variants = with_variant(0, media=media_kw)
    hits = qa(build(variants, **master_kw)).by_rule("version_compat")
    assert hits["subject"].tolist() == [subject]
    assert hits["expected"].tolist() == [f">= {needed}"]


def test_version_compat_passes_when_declared_high_enough() -> None:
    fmp4 = {"header": f'#EXT-X-MAP:URI="{HOST}/init.mp4"\n', "version": 6}
    assert "version_compat" in qa(build(with_variant(0, media=fmp4))).passed
    # EXT-X-MAP in an I-frames-only playlist needs only version 5
    iframes_only = {
        "header": f'#EXT-X-I-FRAMES-ONLY\n#EXT-X-MAP:URI="{HOST}/init.mp4"\n',
        "version": 5,
    }
    assert "version_compat" in qa(build(with_variant(0, media=iframes_only))).passed
    iframes_only["version"] = 4
    hits = qa(build(with_variant(0, media=iframes_only))).by_rule("version_compat")
    assert hits["expected"].tolist() == [">= 5"]


def test_version_compat_master_instream_service_needs_7() -> None:
    cc = '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC",INSTREAM-ID="SERVICE1"\n'
    hits = qa(build(subtitles=SUBS_EN + cc, version=6)).by_rule("version_compat")
    assert hits["subject"].tolist() == ["master"] and hits["expected"].tolist() == [">= 7"]
    assert "version_compat" in qa(build(subtitles=SUBS_EN + cc, version=7)).passed


def test_bitrate_step_both_directions_and_resolution_subjects() -> None:
    hits = qa(build(with_variant(3, bandwidth=9_000_000))).by_rule("bitrate_step")
    assert hits["subject"].tolist() == ["p1080"]
    assert hits["measured"].tolist() == ["3.00"]
    hits = qa(build(with_variant(2, width=640, height=360))).by_rule("resolution_rises")
    assert hits["subject"].tolist() == ["p720"]


def test_missing_bandwidth_is_refused_by_the_parser() -> None:
    text = master(with_variant(0, bandwidth=None))
    with pytest.raises(PlaylistError, match="BANDWIDTH"):
        ladder_from_text(text, {})


def test_discontinuity_sequence_mismatch_is_reported() -> None:
    header = "#EXT-X-DISCONTINUITY-SEQUENCE:3\n"
    hits = qa(build(with_variant(2, media={"header": header}))).by_rule("discontinuities_aligned")
    assert hits["subject"].tolist() == ["p720"]
    assert hits["measured"].tolist() == ["3/0"] and hits["expected"].tolist() == ["0/0"]


# ----------------------------------------------------------------------------- measured


def test_measured_rules_pass_on_matching_sizes() -> None:
    variants = ladder_variants()
    findings = qa(build(variants), sizes=sizes_for(variants, peak=1.0, average=0.9))
    assert not findings.skipped
    assert set(findings.passed) >= MEASURED


@pytest.mark.parametrize(
    ("rule_id", "peak", "average"),
    [("peak_bitrate", 1.2, 0.9), ("average_bitrate", 1.0, 0.75), ("peak_to_average", 1.0, 0.45)],
)
def test_measured_rules_break(rule_id: str, peak: float, average: float) -> None:
    variants = ladder_variants()
    if rule_id == "peak_to_average":  # declare what was measured, so only the ratio is off
        for v in variants:
            v.average = int(v.bandwidth * average)
    findings = qa(build(variants), sizes=sizes_for(variants, peak=peak, average=average))
    assert failing(findings) == {rule_id}
    hits = findings.by_rule(rule_id)
    assert hits["subject"].tolist() == [v.preset for v in variants]


def test_measure_false_skips_and_says_why() -> None:
    findings = qa(build(), measure=False)
    assert set(findings.skipped) == MEASURED
    assert all("measure=False" in r for r in findings.skipped.values())


def test_bad_arguments_raise_our_errors() -> None:
    with pytest.raises(InvalidArgument, match="Ladder"):
        qa("not a ladder")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="size"):
        qa(build(), sizes=pd.DataFrame({"preset_id": ["p360"], "duration": [6.0]}))
    with pytest.raises(InvalidArgument, match="measure"):
        qa(build(), measure="yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="severity"):
        qa(build()).at_least("fatal")


# ----------------------------------------------------------------------------- sandbox


def test_sandbox_ladder_passes_every_error_rule(sandbox: Any) -> None:
    ladder = fetch_ladder(
        sandbox.video_id, sandbox.signing_key, sandbox.project_id, sandbox.base_url
    )
    findings = qa(ladder)
    assert findings.errors == 0, findings.table.to_string()
    # media: tests/test_media_qa.py; quality: tests/test_quality_ladder.py
    error_rules = {rid for rid in PLAYLIST if RULES[rid].severity == "error"}
    assert set(findings.passed) >= error_rules
    # measured for real: the bitrate rules ran and passed
    assert not findings.skipped
    assert set(findings.passed) >= MEASURED
    # HeapStream's 360p..2160p rule is an error, and the sandbox's ladder keeps it
    heights = ladder.renditions["height"].astype(int).tolist()
    assert min(heights) >= 360 and "heapstream_resolution" in findings.passed
    # the tiny profile's 2 s segments are a warning (Apple recommends 6 s), on purpose
    assert "segment_duration" in set(findings.table["rule"])


def test_measuring_fetches_one_head_per_segment_and_nothing_when_off(
    sandbox_factory: Any,
) -> None:
    sb = sandbox_factory()
    ladder = fetch_ladder(sb.video_id, sb.signing_key, sb.project_id, sb.base_url)
    sb.clear_requests()
    qa(ladder, measure=False)
    assert sb.requests == []
    qa(ladder)
    segments = sum(len(ladder.segments(p)) for p in ladder.media_texts)
    heads = [r for r in sb.requests if r.method == "HEAD" and r.path.endswith(".ts")]
    assert len(heads) == segments == len(sb.requests)


def test_measured_rules_catch_a_lying_bandwidth(sandbox: Any) -> None:
    ladder = fetch_ladder(
        sandbox.video_id, sandbox.signing_key, sandbox.project_id, sandbox.base_url
    )
    sizes = ladder.measure_segment_sizes()
    top = ladder.renditions["preset_id"].iloc[-1]
    inflated = sizes.copy()
    inflated.loc[inflated["preset_id"] == top, "size"] *= 2
    findings = qa(ladder, sizes=inflated)
    assert set(findings.by_rule("peak_bitrate")["subject"]) == {top}
    assert set(findings.by_rule("average_bitrate")["subject"]) == {top}


def _segment_heads(sb: Any) -> list[Any]:
    return [r for r in sb.requests if r.path.endswith(".ts")]


def test_a_failed_measurement_costs_only_the_measured_rules(sandbox_factory: Any) -> None:
    sb = sandbox_factory()
    ladder = fetch_ladder(sb.video_id, sb.signing_key, sb.project_id, sb.base_url)
    clean = qa(ladder, measure=False)
    # every segment answers 503: the client retries, then measuring raises FetchError
    sb.faults = Faults(error_rate=1.0, paths=r"\.ts$")
    findings = qa(ladder)
    assert _segment_heads(sb), "the segments were asked for"
    assert set(findings.skipped) == MEASURED
    for reason in findings.skipped.values():
        assert reason.startswith("measuring the segment sizes failed (FetchError:")
        assert "503" in reason and "token=ey" not in reason
    infos = findings.by_rule("peak_bitrate")
    assert infos["severity"].tolist() == ["info"]
    assert infos["message"].iloc[0].startswith("peak_bitrate not checked: measuring the")
    # every other rule ran, with the same outcome as a pass without measuring
    assert findings.passed == clean.passed
    assert findings.counts == clean.counts
    assert findings.table.drop(columns="message").equals(clean.table.drop(columns="message"))


def test_a_refused_measurement_degrades_too(sandbox_factory: Any) -> None:
    sb = sandbox_factory()
    key = sb.create_signing_key()
    ladder = fetch_ladder(sb.video_id, key, sb.project_id, sb.base_url)
    sb.revoke_signing_key(key.key_id)  # the segments' tokens are now refused
    findings = qa(ladder)
    assert set(findings.skipped) == MEASURED
    assert all("TokenRejected" in r and "revoked_key" in r for r in findings.skipped.values())
    assert findings.errors == 0 and "heapstream_resolution" in findings.passed
    assert len(findings.passed) == len(PLAYLIST) - len(MEASURED) - len(
        set(findings.table["rule"]) - MEASURED
    )


def test_async_qa_degrades_the_same_way(sandbox_factory: Any) -> None:
    import asyncio

    from hs_notebook.qa import qa_async

    sb = sandbox_factory()
    ladder = fetch_ladder(sb.video_id, sb.signing_key, sb.project_id, sb.base_url)
    sb.faults = Faults(error_rate=1.0, paths=r"\.ts$")
    findings = asyncio.run(qa_async(ladder))
    assert set(findings.skipped) == MEASURED
    assert "extinf_within_target" in findings.passed


def test_sizes_for_only_some_variants_are_not_a_pass() -> None:
    variants = ladder_variants()
    sizes = sizes_for(variants, peak=1.2)
    partial = sizes[sizes["preset_id"] == "p720"]
    findings = qa(build(variants), sizes=partial)
    # the measured variant is checked (and fails), the others are reported as not checked
    assert findings.by_rule("peak_bitrate")["subject"].tolist() == ["p720", "master"]
    note = findings.by_rule("peak_bitrate")["message"].iloc[1]
    assert note.startswith("peak_bitrate not checked for p360, p480, p1080:")
    assert not MEASURED & set(findings.passed)
    # sizes of none of this ladder's variants: the measured rules are skipped, and say why
    other = sizes.assign(preset_id="elsewhere")
    findings = qa(build(variants), sizes=other)
    assert set(findings.skipped) == MEASURED
    assert "no segments of any variant" in findings.skipped["peak_bitrate"]


def test_concurrency_is_checked_before_measuring(sandbox: Any) -> None:
    ladder = fetch_ladder(
        sandbox.video_id, sandbox.signing_key, sandbox.project_id, sandbox.base_url
    )
    with pytest.raises(InvalidArgument, match="concurrency"):
        qa(ladder, concurrency=0)


@pytest.mark.parametrize(
    ("width", "height", "ok"),
    [
        (640, 360, True),
        (360, 640, True),  # portrait: the short side counts
        (3840, 2160, True),
        (636, 358, False),
        (4096, 2166, False),
        (426, 240, False),
    ],
)
def test_heapstream_resolution_boundaries(width: int, height: int, ok: bool) -> None:
    variants = [V("only", 1_000_000, width, height)]
    findings = qa(build(variants), measure=False)
    assert ("heapstream_resolution" in findings.passed) is ok
    if not ok:
        hits = findings.by_rule("heapstream_resolution")
        assert hits["severity"].tolist() == ["error"]
        assert hits["measured"].tolist() == [f"{min(width, height)}p"]
        assert not findings.ok


# ----------------------------------------------------------------------------- bitrate table
# (the figures drawn from it, and from QAReport tables, are tested with hs_notebook.plots)


def _bars(ax: Any) -> list[tuple[str, list[float]]]:
    return [
        (c.get_label(), [p.get_width() for p in c.patches])
        for c in ax.containers
        if isinstance(c, BarContainer)
    ]


def test_findings_by_rule_figure_counts_and_colours() -> None:
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    from hs_notebook.plots import findings_by_rule_figure

    # two errors (codecs on one variant, 60 fps on one), 3 infos (measured rules skipped)
    findings = qa(build(with_variant(0, codecs=None, frame_rate=60.0)), measure=False)
    fig = findings_by_rule_figure(findings)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    rules = [t.get_text() for t in ax.get_yticklabels()]
    assert rules == [
        "codecs_present",
        "peak_bitrate",
        "average_bitrate",
        "peak_to_average",
        "heapstream_frame_rate",
    ]
    bars = dict(_bars(ax))
    assert bars == {"error": [1, 0, 0, 0, 1], "info": [0, 1, 1, 1, 0]}
    colours = {c.get_label(): to_hex(c.patches[0].get_facecolor()) for c in ax.containers}
    assert colours == {"error": "#cf222e", "info": "#0969da"}
    # without infos, only the error bars remain
    ax = findings_by_rule_figure(findings.table, include_info=False).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "codecs_present",
        "heapstream_frame_rate",
    ]
    # nothing to plot: an empty chart that says so
    clean = qa(build(ladder_variants()), sizes=sizes_for(ladder_variants()))
    ax = findings_by_rule_figure(clean).axes[0]
    assert ax.containers == [] and "no findings" in [t.get_text() for t in ax.texts]


def test_findings_by_rule_figure_of_an_audit_counts_videos() -> None:
    from hs_notebook.plots import findings_by_rule_figure

    one = qa(build(with_variant(0, frame_rate=60.0)), measure=False).table
    fast = ladder_variants()
    fast[2].frame_rate = fast[3].frame_rate = 60.0
    two = qa(build(fast), measure=False).table
    table = pd.concat([one.assign(video_id="a"), two.assign(video_id="b")], ignore_index=True)
    by_findings = dict(_bars(findings_by_rule_figure(table, include_info=False).axes[0]))
    by_videos = dict(
        _bars(findings_by_rule_figure(table, count="videos", include_info=False).axes[0])
    )
    assert by_findings == {"error": [3]}  # 1 + 2 variants above 30 fps
    assert by_videos == {"error": [2]}  # in 2 videos
    with pytest.raises(InvalidArgument, match="video_id"):
        findings_by_rule_figure(one, count="videos")
    with pytest.raises(InvalidArgument, match="count"):
        findings_by_rule_figure(one, count="rules")
    with pytest.raises(InvalidArgument, match="QAReport"):
        findings_by_rule_figure("findings")  # type: ignore[arg-type]


def test_bitrate_table_and_figure() -> None:

    from hs_notebook.qa import BITRATE_COLUMNS, bitrate_table

    variants = ladder_variants()
    ladder = build(variants)
    sizes = sizes_for(variants, peak=1.2, average=0.9)
    table = bitrate_table(ladder, sizes)
    assert list(table.columns) == list(BITRATE_COLUMNS)
    assert table["rendition"].tolist() == ["p360", "p480", "p720", "p1080"]
    assert table["bandwidth"].tolist() == [v.bandwidth for v in variants]
    assert table["average_bandwidth"].tolist() == [int(v.bandwidth * 0.9) for v in variants]
    assert table["measured_peak"].tolist() == pytest.approx(
        [v.bandwidth * 1.2 for v in variants], rel=1e-5
    )
    assert table["measured_average"].tolist() == pytest.approx(
        [v.bandwidth * 0.9 for v in variants], rel=1e-5
    )
    assert table["peak_off"].tolist() == pytest.approx([0.2] * 4, abs=1e-5)
    # without sizes: the declared values only
    unmeasured = bitrate_table(ladder)
    assert unmeasured["measured_peak"].isna().all()


def test_bitrate_figure_of_the_sandbox_ladder(sandbox: Any) -> None:
    from hs_notebook.qa import bitrate_table

    ladder = fetch_ladder(
        sandbox.video_id, sandbox.signing_key, sandbox.project_id, sandbox.base_url
    )
    sizes = ladder.measure_segment_sizes()
    table = bitrate_table(ladder, sizes)
    assert table["measured_peak"].notna().all()
    # the sandbox declares what it measured: both within the rules' 10 %
    assert (table["peak_off"].abs() <= 0.10).all() and (table["average_off"].abs() <= 0.10).all()


# ----------------------------------------------------------------------------- QAReport


def test_findings_object() -> None:
    findings = qa(build(with_variant(0, codecs=None, frame_rate=60.0)), measure=False)
    assert list(findings.table.columns) == list(COLUMNS)
    assert findings.counts == {"error": 2, "warning": 0, "info": 3}
    assert findings.errors == 2 and findings.infos == 3
    assert findings.worst == "error"
    assert findings.worst_rule == "codecs_present"  # RULES order among errors
    assert not findings.ok
    assert findings.fails("error") and findings.fails("warning")
    assert len(findings.at_least("error")) == 2 and len(findings.at_least("info")) == 5
    # ordered: errors first, then infos
    assert findings.table["severity"].tolist()[:2] == ["error", "error"]
    assert findings.summary.startswith("2 errors, 0 warnings, 3 infos, ")
    assert len(findings) == 5 and findings["rule"].iloc[1] == "heapstream_frame_rate"
    data = json.loads(findings.to_json())
    assert data["counts"] == findings.counts and len(data["findings"]) == 5
    assert "codecs_present" in repr(findings)
    page = findings._repr_html_()
    assert "2 errors, 0 warnings" in page
    assert "#ffebe9" in page and "#ddf4ff" in page  # error and info rows coloured
    assert "rules passed" in page and "skipped" in page


def test_findings_of_a_clean_ladder_do_not_fail() -> None:
    variants = ladder_variants()
    findings = qa(build(variants), sizes=sizes_for(variants))
    assert len(findings) == 0 and findings.worst is None and findings.worst_rule is None
    assert findings.ok and not findings.fails("info")
    assert findings.summary == f"0 errors, 0 warnings, {len(PLAYLIST)} rules passed"
    assert "#1a7f37" in findings._repr_html_()


def test_uri_subjects_are_redacted() -> None:
    text = (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=1000000,RESOLUTION=640x360,CODECS="hvc1.1.6.L93.B0"\n'
        f"{HOST}/other/v.m3u8?token=SECRET\n"
    )
    findings = qa(ladder_from_text(text, {}), measure=False)
    subjects = set(findings.table["subject"])
    assert any("h.example/other/v.m3u8" in s for s in subjects)
    assert not any("SECRET" in s for s in subjects)
    assert "SECRET" not in findings.to_json()


# ----------------------------------------------------------------------------- notebook 04


@pytest.mark.slow
def test_notebook_04_runs_and_plots(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """notebooks/04_qa.ipynb top to bottom on a real kernel (sandbox, tiny profile): the
    findings-by-rule charts and the declared-vs-measured bitrate chart are real PNGs."""
    import nbformat
    from nbclient import NotebookClient

    from hs_notebook.env import ENV_KEY, ENV_KEY_ID

    spec = tmp_path / "kernels" / "hs-qa-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "hs qa", "language": "python"})
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("HS_NOTEBOOK_SANDBOX_PROFILE", "tiny")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for name in (ENV_KEY_ID, ENV_KEY):
        monkeypatch.delenv(name, raising=False)
    path = Path(__file__).resolve().parents[1] / "notebooks" / "04_qa.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=180,
        kernel_name="hs-qa-test",
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=True,
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.output_type == "error"]
    assert errors == []
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    pngs = {
        i
        for i, c in enumerate(c for c in nb.cells if c.cell_type == "code")
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    }
    plotted = {
        i
        for i, src in enumerate(sources)
        if any(line.startswith(PLOT_CALLS) for line in src.splitlines())
    }
    # findings by rule (ladder, edited copy, audit) and the bitrates: each shows an image
    assert len(plotted) == 4 and plotted <= pngs
    text = json.dumps(nb.cells)
    assert "Using the local sandbox at http://127.0.0.1:" in text
    assert "measured_peak" in text and "peak_off" in text  # the bitrate table
    assert "0 errors" in text  # the sandbox ladder passes the error-level rules
    assert "v-does-not-exist" in text and "not_found" in text  # the audit kept it


PLOT_CALLS = ("findings_by_rule_figure(", "bitrate_figure(")
