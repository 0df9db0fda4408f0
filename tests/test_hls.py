"""Tests for hs_notebook.hls: real-world-shaped playlist text in, DataFrames out."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urljoin

import m3u8
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hs_notebook import hls
from hs_notebook.errors import HeapStreamError, InvalidArgument, PlaylistError
from hs_notebook.hls import _arrays as hls_arrays
from hs_notebook.hls import _text as hls_text

# An Apple-style multivariant playlist: two audio groups (AAC stereo EN/ES and E-AC-3
# 5.1 / Atmos), subtitles, CEA-608 closed captions, AVC SDR and HEVC PQ variants, an
# audio-only variant, I-frame streams.
APPLE_MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS

#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac-stereo",LANGUAGE="en",NAME="English",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/en/aac/prog_index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac-stereo",LANGUAGE="es",NAME="Español",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio/es/aac/prog_index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="ec3-51",LANGUAGE="en",NAME="English 5.1",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="6",URI="audio/en/ec3/prog_index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="ec3-51",LANGUAGE="es",NAME="Español Atmos",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="16/JOC",URI="audio/es/atmos/prog_index.m3u8"

#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="en",NAME="English",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,URI="subs/en/prog_index.m3u8"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="fr",NAME="Français (forcé)",DEFAULT=NO,AUTOSELECT=YES,FORCED=YES,CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog",URI="subs/fr-forced/prog_index.m3u8"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",LANGUAGE="en",NAME="English CC",DEFAULT=YES,AUTOSELECT=YES,INSTREAM-ID="CC1"

# a comment line, which players ignore
#EXT-X-STREAM-INF:BANDWIDTH=2483789,AVERAGE-BANDWIDTH=1762745,CODECS="avc1.640020,mp4a.40.2",RESOLUTION=960x540,FRAME-RATE=29.970,HDCP-LEVEL=NONE,AUDIO="aac-stereo",SUBTITLES="subs",CLOSED-CAPTIONS="cc"
v5/prog_index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=7865325,AVERAGE-BANDWIDTH=6214220,CODECS="hvc1.2.4.L123.B0,ec-3",RESOLUTION=1920x1080,FRAME-RATE=23.976,VIDEO-RANGE=PQ,HDCP-LEVEL=TYPE-1,AUDIO="ec3-51",SUBTITLES="subs",CLOSED-CAPTIONS=NONE
h8/prog_index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1200000,CODECS="avc1.4d401f,mp4a.40.2",RESOLUTION=640x360,AUDIO="aac-stereo"
v2/prog_index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.5"
a1/prog_index.m3u8

#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=186522,AVERAGE-BANDWIDTH=75312,CODECS="avc1.640020",RESOLUTION=960x540,HDCP-LEVEL=NONE,URI="v5/iframe_index.m3u8"
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=581310,CODECS="hvc1.2.4.L123.B0",RESOLUTION=1920x1080,VIDEO-RANGE=PQ,HDCP-LEVEL=TYPE-1,URI="h8/iframe_index.m3u8"
"""  # noqa: E501
APPLE_BASE = "https://example.com/streams/movie/master.m3u8"

# A HeapStream-shaped master: absolute signed URIs, root-relative, dot-relative, a proxy
# path prefix before /mpl/, and one URI that is not a preset playlist at all.
HS_MASTER = """#EXTM3U
#EXT-X-VERSION:4
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subtitles",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,URI="https://app.heapstream.com/mplt/12/tt9/?token=x"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subtitles",NAME="Deutsch",LANGUAGE="de",URI="../../../mplt/12/tt10/?token=x"
#EXT-X-STREAM-INF:BANDWIDTH=5500000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",SUBTITLES="subtitles"
https://app.heapstream.com/mpl/12/abc/?token=x
#EXT-X-STREAM-INF:BANDWIDTH=2800000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",SUBTITLES="subtitles"
/mpl/12/def/?token=x
#EXT-X-STREAM-INF:BANDWIDTH=1400000,RESOLUTION=854x480,CODECS="avc1.4d401e,mp4a.40.2",SUBTITLES="subtitles"
../../../mpl/12/ghi/?token=x
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.42c01e,mp4a.40.2",SUBTITLES="subtitles"
https://cdn.example.net/edge/hs/mpl/12/jkl/?token=x
#EXT-X-STREAM-INF:BANDWIDTH=400000,RESOLUTION=426x240,CODECS="avc1.42c015,mp4a.40.2"
lowres/index.m3u8
"""
HS_BASE = "https://app.heapstream.com/mmpl/12/vid42/?token=T"

# fMP4 VOD with byte ranges (explicit and implicit offsets) and an ad break after a
# discontinuity with its own initialization section.
FMP4_MEDIA = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="main.mp4",BYTERANGE="720@0"
#EXTINF:6.006,
#EXT-X-BYTERANGE:1000000@720
main.mp4
#EXTINF:6.006,
#EXT-X-BYTERANGE:1200000
main.mp4
#EXT-X-BYTERANGE:900000
#EXTINF:5.005,
main.mp4
#EXT-X-DISCONTINUITY
#EXT-X-MAP:URI="ad/init.mp4"
#EXTINF:4.0,Ad break
ad/seg1.m4s
#EXTINF:4.0,
ad/seg2.m4s
#EXT-X-ENDLIST
"""

# A live-style MPEG-TS playlist with AES-128, a key change to NONE, program date time
# and a discontinuity; served with CRLF line ends and a UTF-8 BOM.
LIVE_MEDIA = "\ufeff" + "\r\n".join(
    [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        "#EXT-X-TARGETDURATION:10",
        "#EXT-X-MEDIA-SEQUENCE:2680",
        "#EXT-X-DISCONTINUITY-SEQUENCE:3",
        '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/k1?kid=1",'
        "IV=0x9c7db8778570d05c3177c349fd9236aa",
        "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:00:00.000Z",
        "#EXTINF:9.009,",
        "fileSequence2680.ts",
        "#EXTINF:9.009,",
        "fileSequence2681.ts",
        "#EXT-X-KEY:METHOD=NONE",
        "#EXT-X-DISCONTINUITY",
        "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T13:00:00.000+02:00",
        "#EXTINF:10,",
        "fileSequence2682.ts",
        "",
    ]
)
LIVE_BASE = "https://live.example.com/chan/1/index.m3u8?sig=abc"


# ------------------------------------------------------------------------ master tables


def test_renditions_table_apple_master() -> None:
    df = hls.renditions_table(APPLE_MASTER, APPLE_BASE)
    assert list(df.columns) == list(hls.COLUMNS["renditions"])
    assert df["order"].tolist() == [0, 1, 2, 3]
    assert df["bandwidth"].tolist() == [2483789, 7865325, 1200000, 64000]
    assert str(df["bandwidth"].dtype) == "Int64"
    assert df["average_bandwidth"].tolist()[:2] == [1762745, 6214220]
    assert df["average_bandwidth"].isna().tolist() == [False, False, True, True]
    assert df["width"].tolist()[:3] == [960, 1920, 640]
    assert df["height"].tolist()[:3] == [540, 1080, 360]
    assert pd.isna(df["width"][3]) and str(df["width"].dtype) == "Int64"
    assert df["frame_rate"].tolist()[:2] == pytest.approx([29.97, 23.976])
    assert df["frame_rate"].isna().tolist() == [False, False, True, True]
    assert df["video_codec"].tolist()[:3] == ["avc1.640020", "hvc1.2.4.L123.B0", "avc1.4d401f"]
    assert pd.isna(df["video_codec"][3])
    assert df["audio_codec"].tolist() == ["mp4a.40.2", "ec-3", "mp4a.40.2", "mp4a.40.5"]
    assert df["video_range"][1] == "PQ" and pd.isna(df["video_range"][0])
    assert df["hdcp_level"].tolist()[:2] == ["NONE", "TYPE-1"]
    assert df["audio_group"].tolist()[:3] == ["aac-stereo", "ec3-51", "aac-stereo"]
    assert df["subtitles_group"][0] == "subs" and pd.isna(df["subtitles_group"][2])
    # quoted group id unquoted; the NONE enumerated value kept; absent is <NA>
    assert df["closed_captions"][0] == "cc"
    assert df["closed_captions"][1] == "NONE"
    assert pd.isna(df["closed_captions"][2])
    assert df["uri"][0] == "https://example.com/streams/movie/v5/prog_index.m3u8"
    assert df["preset_id"].isna().all()


def test_renditions_table_without_base_keeps_relative_uris() -> None:
    df = hls.renditions_table(APPLE_MASTER)
    assert df["uri"].tolist() == [
        "v5/prog_index.m3u8",
        "h8/prog_index.m3u8",
        "v2/prog_index.m3u8",
        "a1/prog_index.m3u8",
    ]


def test_renditions_table_heapstream_preset_ids_and_uris() -> None:
    df = hls.renditions_table(HS_MASTER, HS_BASE)
    assert df["preset_id"].tolist()[:4] == ["abc", "def", "ghi", "jkl"]
    assert pd.isna(df["preset_id"][4])
    assert df["uri"].tolist() == [
        "https://app.heapstream.com/mpl/12/abc/?token=x",
        "https://app.heapstream.com/mpl/12/def/?token=x",
        "https://app.heapstream.com/mpl/12/ghi/?token=x",
        "https://cdn.example.net/edge/hs/mpl/12/jkl/?token=x",
        "https://app.heapstream.com/mmpl/12/vid42/lowres/index.m3u8",
    ]


def test_heapstream_master_behind_a_proxy_path_prefix() -> None:
    base = "http://127.0.0.1:8888/proxy/9000/mmpl/12/vid42/?token=T"
    df = hls.renditions_table(HS_MASTER, base)
    # dot-relative URIs keep the proxy prefix, root-relative ones go to the host root
    assert df["uri"][2] == "http://127.0.0.1:8888/proxy/9000/mpl/12/ghi/?token=x"
    assert df["uri"][1] == "http://127.0.0.1:8888/mpl/12/def/?token=x"
    assert df["uri"][4] == "http://127.0.0.1:8888/proxy/9000/mmpl/12/vid42/lowres/index.m3u8"
    assert df["preset_id"].tolist()[:4] == ["abc", "def", "ghi", "jkl"]
    tracks = hls.text_tracks_table(HS_MASTER, base)
    assert tracks["uri"][1] == "http://127.0.0.1:8888/proxy/9000/mplt/12/tt10/?token=x"
    assert tracks["text_track_id"][1] == "tt10"


def test_preset_ids_found_without_base_uri() -> None:
    df = hls.renditions_table(HS_MASTER)
    assert df["preset_id"].tolist()[:4] == ["abc", "def", "ghi", "jkl"]
    assert df["uri"][1] == "/mpl/12/def/?token=x"


def test_text_tracks_table() -> None:
    df = hls.text_tracks_table(APPLE_MASTER, APPLE_BASE)
    assert list(df.columns) == list(hls.COLUMNS["text_tracks"])
    assert df["type"].tolist() == ["SUBTITLES", "SUBTITLES", "CLOSED-CAPTIONS"]
    assert df["language"].tolist() == ["en", "fr", "en"]
    assert df["name"][1] == "Français (forcé)"
    assert df["default"].tolist() == [True, False, True]
    assert df["autoselect"].tolist() == [True, True, True]
    assert df["forced"].tolist() == [False, True, False]
    assert df["default"].dtype == bool
    assert df["instream_id"][2] == "CC1" and pd.isna(df["instream_id"][0])
    assert df["characteristics"][1] == "public.accessibility.transcribes-spoken-dialog"
    assert df["uri"][0] == "https://example.com/streams/movie/subs/en/prog_index.m3u8"
    assert pd.isna(df["uri"][2])
    assert df["text_track_id"].isna().all()


def test_text_tracks_heapstream_ids() -> None:
    df = hls.text_tracks_table(HS_MASTER, HS_BASE)
    assert df["text_track_id"].tolist() == ["tt9", "tt10"]
    assert df["uri"][1] == "https://app.heapstream.com/mplt/12/tt10/?token=x"
    assert df["default"].tolist() == [False, False]


def test_audio_table() -> None:
    df = hls.audio_table(APPLE_MASTER, APPLE_BASE)
    assert list(df.columns) == list(hls.COLUMNS["audio"])
    assert df["group_id"].tolist() == ["aac-stereo", "aac-stereo", "ec3-51", "ec3-51"]
    assert df["language"].tolist() == ["en", "es", "en", "es"]
    assert df["name"][1] == "Español"
    assert df["default"].tolist() == [True, False, True, False]
    assert df["channels"].tolist() == ["2", "2", "6", "16/JOC"]
    assert df["channel_count"].tolist() == [2, 2, 6, 16]
    assert df["uri"][3] == "https://example.com/streams/movie/audio/es/atmos/prog_index.m3u8"


def test_iframe_table() -> None:
    df = hls.iframe_table(APPLE_MASTER, APPLE_BASE)
    assert list(df.columns) == list(hls.COLUMNS["iframes"])
    assert df["bandwidth"].tolist() == [186522, 581310]
    assert df["average_bandwidth"][0] == 75312 and pd.isna(df["average_bandwidth"][1])
    assert df["width"].tolist() == [960, 1920]
    assert df["height"].tolist() == [540, 1080]
    assert df["video_codec"].tolist() == ["avc1.640020", "hvc1.2.4.L123.B0"]
    assert df["video_range"][1] == "PQ"
    assert df["hdcp_level"].tolist() == ["NONE", "TYPE-1"]
    assert df["uri"][1] == "https://example.com/streams/movie/h8/iframe_index.m3u8"


def test_tables_of_a_master_without_media_or_iframes_are_empty_but_typed() -> None:
    for table in (hls.audio_table, hls.iframe_table, hls.text_tracks_table):
        df = table(HS_MASTER.replace("SUBTITLES", "X-NOT-SUBS"))
        assert len(df) == 0
    df = hls.iframe_table(HS_MASTER)
    assert str(df["bandwidth"].dtype) == "Int64"


def test_master_playlist_info() -> None:
    info = hls.master_playlist_info(APPLE_MASTER)
    assert info.version == 7
    assert info.independent_segments is True
    assert (info.variant_count, info.iframe_count) == (4, 2)
    assert (info.audio_count, info.subtitles_count, info.closed_captions_count) == (4, 2, 1)
    assert info.tags == frozenset(
        {
            "EXTM3U",
            "EXT-X-VERSION",
            "EXT-X-INDEPENDENT-SEGMENTS",
            "EXT-X-MEDIA",
            "EXT-X-STREAM-INF",
            "EXT-X-I-FRAME-STREAM-INF",
        }
    )
    with pytest.raises(AttributeError):
        info.version = 3  # type: ignore[misc]


def test_parse_master_returns_the_m3u8_model_with_absolute_uris() -> None:
    playlist = hls.parse_master(HS_MASTER, HS_BASE)
    assert isinstance(playlist, m3u8.M3U8)
    assert playlist.is_variant
    assert playlist.playlists[4].absolute_uri == (
        "https://app.heapstream.com/mmpl/12/vid42/lowres/index.m3u8"
    )


def test_bytes_crlf_and_bom_master() -> None:
    text = "\ufeff" + APPLE_MASTER.replace("\n", "\r\n")
    assert hls.renditions_table(text).equals(hls.renditions_table(APPLE_MASTER))
    raw = APPLE_MASTER.encode("utf-8")
    assert hls.audio_table(raw)["name"][1] == "Español"


# Low-latency HLS: partial segments, a preload hint, and an in-progress last segment.
LL_HLS_MEDIA = """#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:4
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.0
#EXT-X-PART-INF:PART-TARGET=1.0
#EXT-X-MEDIA-SEQUENCE:266
#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:00:00.000Z
#EXT-X-MAP:URI="init.mp4"
#EXT-X-PART:DURATION=1.0,URI="filePart266.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=1.0,URI="filePart266.1.m4s"
#EXTINF:2.0,
fileSequence266.m4s
#EXT-X-PART:DURATION=1.0,URI="filePart267.0.m4s",INDEPENDENT=YES
#EXTINF:2.0,
fileSequence267.m4s
#EXT-X-PART:DURATION=1.0,URI="filePart268.0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="filePart268.1.m4s"
#EXT-X-RENDITION-REPORT:URI="../1M/index.m3u8",LAST-MSN=268,LAST-PART=0
"""


# ------------------------------------------------------------------------- media tables


def test_ll_hls_complete_segments_only_and_dates_not_advanced_by_parts() -> None:
    df = hls.segments_table(LL_HLS_MEDIA, "https://ll.example.com/2M/index.m3u8")
    assert df["uri"].tolist() == [
        "https://ll.example.com/2M/fileSequence266.m4s",
        "https://ll.example.com/2M/fileSequence267.m4s",
    ]
    assert df["program_date_time"].tolist() == [
        pd.Timestamp("2024-05-01T12:00:00Z"),
        pd.Timestamp("2024-05-01T12:00:02Z"),
    ]
    info = hls.media_playlist_info(LL_HLS_MEDIA)
    assert info.segment_count == 2 and info.total_duration == 4.0
    assert {"EXT-X-PART", "EXT-X-PRELOAD-HINT", "EXT-X-SERVER-CONTROL"} <= info.tags


def test_segments_table_fmp4_byteranges_and_discontinuity() -> None:
    base = "https://cdn.example.com/vod/movie/720p.m3u8?token=abc"
    df = hls.segments_table(FMP4_MEDIA, base)
    assert list(df.columns) == list(hls.COLUMNS["segments"])
    assert df["index"].tolist() == [0, 1, 2, 3, 4]
    assert df["media_sequence"].tolist() == [100, 101, 102, 103, 104]
    assert df["duration"].tolist() == [6.006, 6.006, 5.005, 4.0, 4.0]
    assert df["start"].tolist() == pytest.approx([0.0, 6.006, 12.012, 17.017, 21.017])
    assert df["byterange_length"].tolist()[:3] == [1000000, 1200000, 900000]
    # implicit offsets follow the previous sub-range of the same resource
    assert df["byterange_offset"].tolist()[:3] == [720, 1000720, 2200720]
    assert df["byterange_offset"].isna().tolist() == [False, False, False, True, True]
    assert df["discontinuity"].tolist() == [False, False, False, True, False]
    assert df["init_uri"].tolist() == [
        "https://cdn.example.com/vod/movie/main.mp4",
        "https://cdn.example.com/vod/movie/main.mp4",
        "https://cdn.example.com/vod/movie/main.mp4",
        "https://cdn.example.com/vod/movie/ad/init.mp4",
        "https://cdn.example.com/vod/movie/ad/init.mp4",
    ]
    assert df["uri"][3] == "https://cdn.example.com/vod/movie/ad/seg1.m4s"
    assert df["title"][3] == "Ad break" and pd.isna(df["title"][4])
    assert df["key_method"].isna().all()
    assert df["program_date_time"].isna().all()
    assert df.attrs["target_duration"] == 6
    assert df.attrs["playlist_type"] == "VOD"
    assert df.attrs["endlist"] is True
    assert df.attrs["version"] == 7
    assert df.attrs["media_sequence"] == 100
    assert df.attrs["discontinuity_sequence"] == 0
    assert df.attrs["independent_segments"] is True
    assert df.attrs["total_duration"] == pytest.approx(25.017)


def test_segments_table_live_aes_pdt_crlf_bom() -> None:
    df = hls.segments_table(LIVE_MEDIA, LIVE_BASE)
    assert df["uri"].tolist() == [
        f"https://live.example.com/chan/1/fileSequence{n}.ts" for n in (2680, 2681, 2682)
    ]
    assert df["media_sequence"].tolist() == [2680, 2681, 2682]
    assert df["key_method"].tolist() == ["AES-128", "AES-128", "NONE"]
    assert df["key_uri"].tolist()[:2] == ["https://keys.example.com/k1?kid=1"] * 2
    assert pd.isna(df["key_uri"][2])
    assert df["discontinuity"].tolist() == [False, False, True]
    assert df["program_date_time"].tolist() == [
        pd.Timestamp("2024-05-01T12:00:00Z"),
        pd.Timestamp("2024-05-01T12:00:09.009Z"),
        pd.Timestamp(datetime(2024, 5, 1, 11, 0, tzinfo=UTC)),
    ]
    assert str(df["program_date_time"].dt.tz) == "UTC"
    assert df.attrs["endlist"] is False
    assert df.attrs["playlist_type"] is None
    assert df.attrs["discontinuity_sequence"] == 3


def test_media_playlist_info_matches_attrs() -> None:
    info = hls.media_playlist_info(FMP4_MEDIA)
    df = hls.segments_table(FMP4_MEDIA)
    assert info.target_duration == 6
    assert info.segment_count == 5
    assert info.total_duration == pytest.approx(25.017)
    assert "EXT-X-BYTERANGE" in info.tags and "EXT-X-MAP" in info.tags
    assert "EXT-X-KEY" not in info.tags
    for field in ("target_duration", "playlist_type", "endlist", "version", "media_sequence"):
        assert df.attrs[field] == getattr(info, field)
    assert df.attrs["tags"] == info.tags


def test_segments_without_base_stay_relative_and_parse_media_model() -> None:
    df = hls.segments_table(FMP4_MEDIA)
    assert df["uri"][0] == "main.mp4" and df["init_uri"][3] == "ad/init.mp4"
    playlist = hls.parse_media(LIVE_MEDIA, LIVE_BASE)
    assert isinstance(playlist, m3u8.M3U8)
    assert playlist.segments[0].absolute_uri == (
        "https://live.example.com/chan/1/fileSequence2680.ts"
    )


def test_empty_live_media_playlist_gives_a_typed_empty_table() -> None:
    df = hls.segments_table("#EXTM3U\n#EXT-X-TARGETDURATION:4\n")
    assert len(df) == 0
    assert list(df.columns) == list(hls.COLUMNS["segments"])
    assert str(df["byterange_length"].dtype) == "Int64"
    assert df.attrs["total_duration"] == 0.0


def test_fast_uri_resolution_agrees_with_urljoin() -> None:
    bases = [
        "https://h.example/a/b/?t=1",
        "https://h.example",
        "https://h.example/a/b;p?q#f",
        "http://127.0.0.1:8/proxy/9/mmpl/1/v/?token=x",
    ]
    refs = [
        "x.ts",
        "a//b.ts",
        "a/b/c.ts?x=1#f",
        "sub/./x.ts",
        "../x.ts",
        "/x.ts",
        "?q=2",
        "#f",
        "//cdn.example/x.ts",
        "skd://key",
        "https://o.example/x",
        "https://o.example/a/../x",
        "seg:1.ts",
        ".hidden",
        "x y.ts",
        "../seg/seg-1.m4s",
        "../../../mpl/12/ghi/?token=x",
        "sub/seg.ts?next=/a/../b#frag",
        "a/seg:1.ts",
        "https://o.example",
        "//cdn.example",
        "https://o.example/a//b/./c.ts?x=1",
        "./",
        "..",
        "a/..",
        "",
    ]
    for base in bases:
        resolve = hls_arrays.resolver(base)
        for ref in refs * 2:  # twice: the second time through the caches
            assert resolve(ref) == urljoin(base, ref), (base, ref)


def test_codec_split() -> None:
    assert hls_arrays.split_codecs("dvh1.05.06,ec-3,fLaC") == ("dvh1.05.06", "ec-3,fLaC")
    assert hls_arrays.split_codecs("av01.0.08M.08,Opus,wvtt") == ("av01.0.08M.08", "Opus")
    assert hls_arrays.split_codecs(None) == (None, None)


def test_column_docs_are_in_the_docstrings() -> None:
    for func, table in [
        (hls.renditions_table, "renditions"),
        (hls.segments_table, "segments"),
        (hls.iframe_table, "iframes"),
    ]:
        for column in hls.COLUMNS[table]:
            assert f"``{column}``" in (func.__doc__ or "")


# ----------------------------------------------------------------------- malformed input


def _error(func, text: str, *args: object) -> str:
    with pytest.raises(PlaylistError) as info:
        func(text, *args)
    assert isinstance(info.value, HeapStreamError)
    return str(info.value)


@pytest.mark.parametrize("text", ["", "   \n\r\n", "\ufeff"])
def test_empty_text(text: str) -> None:
    assert "empty" in _error(hls.renditions_table, text)
    assert "empty" in _error(hls.segments_table, text)


def test_missing_extm3u() -> None:
    msg = _error(hls.segments_table, "#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n")
    assert "line 1" in msg and "#EXTM3U" in msg
    msg = _error(hls.renditions_table, "<!DOCTYPE html><html>403</html>")
    assert "#EXTM3U" in msg and "HTML" in msg
    msg = _error(hls.renditions_table, '{"error": "token_rejected", "reason": "expired"}')
    assert "JSON" in msg
    msg = _error(hls.segments_table, "WEBVTT\n\n00:00.000 --> 00:01.000\nhi\n")
    assert "WebVTT" in msg


def test_media_where_master_expected_and_reverse() -> None:
    msg = _error(hls.renditions_table, FMP4_MEDIA)
    assert msg == (
        "this is a media playlist (it has #EXTINF segments), not a master playlist; "
        "pass it to segments_table"
    )
    for func in (hls.text_tracks_table, hls.audio_table, hls.iframe_table, hls.parse_master):
        assert "pass it to segments_table" in _error(func, LIVE_MEDIA)
    msg = _error(hls.segments_table, APPLE_MASTER)
    assert "this is a master playlist" in msg and "renditions_table" in msg
    assert "this is a master playlist" in _error(hls.media_playlist_info, HS_MASTER)


def test_mixed_or_neither_kind() -> None:
    mixed = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n#EXTINF:4,\na.ts\n"
    assert "forbids mixing" in _error(hls.renditions_table, mixed)
    assert "no #EXT-X-STREAM-INF" in _error(hls.renditions_table, "#EXTM3U\n#EXT-X-VERSION:3\n")
    assert "no #EXTINF" in _error(hls.segments_table, "#EXTM3U\n#EXT-X-VERSION:3\n")


def test_stream_inf_not_followed_by_uri() -> None:
    text = (
        "#EXTM3U\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=1000000\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2000000\n"
        "v2.m3u8\n"
    )
    msg = _error(hls.renditions_table, text)
    assert "line 2" in msg and "not followed by a URI" in msg and "line 3" in msg
    msg = _error(hls.renditions_table, "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000000\n")
    assert "line 2" in msg and "end of text" in msg


def test_uri_line_without_tag() -> None:
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:6\nstray.ts\n#EXTINF:6,\na.ts\n"
    msg = _error(hls.segments_table, text)
    assert "line 3" in msg and "stray.ts" in msg


def test_extinf_without_uri() -> None:
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n#EXTINF:6,\nb.ts\n"
    msg = _error(hls.segments_table, text)
    assert "line 3" in msg and "#EXTINF is not followed by a URI" in msg
    msg = _error(hls.segments_table, "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n")
    assert "end of text" in msg


def test_extinf_non_numeric_duration() -> None:
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n#EXTINF:six,\nb.ts\n"
    msg = _error(hls.segments_table, text)
    assert "line 5" in msg and "'six'" in msg and "not a number" in msg
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n#EXTINF:nan,\nb.ts\n"
    msg = _error(hls.segments_table, text)
    assert "line 5" in msg and "segment 1" in msg and "finite" in msg
    assert "line 5" in _error(hls.media_playlist_info, text.replace("nan", "x"))


def test_non_integer_target_duration() -> None:
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:6.5\n#EXTINF:6,\na.ts\n"
    msg = _error(hls.segments_table, text)
    assert "line 2" in msg and "#EXT-X-TARGETDURATION" in msg and "'6.5'" in msg
    assert "whole number" in msg


def test_bad_program_date_time_and_version() -> None:
    text = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n#EXTINF:6,\na.ts\n"
    )
    assert "line 3" in (msg := _error(hls.segments_table, text)) and "ISO 8601" in msg
    text = "#EXTM3U\n#EXT-X-VERSION:seven\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n"
    assert "line 2" in (msg := _error(hls.renditions_table, text)) and "integer" in msg
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-START:TIME-OFFSET=soon\n#EXTINF:6,\na.ts\n"
    msg = _error(hls.segments_table, text)
    assert "line 3: could not parse #EXT-X-START (ValueError" in msg


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('#EXT-X-STREAM-INF:BANDWIDTH=1280000,CODECS="avc1.4d401f', "unbalanced quote"),
        ("#EXT-X-STREAM-INF:BANDWIDTH=1280000,,RESOLUTION=1x1", "stray ',,'"),
        ("#EXT-X-STREAM-INF:BANDWIDTH=1280000,garbage", "'garbage' is not NAME=VALUE"),
        ("#EXT-X-STREAM-INF:BANDWIDTH=fast", "BANDWIDTH=fast is not an integer of bits/s"),
        ("#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=1280", "RESOLUTION=1280 is not <width>x"),
        ("#EXT-X-STREAM-INF:BANDWIDTH=1,FRAME-RATE=fast", "FRAME-RATE=fast is not a decimal"),
        ("#EXT-X-STREAM-INF:RESOLUTION=640x360", "missing its required BANDWIDTH"),
    ],
)
def test_unparseable_stream_inf(line: str, expected: str) -> None:
    text = f"#EXTM3U\n#EXT-X-VERSION:3\n{line}\nv.m3u8\n"
    with pytest.raises(PlaylistError) as info:
        hls.renditions_table(text)
    assert "line 3" in str(info.value) and expected in str(info.value)
    # m3u8's own exception is chained for debugging, never leaked bare
    assert type(info.value) is PlaylistError


def test_unparseable_media_and_key_attribute_lists() -> None:
    master = "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,garbage\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n"
    assert "line 2" in (msg := _error(hls.audio_table, master)) and "#EXT-X-MEDIA" in msg
    iframe = (
        "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=9\n"
    )
    assert "line 4" in (msg := _error(hls.iframe_table, iframe)) and "URI" in msg
    media = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-KEY:METHOD\n#EXTINF:6,\na.ts\n"
    assert "line 3" in (msg := _error(hls.segments_table, media)) and "#EXT-X-KEY" in msg


def test_bad_byteranges() -> None:
    head = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n"
    text = head + "#EXTINF:6,\n#EXT-X-BYTERANGE:lots@0\na.mp4\n"
    msg = _error(hls.segments_table, text)
    assert "line 4" in msg and "'lots@0'" in msg
    # an implicit offset needs a previous sub-range of the same resource
    text = head + "#EXTINF:6,\n#EXT-X-BYTERANGE:100\na.mp4\n"
    assert "omits its offset" in _error(hls.segments_table, text)
    text = head + "#EXTINF:6,\n#EXT-X-BYTERANGE:100@0\na.mp4\n#EXTINF:6,\n"
    text += "#EXT-X-BYTERANGE:100\nb.mp4\n"
    msg = _error(hls.segments_table, text)
    assert "line 7" in msg and "b.mp4" in msg and "omits its offset" in msg


def test_wrong_argument_types() -> None:
    with pytest.raises(InvalidArgument):
        hls.renditions_table(12345)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        hls.segments_table(FMP4_MEDIA, base_uri=42)  # type: ignore[arg-type]
    with pytest.raises(PlaylistError, match="not UTF-8"):
        hls.segments_table(b"#EXTM3U\n#EXTINF:6,\n\xff\xfe.ts\n")


# ------------------------------------------------------------- integers, surrogates

BIG = str(2**63)  # one more than int64 holds


@pytest.mark.parametrize(
    ("func", "text", "expected"),
    [
        ("renditions_table", f"#EXT-X-STREAM-INF:BANDWIDTH={BIG}\nv.m3u8", "BANDWIDTH="),
        (
            "renditions_table",
            f"#EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH={BIG}\nv.m3u8",
            "AVERAGE-BANDWIDTH=",
        ),
        (
            "renditions_table",
            f"#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION={BIG}x2\nv.m3u8",
            "RESOLUTION",
        ),
        (
            "iframe_table",
            f'#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={BIG},URI="i.m3u8"',
            "BANDWIDTH=",
        ),
        (
            "audio_table",
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",CHANNELS="{BIG}/JOC"\n'
            "#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8",
            "CHANNELS=",
        ),
        (
            "segments_table",
            f"#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:{BIG}\n#EXTINF:6,\na.ts",
            "#EXT-X-MEDIA-SEQUENCE",
        ),
        (
            "segments_table",
            f"#EXT-X-TARGETDURATION:6\n#EXT-X-BYTERANGE:{BIG}@0\n#EXTINF:6,\na.ts",
            "#EXT-X-BYTERANGE",
        ),
    ],
)
def test_integers_beyond_int64_are_refused_when_parsed(func: str, text: str, expected: str) -> None:
    with pytest.raises(PlaylistError) as info:
        getattr(hls, func)(f"#EXTM3U\n{text}\n")
    assert expected in str(info.value) and "too large" in str(info.value)


def test_the_last_media_sequence_number_must_fit_int64() -> None:
    top = 2**63 - 1
    one = f"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:{top}\n#EXTINF:6,\na.ts\n"
    assert hls.segments_table(one)["media_sequence"].tolist() == [top]
    with pytest.raises(PlaylistError, match="runs past"):
        hls.segments_table(one + "#EXTINF:6,\nb.ts\n")


def test_lone_surrogates_are_refused_with_their_line() -> None:
    text = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\nseg\udcff.ts\n"
    for func in (hls.segments_table, hls.media_playlist_info):
        with pytest.raises(PlaylistError, match=r"line 4: .*U\+DCFF, a lone surrogate"):
            func(text)
    with pytest.raises(PlaylistError, match="line 3"):
        hls.renditions_table("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv\ud800.m3u8\n")


# ------------------------------------------------- attribute lists accepted in one match
# Big masters are checked line by line: a pattern accepts the plain attribute list of each
# line in one match, and only the others go through the item-by-item check that words the
# problem.  The pattern must never accept a list that check refuses.

_ATTRIBUTE_NAMES = [
    "BANDWIDTH", "bandwidth", "AVERAGE-BANDWIDTH", "Average-Bandwidth", "RESOLUTION",
    "resolution", "CHANNELS", "channels", "CODECS", "URI", "X-A", "BANDWIDTHX", "",
    " BANDWIDTH", "BANDWIDTH ", "bandwıdth", "TYPE",
]  # fmt: skip
_ATTRIBUTE_VALUES = st.one_of(
    st.text(alphabet="0123456789x/\"', =.-aAZ \t²٣", max_size=24),
    st.integers(min_value=0, max_value=10**22).map(str),
    st.tuples(st.integers(0, 10**20), st.integers(0, 10**20)).map(lambda p: f"{p[0]}x{p[1]}"),
    st.tuples(st.integers(0, 10**20), st.text(alphabet="JOC/0-9", max_size=6)).map(
        lambda p: f'"{p[0]}{p[1]}"'
    ),
)
_ATTRIBUTE_ITEMS = st.one_of(
    st.tuples(st.sampled_from(_ATTRIBUTE_NAMES), _ATTRIBUTE_VALUES).map("=".join),
    st.text(alphabet="AB=,\"' 1x", max_size=8),
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    tag=st.sampled_from(
        ["EXT-X-STREAM-INF", "EXT-X-I-FRAME-STREAM-INF", "EXT-X-MEDIA", "EXT-X-KEY"]
    ),
    items=st.lists(_ATTRIBUTE_ITEMS, min_size=1, max_size=5),
    separator=st.sampled_from([",", ",", ", ", ",,"]),
)
def test_one_match_accepts_only_attribute_lists_the_full_check_accepts(
    tag: str, items: list[str], separator: str
) -> None:
    value = separator.join(items)
    if hls_text._SURE_LISTS[tag].fullmatch(value):
        assert hls_text.attribute_list_problem(tag, value, 1) is None, value


def test_one_match_accepts_plain_lists_and_the_full_check_still_words_the_rest() -> None:
    sure = hls_text._SURE_LISTS["EXT-X-STREAM-INF"]
    plain = (
        'BANDWIDTH=2483789,AVERAGE-BANDWIDTH=1762745,CODECS="avc1.640020,mp4a.40.2",'
        'RESOLUTION=960x540,FRAME-RATE=29.970,AUDIO="aac-stereo"'
    )
    assert sure.fullmatch(plain)
    for bad, problem in (
        ("BANDWIDTH=2560000.4", "BANDWIDTH=2560000.4 is not an integer of bits/s"),
        ("BANDWIDTH=9223372036854775808", "BANDWIDTH=9223372036854775808 is too large"),
        ('bandwidth="1"', 'bandwidth="1" is not an integer of bits/s'),
        ("RESOLUTION=640x", "RESOLUTION=640x is not <width>x<height>"),
    ):
        assert not sure.fullmatch(bad)
        text = f"#EXTM3U\n#EXT-X-STREAM-INF:{bad}\nv.m3u8\n"
        with pytest.raises(
            PlaylistError, match=re.escape(f"line 2: in #EXT-X-STREAM-INF, {problem}")
        ):
            hls.renditions_table(text)
