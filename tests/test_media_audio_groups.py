"""Media QA of AUDIO renditions with playlists of their own (``#EXT-X-MEDIA:TYPE=AUDIO,
URI=...`` beside video-only variants, as FFmpeg's ``agroup``, Apple's layout and most
packagers write them): their segments are probed as renditions of their own
(``audio:<GROUP-ID>:<NAME>``) and their codec, CHANNELS, EXTINF, readability and
alignment are checked.

The ladders are real FFmpeg output (a few seconds of lavfi test pattern and tones, encoded
once per module), served by a static HTTP server on 127.0.0.1 and read with
``fetch_ladder_url``; the defective ones are copies with one line of the master or media
playlist changed."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import imageio_ffmpeg
import pandas as pd
import pytest
from _loopback import LoopbackServer

from hs_notebook.ladder import fetch_ladder_url, ladder_from_text
from hs_notebook.ladder.probing import AudioPlaylist, audio_playlists
from hs_notebook.qa import qa

pytestmark = pytest.mark.slow

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

#: Two video-only renditions and two AUDIO renditions (en, fr) in one group, 1 s segments.
_SOURCES = (
    *("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:duration=3"),
    *("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3"),
    *("-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000:duration=3"),
)
_LADDER = (
    *("-filter_complex", "[0:v]split=2[a][b];[b]scale=128:72[c]"),
    *("-map", "[a]", "-map", "[c]", "-map", "1:a", "-map", "2:a"),
    *("-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-keyint_min", "30"),
    *("-sc_threshold", "0", "-c:a", "aac", "-ac", "2", "-b:a", "64k"),
    *("-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"),
    *("-master_pl_name", "master.m3u8"),
    *("-var_stream_map", "v:0,agroup:aud v:1,agroup:aud a:0,agroup:aud,default:yes a:1,agroup:aud"),
)


class _Counted(http.server.SimpleHTTPRequestHandler):
    """Static files; counts the GETs per path."""

    root = "."
    hits: ClassVar[Counter[str]] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=self.root, **kwargs)

    def do_GET(self) -> None:
        self.hits[self.path.split("?")[0]] += 1
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio_groups")


@pytest.fixture(scope="module")
def served(corpus: Path) -> Iterator[tuple[str, Counter[str]]]:
    hits: Counter[str] = Counter()
    handler = type("Files", (_Counted,), {"root": str(corpus), "hits": hits})
    server = LoopbackServer(handler)
    yield server.base_url, hits
    server.close()


@pytest.fixture(scope="module")
def origin(served: tuple[str, Counter[str]]) -> str:
    return served[0]


def _ffmpeg(cwd: Path, *args: str) -> None:
    cwd.mkdir(parents=True, exist_ok=True)
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], cwd=cwd, check=True, timeout=120)


@functools.cache
def _ladder(root: Path, kind: str) -> Path:
    """The good ladder of ``kind`` (``"ts"`` or ``"fmp4"``), encoded once."""
    where = root / kind
    if kind == "ts":
        out = ("-hls_segment_filename", "s%v_%03d.ts", "v%v.m3u8")
    else:
        out = (
            *("-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init_%v.mp4"),
            *("-hls_segment_filename", "s%v_%03d.m4s", "v%v.m3u8"),
        )
    _ffmpeg(where, *_SOURCES, *_LADDER, *out)
    return where


def _copy(root: Path, name: str, edit: dict[str, tuple[str, str]]) -> str:
    """A copy of the TS ladder as ``name`` with ``{file: (old, new)}`` replaced once in
    each file (each replacement must happen); its master's path on the origin."""
    src = _ladder(root, "ts")
    where = root / name
    if not where.exists():
        shutil.copytree(src, where)
        for file, (old, new) in edit.items():
            text = (where / file).read_text()
            assert old in text, f"{old!r} not in {file}:\n{text}"
            (where / file).write_text(text.replace(old, new, 1))
    return f"{name}/master.m3u8"


def _groups(master: str) -> list[tuple[str, str, str]]:
    """``(key, URI, CHANNELS)`` of the master's AUDIO renditions, as the probe names them."""
    out = []
    for line in master.splitlines():
        if line.startswith("#EXT-X-MEDIA:") and "TYPE=AUDIO" in line:
            attrs = dict(re.findall(r'([A-Z-]+)="([^"]*)"', line))
            key = f"audio:{attrs['GROUP-ID']}:{attrs['NAME']}"
            out.append((key, attrs["URI"], attrs["CHANNELS"]))
    return out


def _qa(url: str, probe: str = "full") -> tuple[pd.DataFrame, Any]:
    """The media errors and warnings of the ladder at ``url``, and the ladder."""
    ladder = fetch_ladder_url(url)
    report = qa(ladder, depth="media", probe=probe, measure=False, progress=False)
    table = report.table
    bad = table["rule"].str.startswith("media_") & table["severity"].isin(["error", "warning"])
    return table[bad.to_numpy(dtype=bool)], ladder


def _segment_count(playlist: Path) -> int:
    return playlist.read_text().count("#EXTINF:")


# ------------------------------------------------------------------ good ladders


@pytest.mark.parametrize("kind", ["ts", "fmp4"])
def test_good_ladders_probe_their_audio_renditions_and_pass(
    corpus: Path, served: tuple[str, Counter[str]], kind: str
) -> None:
    origin, hits = served
    where = _ladder(corpus, kind)
    master = (where / "master.m3u8").read_text()
    groups = _groups(master)
    assert len(groups) == 2 and all(ch == "2" for _, _, ch in groups), master
    assert "mp4a.40.2" in master and ",AUDIO=" in master
    found, ladder = _qa(f"{origin}/{kind}/master.m3u8")
    assert found.empty, found.to_dict("records")
    media = ladder.probed
    segments = media.segment_table()
    for key, uri, _ in groups:
        rows = segments[segments["rendition"] == key]
        # full depth: every segment of the audio playlist was fetched and read as audio
        assert len(rows) == _segment_count(where / uri) >= 3
        assert (rows["status"] == "probed").all(), rows.to_dict("records")
        assert set(rows["codecs"]) == {"mp4a.40.2"}
        assert rows["width"].isna().all() and rows["keyframe_count"].isna().all()
        assert rows["duration_diff"].abs().max() < 0.05
    overview = media.variant_overview().set_index("rendition")
    audio = overview.loc[[key for key, _, _ in groups]]
    # an AUDIO rendition declares no BANDWIDTH: no diff, not an error
    assert audio["bandwidth"].isna().all() and audio["peak_diff"].isna().all()
    assert audio["average_diff"].isna().all()
    assert (audio["declared_codecs"] == "mp4a.40.2").all()
    assert (audio["average_bitrate"] > 0).all()
    videos = overview.drop(index=audio.index)
    assert len(videos) == 2 and videos["bandwidth"].notna().all()
    assert videos["peak_diff"].notna().all() and (videos["probed"] > 0).all()
    if kind == "fmp4":
        # one init segment per audio rendition, fetched once for all its segments
        for _, uri, _ in groups:
            init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', (where / uri).read_text())
            assert init is not None
            assert hits[f"/{kind}/{init[1]}"] == 1


def test_a_sample_probe_takes_three_segments_of_each_audio_rendition(
    corpus: Path, origin: str
) -> None:
    where = _ladder(corpus, "ts")
    ladder = fetch_ladder_url(f"{origin}/ts/master.m3u8")
    media = ladder.probe("sample", progress=False)
    table = media.segment_table()
    for key, uri, _ in _groups((where / "master.m3u8").read_text()):
        count = _segment_count(where / uri)
        picked = table[table["rendition"] == key]["index"].tolist()
        assert picked == [0, count // 2, count - 1]


# ------------------------------------------------------------------ defects found


def test_channels_declared_six_for_stereo_audio(corpus: Path, origin: str) -> None:
    master = (_ladder(corpus, "ts") / "master.m3u8").read_text()
    key, _, _ = _groups(master)[0]
    path = _copy(corpus, "six", {"master.m3u8": ('CHANNELS="2"', 'CHANNELS="6"')})
    found, _ = _qa(f"{origin}/{path}")
    assert list(found["rule"]) == ["media_audio_channels"], found.to_dict("records")
    row = found.iloc[0]
    assert row["subject"].startswith(f"{key}:") and row["severity"] == "error"
    assert (row["measured"], row["expected"]) == ("2", "6")
    assert key in row["message"]


@pytest.mark.parametrize("declared", ["mp4a.40.5", "ac-3"])
def test_codecs_of_the_group_that_do_not_match_its_audio(
    corpus: Path, origin: str, declared: str
) -> None:
    """Every variant of the group says HE-AAC (or AC-3) while its renditions are AAC-LC:
    media_codecs_match names each audio rendition; the video-only variants are fine."""
    src = _ladder(corpus, "ts") / "master.m3u8"
    master = src.read_text()
    where = corpus / f"codecs_{declared}"
    if not where.exists():
        shutil.copytree(src.parent, where)
        (where / "master.m3u8").write_text(master.replace("mp4a.40.2", declared))
    found, _ = _qa(f"{origin}/codecs_{declared}/master.m3u8", probe="sample")
    keys = [key for key, _, _ in _groups(master)]
    assert list(found["rule"]) == ["media_codecs_match"] * len(keys), found.to_dict("records")
    assert [s.rsplit(":", 1)[0] for s in found["subject"]] == keys
    assert set(found["measured"]) == {"mp4a.40.2"} and set(found["expected"]) == {declared}


def test_extinf_of_an_audio_playlist_is_checked(corpus: Path, origin: str) -> None:
    master = (_ladder(corpus, "ts") / "master.m3u8").read_text()
    key, uri, _ = _groups(master)[0]
    text = (corpus / "ts" / uri).read_text()
    first = re.search(r"#EXTINF:([\d.]+),", text)
    assert first is not None
    path = _copy(corpus, "extinf", {uri: (first[0], "#EXTINF:1.5,")})
    found, _ = _qa(f"{origin}/{path}")
    assert list(found["rule"]) == ["media_extinf_match"], found.to_dict("records")
    assert found["subject"].iloc[0] == f"{key}:0"
    assert found["expected"].iloc[0] == "1.500 s"


def test_an_audio_playlist_answering_404_is_reported_and_the_video_still_probed(
    corpus: Path, origin: str
) -> None:
    master = (_ladder(corpus, "ts") / "master.m3u8").read_text()
    (key, uri, _), (other, _, _) = _groups(master)
    path = _copy(corpus, "gone", {"master.m3u8": (f'URI="{uri}"', 'URI="missing.m3u8"')})
    found, ladder = _qa(f"{origin}/{path}")
    assert list(found["rule"]) == ["media_segment_readable"], found.to_dict("records")
    row = found.iloc[0]
    assert (row["subject"], row["severity"], row["measured"]) == (key, "error", "HTTP 404")
    assert "missing.m3u8" in row["message"]
    overview = ladder.probed.variant_overview().set_index("rendition")
    assert pd.isna(overview.loc[key, "segments"]) and overview.loc[key, "probed"] == 0
    others = overview.drop(index=key)
    assert len(others) == 3 and (others["probed"] > 0).all() and (others["failed"] == 0).all()
    assert other in others.index


def test_audio_renditions_cut_at_other_times_are_misaligned_with_each_other(
    corpus: Path, origin: str
) -> None:
    """The French audio starts half a second late: its segments start 0.5 s after the
    English ones (more than one audio frame); it is compared with the English audio,
    never with the video."""
    where = corpus / "late_fr"
    late = (*_SOURCES[:8], "-itsoffset", "0.5", *_SOURCES[8:])
    _ffmpeg(where, *late, *_LADDER, "-hls_segment_filename", "s%v_%03d.ts", "v%v.m3u8")
    (en, _, _), (fr, _, _) = _groups((where / "master.m3u8").read_text())
    found, _ = _qa(f"{origin}/late_fr/master.m3u8", probe="sample")
    aligned = found[found["rule"] == "media_boundaries_aligned"]
    assert list(aligned["subject"].str.rsplit(":", n=1).str[0]) == [fr], found.to_dict("records")
    message = aligned["message"].iloc[0]
    assert f"than in {en} " in message and "one audio frame" in message
    gap = float(aligned["measured"].iloc[0]) - float(aligned["expected"].iloc[0])
    assert gap == pytest.approx(0.5, abs=0.03)


# ------------------------------------------------------------------ the plan (pure)

_MASTER = """#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="lo",NAME="English",LANGUAGE="en",CHANNELS="2",URI="en.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="lo",NAME="French",LANGUAGE="fr",URI="fr.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="hi",NAME="English",LANGUAGE="en",CHANNELS="6",URI="en.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="hi",NAME="Surround",CHANNELS="6/JOC",URI="atmos.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="mux",NAME="Main",CHANNELS="2"
#EXT-X-STREAM-INF:BANDWIDTH=800000,CODECS="avc1.64001f,mp4a.40.2",AUDIO="lo"
v1.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.64001f,mp4a.40.5",AUDIO="lo"
v2.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=5000000,CODECS="avc1.640028,ec-3",AUDIO="hi"
v3.m3u8
"""


def test_audio_playlists_one_per_uri_with_the_codecs_of_the_variants_of_its_groups() -> None:
    base = "https://cdn.example/v/master.m3u8?token=abc"
    ladder = ladder_from_text(_MASTER, base_uri=base)
    plan = audio_playlists(ladder.audio, ladder.renditions)
    assert [(a.key, a.uri.split("/")[-1], a.codecs, a.channels) for a in plan] == [
        ("audio:lo:English", "en.m3u8?token=abc", "mp4a.40.2,mp4a.40.5,ec-3", 2),
        ("audio:lo:French", "fr.m3u8?token=abc", "mp4a.40.2,mp4a.40.5", None),
        ("audio:hi:Surround", "atmos.m3u8?token=abc", "ec-3", 6),
    ]
    assert all(isinstance(a, AudioPlaylist) for a in plan)


def test_the_token_goes_only_to_audio_playlists_on_the_masters_origin() -> None:
    master = _MASTER.replace('URI="fr.m3u8"', 'URI="https://other.example/fr.m3u8"')
    ladder = ladder_from_text(master, base_uri="https://cdn.example/v/master.m3u8?token=abc")
    uris = {a.key: a.uri for a in audio_playlists(ladder.audio, ladder.renditions)}
    assert uris["audio:lo:French"] == "https://other.example/fr.m3u8"
    assert uris["audio:lo:English"] == "https://cdn.example/v/en.m3u8?token=abc"
