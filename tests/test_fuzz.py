"""Property-based fuzzing (Hypothesis) of every pure parser (issue 10).

Seeds are real-looking inputs built here: a token minted with an RSA key made from a fixed
seed (so every run sees the same inputs), signed URLs of every kind, a HeapStream master
and media playlists whose URIs carry that token, an Apple-style master, WebVTT captions
and a storyboard. Each example mutates a seed (byte flips, truncation, duplication, huge
and negative numbers, NaN, unicode, lone surrogates, long lines) and calls the public
function. The property, everywhere:

- the call returns, or raises a :class:`~hs_notebook.errors.HeapStreamError`;
- no exception message (nor the message of what it was raised from) and no repr of what
  was returned (tables, ladders, QA reports, diagnoses) contains a token that was in the
  input.

Profiles (``settings.register_profile``):

- ``hs_bounded`` (default, ``make test``): derandomized, so a CI run is reproducible,
  about 2,500 examples across the suite;
- ``hs_long`` (``HS_NOTEBOOK_FUZZ=long``, ``make fuzz``): 24x as many, a new random seed
  each run. A failure prints the ``@reproduce_failure`` blob to replay it.

No exception is tolerated: every crash the suite found was fixed at its source, and each
is a named regression test at the end of this file (``test_regression_*``), asserting the
fixed behaviour on its minimal input.
"""

from __future__ import annotations

import base64
import json
import math
import os
import random
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings  # the [dev] extra brings it
from hypothesis import strategies as st

from hs_notebook import hls, tokens, urls, vtt
from hs_notebook.diagnose import diagnose
from hs_notebook.errors import (
    HeapStreamError,
    InvalidArgument,
    InvalidToken,
    PlaylistError,
    TokenRejected,
)
from hs_notebook.http import child_url, origin_of, token_of, with_token, without_token
from hs_notebook.ladder import ladder_from_text
from hs_notebook.qa import qa
from hs_notebook.tokens import decode_token

# ----------------------------------------------------------------------------- profiles

_COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("hs_bounded", max_examples=250, derandomize=True, **_COMMON)
settings.register_profile("hs_long", max_examples=6000, derandomize=False, **_COMMON)
PROFILE = "hs_long" if os.environ.get("HS_NOTEBOOK_FUZZ", "").lower() == "long" else "hs_bounded"
_FUZZ = settings.get_profile(PROFILE)


def fuzz(weight: float = 1.0) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The active profile with ``weight`` x its examples (heavier calls get fewer); a
    property test takes seconds, so it is also marked slow (``make test-fast`` skips it)."""
    profile = settings(_FUZZ, max_examples=max(10, int(_FUZZ.max_examples * weight)))

    def apply(test: Callable[..., Any]) -> Callable[..., Any]:
        return pytest.mark.slow(profile(test))

    return apply


# -------------------------------------------------------------------------------- seeds


_SMALL_PRIMES = [p for p in range(3, 3000, 2) if all(p % d for d in range(3, int(p**0.5) + 1, 2))]


def _prime(rng: random.Random, bits: int) -> int:
    """A probable prime of ``bits`` bits drawn from ``rng`` (Miller-Rabin, 40 rounds)."""
    while True:
        n = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if any(n % p == 0 for p in _SMALL_PRIMES):
            continue
        d, r = n - 1, 0
        while d % 2 == 0:
            d, r = d // 2, r + 1
        for _ in range(40):
            x = pow(rng.randrange(2, n - 2), d, n)
            if x in (1, n - 1):
                continue
            for _ in range(r - 1):
                x = pow(x, 2, n)
                if x == n - 1:
                    break
            else:
                break
        else:
            return n


def _fixed_key() -> rsa.RSAPrivateKey:
    """A 2048-bit RSA key made from a fixed seed, so the tokens, hence the seeds and every
    derandomized example, are the same on every run (no key is stored in the repo)."""
    rng, e = random.Random(20261130), 65537
    while True:
        p, q = _prime(rng, 1024), _prime(rng, 1024)
        phi = (p - 1) * (q - 1)
        if p != q and math.gcd(e, phi) == 1:
            break
    d = pow(e, -1, phi)
    public = rsa.RSAPublicNumbers(e, p * q)
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), public)
    return numbers.private_key()


_PRIVATE = _fixed_key()
KEY = tokens.SigningKey.from_pem(
    "sk-fuzz",
    _PRIVATE.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ),
)
PUBLIC = KEY.public_key_pem()
NOW = datetime(2030, 1, 1, tzinfo=UTC)  # every time check is made at this instant
VIDEO = "vid42"
TOKEN = str(KEY.mint(VIDEO, expires_at=datetime(2030, 1, 1, 1, tzinfo=UTC)))
OTHER = str(KEY.mint("vid43", expires_at=datetime(2029, 12, 31, 23, 59, tzinfo=UTC)))
SECRETS = (TOKEN, OTHER)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def rs256(header_json: str, claims_json: str) -> str:
    """A compact JWT signed with :data:`KEY` over any header and payload text."""
    signing_input = f"{_b64(header_json.encode('utf-8', 'surrogatepass'))}." + _b64(
        claims_json.encode("utf-8", "surrogatepass")
    )
    signature = _PRIVATE.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


HS = urls.HeapStream(project_id=12)
SIGNED_URLS = [
    HS.url(kind, 7 if kind == "storyboard" else "vid42", TOKEN) for kind in urls.URL_KINDS
]
MASTER_URL = HS.url("master", VIDEO, TOKEN)

HS_MASTER = f"""#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="/mpl/12/aud/?token={TOKEN}"
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,URI="https://app.heapstream.com/mplt/12/tt9/?token={TOKEN}"
#EXT-X-STREAM-INF:BANDWIDTH=5500000,AVERAGE-BANDWIDTH=5000000,RESOLUTION=1920x1080,FRAME-RATE=30.000,CODECS="avc1.640028,mp4a.40.2",AUDIO="aac",SUBTITLES="subs"
https://app.heapstream.com/mpl/12/p1080/?token={TOKEN}
#EXT-X-STREAM-INF:BANDWIDTH=2800000,AVERAGE-BANDWIDTH=2500000,RESOLUTION=1280x720,FRAME-RATE=30.000,CODECS="avc1.64001f,mp4a.40.2",AUDIO="aac",SUBTITLES="subs"
/mpl/12/p720/?token={TOKEN}
#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.42c01e,mp4a.40.2",AUDIO="aac"
../../../mpl/12/p360/?token={TOKEN}
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=186522,CODECS="avc1.640028",RESOLUTION=1920x1080,URI="/mpl/12/p1080/iframes.m3u8?token={TOKEN}"
"""

APPLE_MASTER = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="ec3",LANGUAGE="es",NAME="Español Atmos",CHANNELS="16/JOC",URI="audio/es/atmos.m3u8"
#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",LANGUAGE="en",NAME="CC",INSTREAM-ID="CC1"
#EXT-X-STREAM-INF:BANDWIDTH=7865325,CODECS="hvc1.2.4.L123.B0,ec-3",RESOLUTION=1920x1080,FRAME-RATE=23.976,VIDEO-RANGE=PQ,HDCP-LEVEL=TYPE-1,AUDIO="ec3",CLOSED-CAPTIONS="cc"
h8/prog_index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS="mp4a.40.5"
a1/prog_index.m3u8
"""  # noqa: E501

MEDIA_TS = f"""#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:2680
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/k1?token={TOKEN}",IV=0x9c7db8778570d05c3177c349fd9236aa
#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:00:00.000Z
#EXTINF:6.006,
seg-0.ts?token={TOKEN}
#EXTINF:5.994,
seg-1.ts?token={TOKEN}
#EXT-X-DISCONTINUITY
#EXTINF:3.2,
https://cdn.example.net/seg-2.ts?token={TOKEN}
#EXT-X-ENDLIST
"""

MEDIA_FMP4 = f"""#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:6
#EXT-X-MEDIA-SEQUENCE:100
#EXT-X-MAP:URI="init.mp4?token={TOKEN}",BYTERANGE="720@0"
#EXTINF:6.006,
#EXT-X-BYTERANGE:1000000@720
main.mp4?token={TOKEN}
#EXTINF:6.006,
#EXT-X-BYTERANGE:1200000
main.mp4?token={TOKEN}
#EXT-X-ENDLIST
"""

CAPTIONS = """WEBVTT - captions
Kind: captions

STYLE
::cue(.loud) { color: yellow; }

NOTE a comment

1
00:00:01.000 --> 00:00:04.500 align:start line:90%
Ça va,
<c.loud>merci !</c>
00:05.250 --> 00:07.000
Où est la gare ?

chapitre-2
01:02:03.004 --> 01:02:05.000
Déjà vu.
"""

STORYBOARD = "WEBVTT\n\n" + "".join(
    f"00:00:{k * 5:02d}.000 --> 00:00:{k * 5 + 5:02d}.000\n"
    f"sprite-{k // 2}.jpg?token={TOKEN}#xywh={(k % 2) * 160},0,160,90\n\n"
    for k in range(4)
)

PLAYLIST_SEEDS = [HS_MASTER, APPLE_MASTER, MEDIA_TS, MEDIA_FMP4]
VTT_SEEDS = [CAPTIONS, STORYBOARD]

# ---------------------------------------------------------------------------- mutations

SPECIAL = [
    "\n", "\r", "\r\n", "\n\n", ",", "=", '"', ":", "#", "-->", " --> ", "@", "?", "&",
    "/", "%", "%zz", "[", "]", "\\", "\x00", "\ufeff", "\u202e", "é", "𝟘", "٣", "\ud800",
    "\udfff", " ", "\t", ".", "#EXTM3U", "#EXT-X-ENDLIST", "WEBVTT", "?token=", "token=",
    "//[", "http:x", "\u2028",
]  # fmt: skip
NUMBERS = [
    str(2**63), str(2**64), "9" * 5000, "1" + "0" * 400, "-1", "-9223372036854775809",
    "0", "NaN", "nan", "inf", "-inf", "1e309", "2560000.4", "0x10", "١٢٣", "0" * 30 + "1",
    "1_000", "+5", "-0", "4294967296", "1.7976931348623157e308",
]  # fmt: skip
# numbers as attributes, tags and timestamps hold them (not the digits inside a token)
_NUMBER = re.compile(r"(?<=[=:,x@\n\"])-?[0-9]+(?:\.[0-9]+)?")


_STRUCTURE = re.compile(r"[,=:\n\"#@x.>-]")


def _pos(draw: st.DrawFn, text: str) -> int:
    """A position in ``text``: anywhere, or (as often) at a delimiter, so that mutations
    hit the syntax more often than the long tokens."""
    if draw(st.booleans()):
        marks = [m.start() for m in _STRUCTURE.finditer(text)]
        if marks:
            return draw(st.sampled_from(marks))
    return draw(st.integers(0, len(text)))


def _piece(draw: st.DrawFn) -> str:
    return draw(
        st.one_of(
            st.sampled_from(SPECIAL),
            st.text(max_size=8),
            st.characters(codec=None, categories=["Cs", "Co", "Cn", "Zs", "Cc", "Nd", "Lo"]),
        )
    )


def _flip(draw: st.DrawFn, text: str) -> str:
    i = _pos(draw, text)
    return text[:i] + _piece(draw) + text[i + 1 :]


def _insert(draw: st.DrawFn, text: str) -> str:
    i = _pos(draw, text)
    return text[:i] + _piece(draw) + text[i:]


def _truncate(draw: st.DrawFn, text: str) -> str:
    return text[: _pos(draw, text)]


def _duplicate(draw: st.DrawFn, text: str) -> str:
    i = _pos(draw, text)
    j = draw(st.integers(i, min(len(text), i + 400)))
    return text[:j] + text[i:j] * draw(st.integers(1, 3)) + text[j:]


def _number(draw: st.DrawFn, text: str) -> str:
    """One to five numbers of ``text`` replaced by one odd value."""
    spans = [m.span() for m in _NUMBER.finditer(text)]
    if not spans:
        return text
    value = draw(
        st.one_of(
            st.sampled_from(NUMBERS),
            st.integers(-(2**80), 2**80).map(str),
            st.floats(allow_nan=True, allow_infinity=True).map(repr),
        )
    )
    chosen = draw(st.sets(st.sampled_from(spans), min_size=1, max_size=5))
    for a, b in sorted(chosen, reverse=True):
        text = text[:a] + value + text[b:]
    return text


def _lines(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    i = draw(st.integers(0, len(lines) - 1))
    op = draw(st.sampled_from(["drop", "repeat", "swap", "long"]))
    if op == "drop":
        del lines[i]
    elif op == "repeat":
        lines[i:i] = [lines[i]] * draw(st.integers(1, 50))
    elif op == "swap":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines[i] += draw(st.sampled_from(["x", "9", ",", "é", "A=B,"])) * draw(
            st.sampled_from([1_000, 70_000])
        )
    return "\n".join(lines)


def _surrogate(draw: st.DrawFn, text: str) -> str:
    i = _pos(draw, text)
    return text[:i] + chr(draw(st.integers(0xD800, 0xDFFF))) + text[i:]


MUTATIONS = [_flip, _insert, _truncate, _duplicate, _number, _number, _lines, _surrogate]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str], most: int = 4) -> str:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, most))):
        text = draw(st.sampled_from(MUTATIONS))(draw, text)
    return text


# ---------------------------------------------------------------------------- property


def _messages(exc: BaseException) -> Iterable[str]:
    """The messages a traceback of ``exc`` would print (its cause and context too)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        cause = current.__cause__
        if cause is None and not current.__suppress_context__:
            cause = current.__context__
        current = cause


def _no_token(text: str, given: str, where: str) -> None:
    for token in SECRETS:
        if token in given:
            signature = token.rsplit(".", 1)[1]
            assert token not in text and signature not in text, (
                f"{where} quotes a token that was in the input: {text[:300]!r}"
            )


def check(
    area: str,
    given: str,
    call: Callable[[], Any],
    show: Callable[[Any], Iterable[str]] = lambda r: [],
) -> Any:
    """Run ``call``: it returns, or raises a HeapStreamError; no token of ``given``
    appears in a message or in what ``show`` renders of the result."""
    try:
        result = call()
        shown = list(show(result))  # rendering a result is part of the call
    except Exception as exc:
        for message in _messages(exc):
            _no_token(message, given, f"{type(exc).__name__} from {area}")
        if isinstance(exc, HeapStreamError):
            return None
        raise
    for text in shown:
        _no_token(text, given, f"the result of {area}")
    return result


def _reprs(result: Any) -> Iterable[str]:
    yield repr(result)
    html = getattr(result, "_repr_html_", None)
    if callable(html):
        yield html() or ""


# ------------------------------------------------------------------------------- seeds


def test_seeds_are_accepted() -> None:
    """The seeds are valid input, so mutations start from what real files look like."""
    assert len(hls.renditions_table(HS_MASTER, MASTER_URL)) == 3
    assert len(hls.renditions_table(APPLE_MASTER)) == 2
    assert len(hls.segments_table(MEDIA_TS, MASTER_URL)) == 3
    assert len(hls.segments_table(MEDIA_FMP4)) == 2
    assert len(vtt.cues_table(CAPTIONS)) == 3
    assert len(vtt.storyboard_table(STORYBOARD, HS.url("storyboard", 7, TOKEN))) == 4
    assert decode_token(TOKEN).claims["sub"] == VIDEO
    assert tokens.verify_token(TOKEN, PUBLIC, VIDEO, now=NOW)["sub"] == VIDEO
    assert list(diagnose(TOKEN, url=MASTER_URL, public_key=PUBLIC, now=NOW)) == []
    assert all(urls.parse_signed_url(u) is not None for u in SIGNED_URLS)
    ladder = ladder_from_text(HS_MASTER, base_uri=MASTER_URL)
    assert len(ladder.renditions) == 3
    assert qa(ladder, measure=False) is not None


# ------------------------------------------------------------------------------ tokens

_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=10),
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
_CLAIM_NAMES = st.sampled_from(["sub", "aud", "exp", "nbf", "iat", "kid", "alg", "crit", "typ"])


@st.composite
def odd_jwts(draw: st.DrawFn) -> str:
    """Signed JWTs whose header and claims are odd JSON: wrong types, NaN, huge numbers,
    deep nesting, duplicate keys, lone surrogates."""
    header = {"alg": "RS256", "typ": "JWT", "kid": "sk-fuzz"}
    claims: dict[str, Any] = {"sub": VIDEO, "aud": "v", "exp": int(NOW.timestamp()) + 60}
    target = draw(st.sampled_from([header, claims]))
    for _ in range(draw(st.integers(1, 3))):
        target[draw(_CLAIM_NAMES)] = draw(_JSON)
    header_json, claims_json = json.dumps(header), json.dumps(claims)
    style = draw(st.sampled_from(["plain", "deep", "duplicate", "raw"]))
    if style == "deep":  # nesting past any sane depth
        depth = draw(st.sampled_from([100, 1_000, 100_000]))
        claims_json = claims_json[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"
    elif style == "duplicate":
        claims_json = claims_json[:-1] + ', "sub": "vid43"}'
    elif style == "raw":
        claims_json = draw(mutated([claims_json], most=2))
    return rs256(header_json, claims_json)


TOKEN_INPUTS = st.one_of(mutated([TOKEN, OTHER, f" {TOKEN}\n"]), odd_jwts())


@fuzz()
@given(TOKEN_INPUTS)
def test_fuzz_decode_token(text: str) -> None:
    check("tokens", text, lambda: decode_token(text))


@fuzz()
@given(TOKEN_INPUTS)
def test_fuzz_verify_token(text: str) -> None:
    check("tokens", text, lambda: tokens.verify_token(text, PUBLIC, VIDEO, now=NOW))


@fuzz(0.5)
@given(TOKEN_INPUTS, mutated([*SIGNED_URLS, MASTER_URL.replace(TOKEN, OTHER)], most=2))
def test_fuzz_diagnose(text: str, url: str) -> None:
    check(
        "diagnose",
        text + url,
        lambda: diagnose(text, url=url, public_key=PUBLIC, now=NOW),
        _reprs,
    )


# -------------------------------------------------------------------------------- URLs

URL_INPUTS = mutated(
    [*SIGNED_URLS, "//[", "http://[::1]/mmpl/12/vid42/?token=" + TOKEN, "/mpl/12/p/?token=" + TOKEN]
)


@fuzz()
@given(URL_INPUTS)
def test_fuzz_parse_signed_url_and_redact(url: str) -> None:
    check("urls", url, lambda: urls.parse_signed_url(url))
    redacted = check("urls", url, lambda: urls.redact_token(url))
    try:
        query_token = dict(parse_qsl(urlsplit(url).query)).get("token")
    except ValueError:
        query_token = None
    if redacted is not None and query_token in SECRETS and url.count(query_token) == 1:
        # the token a URL parser reads from the query is gone from the redacted text
        assert query_token not in redacted, redacted


@fuzz()
@given(
    mutated([MASTER_URL, HS.url("preset", "p720", TOKEN), "https://app.heapstream.com/x/"], 2),
    mutated(["seg-0.ts", "../p360/?token=", "https://cdn.example.net/a.ts", "//evil.example/x"]),
)
def test_fuzz_child_urls(parent: str, uri: str) -> None:
    joined = check("urls", parent + uri, lambda: child_url(parent, uri))
    for helper in (token_of, without_token):
        check("urls", parent, lambda h=helper: h(parent))
    check("urls", parent, lambda: with_token(parent, "abc"))
    if joined is not None:
        # the parent's token only ever goes to the parent's origin
        for token in SECRETS:
            if token in parent and token not in uri and token in joined:
                origins = check("urls", "", lambda: (origin_of(parent), origin_of(joined)))
                assert origins is None or origins[0] == origins[1], origins


# ---------------------------------------------------------------------------------- HLS

_TABLES = [hls.renditions_table, hls.text_tracks_table, hls.audio_table, hls.iframe_table]


@fuzz(1.5)
@given(mutated(PLAYLIST_SEEDS), st.sampled_from([None, MASTER_URL]))
def test_fuzz_hls_master(text: str, base: str | None) -> None:
    check("hls", text, lambda: hls.parse_master(text, base))
    for func in _TABLES:
        check("hls", text, lambda f=func: f(text, base), _reprs)
    check("hls", text, lambda: hls.master_playlist_info(text), _reprs)


@fuzz(1.5)
@given(mutated(PLAYLIST_SEEDS), st.sampled_from([None, MASTER_URL]))
def test_fuzz_hls_media(text: str, base: str | None) -> None:
    check("hls", text, lambda: hls.parse_media(text, base))
    check("hls", text, lambda: hls.segments_table(text, base), _reprs)
    check("hls", text, lambda: hls.media_playlist_info(text), _reprs)


# ---------------------------------------------------------------------------- ladder + qa


def _ladder_and_report(ladder: Any) -> Iterable[str]:
    yield from _reprs(ladder)
    yield repr(ladder.renditions)
    for preset in ladder.renditions["preset_id"].dropna().tolist():
        yield repr(ladder.segments(preset))
    yield from _reprs(qa(ladder, measure=False))


@fuzz(0.75)
@given(
    mutated([HS_MASTER], most=3),
    mutated([MEDIA_TS, MEDIA_FMP4], most=3),
    st.sampled_from(["p720", f"/mpl/12/p720/?token={TOKEN}", "p1080"]),
)
def test_fuzz_ladder_from_text_and_qa(master: str, media: str, key: str) -> None:
    check(
        "ladder",
        master + media,
        lambda: ladder_from_text(master, {key: media}, base_uri=MASTER_URL),
        _ladder_and_report,
    )


# ------------------------------------------------------------------------------ WebVTT


@fuzz(1.5)
@given(mutated(VTT_SEEDS), st.sampled_from([None, HS.url("storyboard", 7, TOKEN)]))
def test_fuzz_webvtt(text: str, base: str | None) -> None:
    cues = check("vtt", text, lambda: vtt.parse_vtt(text))
    check("vtt", text, lambda: vtt.cues_table(text), _reprs)
    tiles = check("vtt", text, lambda: vtt.storyboard_table(text, base), _reprs)
    from_bytes = check("vtt", text, lambda: vtt.parse_vtt(text.encode("utf-8", "surrogatepass")))
    if cues is not None:
        # a line holding "-->" always starts a cue (W3C "collect a WebVTT block"): no cue
        # text holds one; bytes give the same cues as their text
        assert not any("-->" in cue.text for cue in cues)
        assert all(cue.end >= cue.start >= 0 for cue in cues)
        assert from_bytes == cues
    if tiles is not None:  # no sprite URI that no browser could load
        assert not tiles["image_uri"].str.contains(r"[\\\s<>{}|^`\"]").any()
        assert (tiles[["w", "h"]] > 0).all().all()


# --------------------------------------------------------- regression tests (found here)
# Every crash (or token in a message or repr) this suite found, on its minimal input, with
# the fixed behaviour asserted: one of our HeapStreamError subclasses with a message a
# person can act on and no token in it, or a correct result.

_M = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH={},RESOLUTION={}\nv.m3u8\n"
_S = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n{}#EXTINF:6,\n{}\n"
_HUGE = str(2**63)


def _raises(error: type[HeapStreamError], call: Callable[[], Any], *phrases: str) -> str:
    """``call`` raises ``error`` whose message holds every phrase and no token (nor its
    signature); the message."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for phrase in phrases:
        assert phrase in message, message
    for token in SECRETS:
        assert token not in message and token.rsplit(".", 1)[1] not in message, message
    return message


def test_regression_deeply_nested_jwt_is_malformed() -> None:
    """Finding 1: 100,000 nested JSON arrays in the claims raised RecursionError."""
    deep = rs256(
        '{"alg":"RS256","typ":"JWT","kid":"sk-fuzz"}',
        '{"x":' + "[" * 100_000 + "]" * 100_000 + "}",
    )
    _raises(InvalidToken, lambda: decode_token(deep), "nests deeper than")
    _raises(TokenRejected, lambda: tokens.verify_token(deep, PUBLIC, VIDEO, now=NOW), "malformed")
    findings = list(diagnose(deep, url=MASTER_URL, public_key=PUBLIC, now=NOW))
    assert [f.code for f in findings] == ["malformed_token"]


@pytest.mark.parametrize(
    ("call", "phrase"),
    [
        (lambda: hls.renditions_table(_M.format(_HUGE, "640x360")), "BANDWIDTH="),
        (lambda: hls.renditions_table(_M.format(1, f"{_HUGE}x1")), "RESOLUTION="),
        (
            lambda: hls.audio_table(
                f'#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="n",CHANNELS="{_HUGE}",'
                'URI="a.m3u8"\n#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO="a"\nv.m3u8\n'
            ),
            "CHANNELS=",
        ),
        (
            lambda: hls.segments_table(_S.format(f"#EXT-X-MEDIA-SEQUENCE:{_HUGE}\n", "a.ts")),
            "#EXT-X-MEDIA-SEQUENCE",
        ),
        (
            lambda: hls.segments_table(_S.format("", f"#EXT-X-BYTERANGE:{_HUGE}@0\na.ts")),
            "#EXT-X-BYTERANGE",
        ),
        (lambda: ladder_from_text(_M.format(_HUGE, "640x360")), "BANDWIDTH="),
        (
            lambda: hls.parse_master(
                "#EXTM3U\n#EXT-X-VERSION:" + "6" * 5000 + "\n" + _M[8:].format(1, "1x1")
            ),
            "VERSION",
        ),
        (lambda: hls.renditions_table(_M.format("9" * 70_001, "1x1")), "BANDWIDTH="),
    ],
    ids=[
        "bandwidth",
        "resolution",
        "channels",
        "media-sequence",
        "byterange",
        "ladder",
        "version-5000-digits",
        "bandwidth-70001-digits",
    ],
)
def test_regression_integers_past_int64_are_playlist_errors(
    call: Callable[[], Any], phrase: str
) -> None:
    """Finding 2 (OverflowError when a table was built, or in a ladder's repr) and the long
    profile's 4,300+ digit values (int() raised ValueError): refused at parse time."""
    _raises(PlaylistError, call, phrase, "too large")


@pytest.mark.parametrize(
    "call",
    [
        lambda: hls.segments_table(_S.format("", "a\ud800.ts")),
        lambda: hls.renditions_table('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO="\ud800"\nv\n'),
        lambda: hls.renditions_table("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv\ud800.m3u8\n"),
        lambda: ladder_from_text(
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv\ud800.m3u8\n", base_uri=_SIGNED_X
        ),
    ],
    ids=["segment-uri", "quoted-attribute", "variant-uri", "ladder"],
)
def test_regression_lone_surrogate_in_playlist(call: Callable[[], Any]) -> None:
    """Finding 3: a lone surrogate raised UnicodeEncodeError from the pyarrow columns."""
    _raises(PlaylistError, call, "lone surrogate", "line ")


_SIGNED_X = "https://h.example/p/?token=x"


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        (_S.format(f'#EXT-X-KEY:METHOD=AES-128,X,URI="k?token={TOKEN}"\n', "a.ts"), "'X'"),
        (
            f'#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a,NAME="n",URI="a.m3u8?token={TOKEN}"\n'
            "#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n",
            "unbalanced quote",
        ),
        (_S.format(f'#EXT-X-KEY,URI="a?token={TOKEN}"\n', "a.ts"), "#EXT-X-KEY "),
        (_S.format("", f"#EXT-X-BYTERANGE:100\nmain.mp4?token={TOKEN}"), "omits its offset"),
        (
            f'#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=x,URI="i.m3u8?token={TOKEN}"\n'
            "#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n",
            "BANDWIDTH=x is not an integer",
        ),
        (
            f'#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:RESOLUTION=a,URI="i.m3u8?token={TOKEN}"\n'
            "#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n",
            "RESOLUTION=a is not",
        ),
        # the token parameter's name mangled (a BOM inside it): the JWT is still not quoted
        (_S.format(f'#EXT-X-KEY:METHOD=AES-128,X,URI="k?toke\ufeffn={TOKEN}"\n', "a.ts"), "'X'"),
        (_S.format("", f"#EXT-X-BYTERANGE:100\nmain.mp4?tok\ten={TOKEN}"), "omits its offset"),
        # the JWT mangled too (a character inside its payload): nothing of it past the start
        (
            _S.format(
                f'#EXT-X-KEY:METHOD=AES-128,X,URI="k?toke\ufeffn={TOKEN[:60]}é{TOKEN[60:]}"\n',
                "a.ts",
            ),
            "'X'",
        ),
        (f"#EXTM3U\n#EXT-X-TARGETDURATION:6\nseg.ts?token={TOKEN}\n", "has no #EXTINF"),
    ],
    ids=[
        "key-not-name-value",
        "media-unbalanced-quote",
        "key-comma-for-colon",
        "byterange-no-offset",
        "iframe-bandwidth",
        "iframe-resolution",
        "mangled-name",
        "mangled-name-cr",
        "mangled-jwt",
        "uri-line-alone",
    ],
)
def test_regression_playlist_error_quotes_no_token(text: str, phrase: str) -> None:
    """Finding 4: every PlaylistError quoted its whole line, token included; now it names
    the line, tag and attribute, and quotes at most a short redacted excerpt."""
    is_master = "STREAM-INF" in text
    if is_master:
        table, info, ladder = hls.renditions_table, hls.master_playlist_info, ladder_from_text
        parse = hls.parse_master
    else:
        table, info, parse = hls.segments_table, hls.media_playlist_info, hls.parse_media
        ladder = lambda t, **kw: ladder_from_text(HS_MASTER, {"p720": t}, **kw).segments("p720")  # noqa: E731
    assert phrase in _raises(PlaylistError, lambda: table(text, MASTER_URL), "line ")
    assert phrase in _raises(PlaylistError, lambda: ladder(text, base_uri=MASTER_URL), "line ")
    for call in (parse, info):  # they need not read every attribute; they show no token
        try:
            shown = repr(call(text))
        except PlaylistError as exc:
            shown = str(exc)
        assert TOKEN not in shown and TOKEN.rsplit(".", 1)[1][:40] not in shown, shown


def test_regression_tag_names_stop_at_the_first_character_outside_the_alphabet() -> None:
    """Finding 5: ``#EXT-X-MEDIA,URI="a?token=T"`` (a comma for the colon), or ``#EXT``
    then a token, made the whole line a tag name in MasterPlaylistInfo/MediaPlaylistInfo."""
    master = hls.master_playlist_info(
        f'#EXTM3U\n#EXT-X-MEDIA,URI="a?token={TOKEN}"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv\n'
    )
    assert master.tags == frozenset({"EXTM3U", "EXT-X-MEDIA", "EXT-X-STREAM-INF"})
    assert TOKEN not in repr(master)
    media = hls.media_playlist_info(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\na.ts\n#EXT{TOKEN}\n"
    )
    assert media.tags == frozenset({"EXTM3U", "EXT-X-TARGETDURATION", "EXTINF", "EXT"})
    assert TOKEN not in repr(media)


@pytest.mark.parametrize(
    "url", ["//[", "http://[::0.0]/mmpl/12/v/", f"http://[::1/mmpl/12/v/?token={TOKEN}"]
)
def test_regression_unparseable_host_is_not_a_heapstream_url(url: str) -> None:
    """Findings 6 and 7: urlsplit's ValueError on a bracketed host escaped
    parse_signed_url, redact_token and diagnose."""
    _raises(InvalidArgument, lambda: urls.parse_signed_url(url), "not a HeapStream URL")
    assert TOKEN not in urls.redact_token(url)
    _raises(
        InvalidArgument,
        lambda: diagnose(TOKEN, url=url, public_key=PUBLIC, now=NOW),
        "not a HeapStream URL",
    )


@pytest.mark.parametrize(
    "url",
    [
        f"https://h/?token\r={TOKEN}",
        f"https://h/?to\nken={TOKEN}&a=1",
        f"https://h/?\ttoken={TOKEN}",
        "https://h/?token\r=abc.def",  # not a JWT: only the parameter rule can hide it
        "https://h/?tok\ten=ab\rc",
        f"https://h/?token={TOKEN[:80]}\n{TOKEN[80:]}",
    ],
)
def test_regression_redact_token_reads_the_query_as_url_parsers_do(url: str) -> None:
    """Finding 7: urlsplit drops tab, CR and LF, so it (and parse_signed_url) reads a token
    in ``?token\\r=T``; redact_token returned it unredacted."""
    read = dict(parse_qsl(urlsplit(url).query))["token"]
    redacted = urls.redact_token(url)
    assert read not in redacted and "…" in redacted, redacted
    assert TOKEN.rsplit(".", 1)[1][-40:] not in redacted


def test_regression_redact_token_never_raises() -> None:
    """Finding 7: a lone surrogate in the query made redact_token raise UnicodeEncodeError."""
    assert urls.redact_token("/?token=x&a=\ud800") == "/?token=…&a=\ud800"
    assert urls.redact_token("http://[::0.0]/mmpl/12/v/?token=x").endswith("?token=…")


@pytest.mark.parametrize(
    "call",
    [
        lambda: child_url(_SIGNED_X, "\ud800.ts"),
        lambda: token_of("https://h/?token=\ud800"),
        lambda: without_token("https://h/\ud800"),
        lambda: with_token("https://h/\ud800", "t"),
    ],
    ids=["child_url", "token_of", "without_token", "with_token"],
)
def test_regression_lone_surrogate_in_url(call: Callable[[], Any]) -> None:
    """Finding 8: httpx.URL raised UnicodeEncodeError on a lone surrogate."""
    _raises(HeapStreamError, call, "lone surrogate", "position")


@pytest.mark.parametrize("value", [TOKEN, "abc.def"])
def test_regression_invalid_url_message_hides_a_mangled_token_name(value: str) -> None:
    """Finding 9: InvalidArgument "not a valid URL" quoted the URL, redacted only where the
    text held a literal ``token=``."""
    message = _raises(
        InvalidArgument,
        lambda: child_url(f"ht\u05d0tps://h.example/p/?token\r={value}", "a.ts"),
        "not a valid URL",
    )
    assert value not in message


@pytest.mark.parametrize("uri", ["//[::0.0]/mpl/12/p/?token=x", "//[/x", "http://[/mpl/12/p/"])
def test_regression_uri_with_an_unparseable_host(uri: str) -> None:
    """Long profile: a variant or segment URI with a bracketed host that is no IP address
    raised ValueError from urlsplit/urljoin (preset ids, resolving against base_uri)."""
    master = f"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n{uri}\n"
    media = f"#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6,\n{uri}\n"
    # no base URI: nothing to resolve, the URI is kept as written, with no preset id
    table = hls.renditions_table(master)
    assert table["uri"].tolist() == [uri] and table["preset_id"].isna().all()
    assert hls.segments_table(media)["uri"].tolist() == [uri]
    if uri.startswith("http://"):  # already absolute: kept as it is
        assert hls.renditions_table(master, MASTER_URL)["uri"].tolist() == [uri]
        return
    for call in (
        lambda: hls.renditions_table(master, MASTER_URL),
        lambda: hls.segments_table(media, MASTER_URL),
        lambda: ladder_from_text(master, base_uri=MASTER_URL),
    ):
        _raises(PlaylistError, call, "is not a valid URL", "the URI '//[")


def test_regression_media_sequence_below_int64() -> None:
    """Long profile: ``#EXT-X-MEDIA-SEQUENCE:-9223372036854775809`` raised OverflowError
    when the segments table was built."""
    text = _S.format(f"#EXT-X-MEDIA-SEQUENCE:-{2**63 + 1}\n", "a.ts")
    for call in (lambda: hls.segments_table(text), lambda: hls.media_playlist_info(text)):
        _raises(PlaylistError, call, "#EXT-X-MEDIA-SEQUENCE", "too small")
    smallest = _S.format(f"#EXT-X-MEDIA-SEQUENCE:-{2**63}\n", "a.ts")
    assert hls.segments_table(smallest)["media_sequence"].tolist() == [-(2**63)]
