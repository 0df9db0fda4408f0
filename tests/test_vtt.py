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


def test_missing_blank_line_between_cues() -> None:
    text = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\none\n00:00:02.000 --> 00:00:03.000\ntwo\n"
    msg = _error(text)
    assert "line 5" in msg and "blank line" in msg


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
