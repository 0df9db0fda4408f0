"""Tests for hs_notebook.vtt: WebVTT text tracks and storyboards."""

from __future__ import annotations

import pandas as pd
import pytest

from hs_notebook import vtt
from hs_notebook.errors import InvalidArgument, VTTError

FRENCH = """WEBVTT - Sous-titres français
Kind: captions
Language: fr

STYLE
::cue(.loud) { color: yellow; }

REGION
id:bas
width:40%

NOTE Relu par Amélie
le 3 mai

1
00:00:01.000 --> 00:00:04.500 align:start line:90%
Ça va très bien,
<c.loud>merci beaucoup !</c>

00:05.250 --> 00:07.000
Où est la gare ?

chapitre-2
01:02:03.004 --> 01:02:05.000
Déjà vu.

NOTE fin
"""

STORYBOARD = """WEBVTT

00:00:00.000 --> 00:00:05.000
sprite-0.jpg#xywh=0,0,160,90

00:00:05.000 --> 00:00:10.000
sprite-0.jpg#xywh=160,0,160,90

00:00:10.000 --> 00:00:15.000
sprite-1.jpg?sig=q1#xywh=0,0,160,90

00:00:15.000 --> 00:00:20.000
https://img.example.com/sb/sprite-2.jpg#xywh=pixel:0,90,160,90
"""
SB_BASE = "https://app.heapstream.com/sbt/12/34/?token=abc"


def test_parse_vtt_cues() -> None:
    cues = vtt.parse_vtt(FRENCH)
    assert len(cues) == 3
    first = cues[0]
    assert first == vtt.Cue(
        start=1.0,
        end=4.5,
        text="Ça va très bien,\n<c.loud>merci beaucoup !</c>",
        cue_id="1",
        settings="align:start line:90%",
    )
    assert (cues[1].start, cues[1].end, cues[1].cue_id, cues[1].settings) == (
        5.25,
        7.0,
        None,
        None,
    )
    assert cues[1].text == "Où est la gare ?"
    assert cues[2].cue_id == "chapitre-2"
    assert cues[2].start == pytest.approx(3723.004)


def test_cues_table() -> None:
    df = vtt.cues_table(FRENCH)
    assert list(df.columns) == list(vtt.COLUMNS["cues"])
    assert df["start"].tolist() == pytest.approx([1.0, 5.25, 3723.004])
    assert df["end"].tolist() == pytest.approx([4.5, 7.0, 3725.0])
    assert df["text"][2] == "Déjà vu."
    assert df["cue_id"][0] == "1" and pd.isna(df["cue_id"][1])
    assert df["settings"][0] == "align:start line:90%" and pd.isna(df["settings"][2])
    assert str(df["text"].dtype) == "string"


def test_crlf_bom_and_bytes_give_the_same_cues() -> None:
    crlf = "\ufeff" + FRENCH.replace("\n", "\r\n")
    assert vtt.parse_vtt(crlf) == vtt.parse_vtt(FRENCH)
    assert vtt.parse_vtt(FRENCH.replace("\n", "\r")) == vtt.parse_vtt(FRENCH)
    assert vtt.parse_vtt(FRENCH.encode("utf-8")) == vtt.parse_vtt(FRENCH)  # type: ignore[arg-type]


def test_long_hours_and_header_only() -> None:
    cues = vtt.parse_vtt("WEBVTT\n\n100:00:00.000 --> 100:00:01.000\nlate\n")
    assert cues[0].start == 360000.0
    df = vtt.cues_table("WEBVTT\n")
    assert len(df) == 0 and list(df.columns) == list(vtt.COLUMNS["cues"])


def test_storyboard_table_resolves_against_base() -> None:
    df = vtt.storyboard_table(STORYBOARD, SB_BASE)
    assert list(df.columns) == list(vtt.COLUMNS["storyboard"])
    assert df["image_uri"].tolist() == [
        "https://app.heapstream.com/sbt/12/34/sprite-0.jpg",
        "https://app.heapstream.com/sbt/12/34/sprite-0.jpg",
        "https://app.heapstream.com/sbt/12/34/sprite-1.jpg?sig=q1",
        "https://img.example.com/sb/sprite-2.jpg",
    ]
    assert df["start"].tolist() == [0.0, 5.0, 10.0, 15.0]
    assert df["end"].tolist() == [5.0, 10.0, 15.0, 20.0]
    assert df["x"].tolist() == [0, 160, 0, 0]
    assert df["y"].tolist() == [0, 0, 0, 90]
    assert df["w"].tolist() == [160] * 4
    assert df["h"].tolist() == [90] * 4
    assert df["x"].dtype == "int64"
    assert df["sprite"].dtype == "category"
    assert df["sprite"].tolist() == df["image_uri"].tolist()
    assert df.groupby("sprite", observed=True).size().tolist() == [2, 1, 1]


def test_storyboard_without_base_keeps_references() -> None:
    df = vtt.storyboard_table(STORYBOARD)
    assert df["image_uri"].tolist()[:3] == ["sprite-0.jpg", "sprite-0.jpg", "sprite-1.jpg?sig=q1"]


def test_column_docs_are_in_the_docstrings() -> None:
    for func, table in [(vtt.cues_table, "cues"), (vtt.storyboard_table, "storyboard")]:
        for column in vtt.COLUMNS[table]:
            assert f"``{column}``" in (func.__doc__ or "")


# ----------------------------------------------------------------------- malformed input


def _error(text: str, func=vtt.parse_vtt) -> str:
    with pytest.raises(VTTError) as info:
        func(text)
    return str(info.value)


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff"])
def test_empty(text: str) -> None:
    assert "empty" in _error(text)


@pytest.mark.parametrize(
    "text",
    [
        "1\n00:00:01.000 --> 00:00:02.000\nhello\n",
        "WEBVTTX\n\n00:00:01.000 --> 00:00:02.000\nhello\n",
        "\nWEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhello\n",
    ],
)
def test_missing_header(text: str) -> None:
    msg = _error(text)
    assert "line 1" in msg and "must start with 'WEBVTT'" in msg


def test_playlist_given_as_vtt_gets_a_hint() -> None:
    assert "HLS playlist" in _error("#EXTM3U\n#EXT-X-VERSION:3\n")


@pytest.mark.parametrize(
    ("stamp", "line"),
    [
        ("00:00:01,000", 4),  # SRT-style comma
        ("00:60.000", 4),
        ("1:00.000", 4),
        ("00:00:01.5", 4),
    ],
)
def test_bad_timestamp(stamp: str, line: int) -> None:
    text = f"WEBVTT\n\nid-1\n{stamp} --> 00:00:09.000\nhello\n"
    msg = _error(text)
    assert f"line {line}" in msg and repr(stamp) in msg and "hh:mm:ss.ttt" in msg


def test_bad_timing_line() -> None:
    msg = _error("WEBVTT\n\n00:00:01.000 --> \nhello\n")
    assert "line 3" in msg and "timing line" in msg


def test_end_before_start() -> None:
    msg = _error(
        "WEBVTT\n\n00:00:01.000 --> 00:00:09.000\nok\n\n00:00:05.000 --> 00:00:04.000\nx\n"
    )
    assert "line 6" in msg and "ends (00:00:04.000) before it starts (00:00:05.000)" in msg


def test_block_that_is_not_a_cue() -> None:
    msg = _error("WEBVTT\n\nhello there\nno timing here\n")
    assert "line 3" in msg and "not a cue" in msg


def test_arrow_line_inside_cue_text_starts_the_next_cue() -> None:
    # issue 11: as files downloaded from video sites are, with no blank line between cues;
    # the W3C "collect a WebVTT block" steps end the cue at the next line holding "-->"
    text = (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:02.000\none\n"
        "00:00:02.000 --> 00:00:03.000 align:start\ntwo\nstill two\n"
        "00:00:03.000 --> 00:00:04.000\n"  # a timing line right under a timing line:
        "00:00:04.000 --> 00:00:05.000\nfour\n"  # the first cue has no text
        "\n"
        "five\n00:00:05.000 --> 00:00:06.000\nwith an id\n"
    )
    cues = vtt.parse_vtt(text)
    assert [(c.start, c.end) for c in cues] == [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]
    assert [c.text for c in cues] == ["one", "two\nstill two", "", "four", "with an id"]
    assert [c.cue_id for c in cues] == [None, None, None, None, "five"]
    assert cues[1].settings == "align:start"
    assert not any("-->" in c.text for c in cues)
    table = vtt.cues_table(text)
    assert table["start"].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert not table["text"].str.contains("-->").any()


def test_arrow_line_ends_the_cue_even_after_an_identifier_like_line() -> None:
    # the algorithm: a line without "-->" after the timing line is cue text, so "2" is the
    # last line of cue 1, and cue 2 (which starts at its timing line) has no identifier
    text = "WEBVTT\n\n1\n00:01.000 --> 00:02.000\none\n2\n00:02.000 --> 00:03.000\ntwo\n"
    cues = vtt.parse_vtt(text)
    assert [(c.cue_id, c.text) for c in cues] == [("1", "one\n2"), (None, "two")]


def test_storyboard_without_blank_lines_between_tiles() -> None:
    text = "WEBVTT\n\n" + "".join(
        f"00:00:{k * 5:02d}.000 --> 00:00:{k * 5 + 5:02d}.000\nsb.jpg#xywh={k * 160},0,160,90\n"
        for k in range(3)
    )
    df = vtt.storyboard_table(text)
    assert df["x"].tolist() == [0, 160, 320]
    assert df["end"].tolist() == [5.0, 10.0, 15.0]


def test_arrow_line_that_is_not_a_timing_line_is_still_refused() -> None:
    # the algorithm starts a cue at "he said --> go" and drops it: its timing is no timing;
    # we refuse the file at that line, as for any bad timing line
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\none\nhe said --> go\nok\n"
    msg = _error(text)
    assert "line 5" in msg and "bad cue timing line" in msg and "starts a new cue" in msg
    # the same inside a NOTE (the format forbids "-->" there)
    msg = _error("WEBVTT\n\nNOTE a comment\nabout a --> b\n")
    assert "line 4" in msg and "bad cue timing line" in msg


def test_cue_inside_header() -> None:
    msg = _error("WEBVTT\n00:00:01.000 --> 00:00:02.000\nhello\n")
    assert "line 2" in msg and "header" in msg


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("sprite-0.jpg", "no #xywh="),
        ("sprite-0.jpg#t=10", "no #xywh="),
        ("sprite-0.jpg#xywh=percent:0,0,25,25", "percent"),
        ("sprite-0.jpg#xywh=0,0,160", "bad tile"),
        ("sprite-0.jpg#xywh=-1,0,160,90", "bad tile"),
        ("sprite-0.jpg#xywh=0,0,1.5,90", "bad tile"),
        ("#xywh=0,0,160,90", "bad tile"),
        ("sprite-0.jpg#xywh=0,0,0,90", "zero width"),
        ("sprite-0.jpg#xywh=0,0,160,90\nsprite-1.jpg#xywh=0,0,160,90", "one image reference"),
    ],
)
def test_bad_storyboard_cues(payload: str, expected: str) -> None:
    text = "WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nsprite-0.jpg#xywh=0,0,1,1\n\n"
    text += f"00:00:05.000 --> 00:00:10.000\n{payload}\n"
    msg = _error(text, vtt.storyboard_table)
    assert "line 6" in msg and expected in msg


def test_wrong_argument_types() -> None:
    with pytest.raises(InvalidArgument):
        vtt.parse_vtt(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        vtt.storyboard_table(STORYBOARD, base_uri=3)  # type: ignore[arg-type]


# ------------------------------------------------- issue 11: sprite URIs that cannot work


SPRITE_TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ2aWQiLCJhdWQiOiJ2In0.c2lnbmF0dXJl"


def _storyboard_with(payload: str) -> str:
    return (
        "WEBVTT\n\n00:00:00.000 --> 00:00:05.000\nsprite-0.jpg#xywh=0,0,160,90\n\n"
        f"00:00:05.000 --> 00:00:10.000\n{payload}\n"
    )


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("sprite-0.jpg\\", "backslash"),  # the backslash before #xywh (issue 11)
        ("sprites\\sprite-0.jpg", "backslash"),  # a Windows path
        ("sprite 0.jpg", "space"),
        ("sprite-<0>.jpg", "'<'"),
        ("sprite-{0}.jpg", "'{'"),
        ("sprite|0.jpg", "'|'"),
        ("sprite\x7f0.jpg", "control character U+007F"),
        ("sprite\u00a00.jpg", "invisible character U+00A0"),
        ("sprite-\u202egpj.jpg", "invisible character U+202E"),
        ("sprite%zz.jpg", "percent-encoding"),
        ("sprite%2.jpg", "percent-encoding"),
        ("sprite[0].jpg", "IPv6 host"),
        ("https://[img.example.com/sprite.jpg", "IPv6 host"),
        ("https://[not-an-ip]/sprite.jpg", "IPv6 address"),
    ],
)
def test_sprite_reference_that_is_not_a_uri_is_refused(image: str, expected: str) -> None:
    text = _storyboard_with(f"{image}?token={SPRITE_TOKEN}#xywh=0,0,160,90")
    for base in (None, SB_BASE):
        with pytest.raises(VTTError) as info:
            vtt.storyboard_table(text, base)
        msg = str(info.value)
        assert "line 6" in msg and "not a valid URI reference" in msg and expected in msg
        assert SPRITE_TOKEN not in msg and SPRITE_TOKEN[:20] not in msg


@pytest.mark.parametrize(
    ("image", "resolved"),
    [
        ("sprite%200.jpg", "https://app.heapstream.com/sbt/12/34/sprite%200.jpg"),
        ("vignettes/été.jpg", "https://app.heapstream.com/sbt/12/34/vignettes/été.jpg"),
        ("http://[::1]:8080/sb/s.jpg", "http://[::1]:8080/sb/s.jpg"),
        ("../s.jpg;v=1?a=b&c=(d)!", "https://app.heapstream.com/sbt/12/s.jpg;v=1?a=b&c=(d)!"),
    ],
)
def test_valid_sprite_references_are_kept(image: str, resolved: str) -> None:
    df = vtt.storyboard_table(_storyboard_with(f"{image}#xywh=0,0,160,90"), SB_BASE)
    assert df["image_uri"].tolist()[1] == resolved


# -------------------------------------- issue 10: only our exceptions, on any input


def test_timestamp_longer_than_the_int_string_limit() -> None:
    # Python's int() refuses strings past 4,300 digits with a ValueError of its own
    hours = "9" * 5000
    msg = _error(f"WEBVTT\n\n{hours}:00:00.000 --> {hours}:00:01.000\nx\n")
    assert "line 3" in msg and "too large" in msg
    assert hours[:100] not in msg  # quoted shortened


def test_timestamp_past_exact_float_milliseconds() -> None:
    limit_hours = 2**53 // 3_600_000  # the last whole hour below 2**53 ms
    ok = vtt.parse_vtt(f"WEBVTT\n\n{limit_hours}:00:00.000 --> {limit_hours}:00:00.001\nx\n")
    assert ok[0].start == limit_hours * 3600.0
    assert ok[0].end - ok[0].start == pytest.approx(0.001, abs=1e-3)
    msg = _error(f"WEBVTT\n\n00:00.000 --> {limit_hours + 1}:00:00.000\nx\n")
    assert "line 3" in msg and "2**53" in msg


def test_leading_zeros_in_hours_are_only_zeros() -> None:
    cues = vtt.parse_vtt(f"WEBVTT\n\n{'0' * 5000}1:00:00.000 --> 01:00:01.000\nx\n")
    assert (cues[0].start, cues[0].end) == (3600.0, 3601.0)


@pytest.mark.parametrize("stamp", ["٠٠:٠١.٠٠٠", "００:０１.０００", "00:0１.000"])
def test_non_ascii_digits_are_not_timestamps(stamp: str) -> None:
    # the W3C algorithm collects ASCII digits only (str.isdigit would take these)
    msg = _error(f"WEBVTT\n\n{stamp} --> 00:00:02.000\nx\n")
    assert "line 3" in msg and "bad timestamp" in msg


@pytest.mark.parametrize(
    "numbers",
    [
        "0,0,160," + "9" * 5000,  # past the int-string limit
        f"0,0,{2**63},90",  # past int64: an OverflowError in numpy
        f"{2**64},0,160,90",
        f"0,{2**31},160,90",  # past any image
    ],
)
def test_huge_xywh_values(numbers: str) -> None:
    msg = _error(_storyboard_with(f"sprite-0.jpg#xywh={numbers}"), vtt.storyboard_table)
    assert "line 6" in msg and "2,147,483,647 pixels" in msg
    assert "9" * 100 not in msg


def test_largest_xywh_values_and_leading_zeros() -> None:
    big = 2**31 - 1
    df = vtt.storyboard_table(_storyboard_with(f"s.jpg#xywh={big},{'0' * 5000}7,{big},1"))
    assert df.iloc[1][["x", "y", "w", "h"]].tolist() == [big, 7, big, 1]


@pytest.mark.parametrize("digits", ["٠,0,160,90", "0,0,１６０,90"])
def test_non_ascii_digits_are_not_pixels(digits: str) -> None:
    msg = _error(_storyboard_with(f"sprite-0.jpg#xywh={digits}"), vtt.storyboard_table)
    assert "line 6" in msg and "bad tile" in msg


@pytest.mark.parametrize("func", [vtt.parse_vtt, vtt.cues_table, vtt.storyboard_table])
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nsp\udcffrite.jpg#xywh=0,0,1,1\n", 4),
        ("WEBVTT\r\n\r\n00:01.000 --> 00:02.000 \ud800\r\nx\r\n", 3),
        ("WEBVTT\r\rNOTE \udfff\r", 3),
        ("\ud83d", 1),
    ],
)
def test_lone_surrogates_are_our_error(func, text: str, line: int) -> None:
    # a str that went through errors="surrogateescape": not text; never UnicodeEncodeError
    msg = _error(text, func)
    assert f"line {line}:" in msg and "lone surrogate" in msg


def test_lone_surrogate_in_base_uri() -> None:
    with pytest.raises(InvalidArgument, match="surrogate"):
        vtt.storyboard_table(STORYBOARD, "https://app.heapstream.com/sbt/1/2/\udc80")
    with pytest.raises(InvalidArgument, match="not a URL"):
        vtt.storyboard_table(STORYBOARD, "https://[app.heapstream.com/sbt/1/2/")


def test_messages_never_quote_a_signed_query() -> None:
    cases = [
        (vtt.storyboard_table, _storyboard_with(f"s.jpg?token={SPRITE_TOKEN}#xywh=0,0,1")),
        (vtt.storyboard_table, _storyboard_with(f"s.jpg?token={SPRITE_TOKEN}")),
        (vtt.storyboard_table, _storyboard_with(f"s.jpg?token={SPRITE_TOKEN}#xywh=0,0,0,9")),
        (vtt.parse_vtt, f"WEBVTT\n\nx?token={SPRITE_TOKEN}\nno timing\n"),
        (vtt.parse_vtt, f"WEBVTT\n\n00:01.000 --> 00:02.000?token={SPRITE_TOKEN}\n"),
        (vtt.parse_vtt, f"WEBVTT\n\nx?token={SPRITE_TOKEN} --> 00:02.000\n"),
        (vtt.parse_vtt, f"https://h/x?token={SPRITE_TOKEN}\n"),
    ]
    for func, text in cases:
        msg = _error(text, func)
        assert "?…" in msg and "token=" not in msg, msg
        assert SPRITE_TOKEN[:12] not in msg, msg
