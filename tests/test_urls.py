"""Tests for hs_notebook.urls: the eight signed URL kinds, id validation, the URL table,
embed HTML and parse_signed_url.

URLs are taken apart with urllib (not string slicing) and compared part by part.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from hs_notebook.errors import HeapStreamError, InvalidArgument, InvalidId
from hs_notebook.tokens import SigningKey, Token, generate_signing_key
from hs_notebook.urls import (
    DEFAULT_BASE_URL,
    EMBED_ALLOW,
    URL_KINDS,
    Embed,
    HeapStream,
    SignedUrl,
    embed,
    embed_html,
    parse_signed_url,
    validate_id,
    with_query,
)

#: a token-shaped string with every character that must be percent-encoded in a query
TOKEN = "aa+bb/cc==.dd+ee/ff=.gg+hh/ii"
PROJECT = 12

#: method name -> (path prefix, id used in the test)
METHODS: dict[str, tuple[str, Any]] = {
    "embed_url": ("e", "vid-1"),
    "master_playlist_url": ("mmpl", "vid-1"),
    "poster_url": ("pstv", "poster-9"),
    "text_track_url": ("mplt", "track-en"),
    "preset_playlist_url": ("mpl", "preset-720"),
    "mp4_url": ("stcr4", "preset-720"),
    "storyboard_url": ("sbt", 7),
    "original_url": ("dlo", "vid-1"),
}


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key("url-key")


@pytest.fixture
def hs() -> HeapStream:
    return HeapStream(PROJECT)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


# ---------------------------------------------------------------------------- table


def test_url_table_has_exactly_the_eight_documented_kinds() -> None:
    assert {k: v.prefix for k, v in URL_KINDS.items()} == {
        "embed": "e",
        "master": "mmpl",
        "poster": "pstv",
        "text_track": "mplt",
        "preset": "mpl",
        "mp4": "stcr4",
        "storyboard": "sbt",
        "original": "dlo",
    }
    assert [k for k, v in URL_KINDS.items() if v.int_id] == ["storyboard"]
    assert DEFAULT_BASE_URL == "https://app.heapstream.com"


# ---------------------------------------------------------------------------- every kind


@pytest.mark.parametrize("method", list(METHODS))
def test_every_kind_exactly(hs: HeapStream, method: str) -> None:
    prefix, id_ = METHODS[method]
    url = getattr(hs, method)(id_, TOKEN)
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == "app.heapstream.com"
    assert parts.path == f"/{prefix}/{PROJECT}/{id_}/"
    assert parts.path.endswith("/")
    assert parts.fragment == ""
    assert query_of(url) == {"token": [TOKEN]}


@pytest.mark.parametrize("kind", list(URL_KINDS))
def test_generic_url_matches_the_named_method(hs: HeapStream, kind: str) -> None:
    method = {
        "embed": "embed_url",
        "master": "master_playlist_url",
        "poster": "poster_url",
        "text_track": "text_track_url",
        "preset": "preset_playlist_url",
        "mp4": "mp4_url",
        "storyboard": "storyboard_url",
        "original": "original_url",
    }[kind]
    id_ = METHODS[method][1]
    assert hs.url(kind, id_, TOKEN) == getattr(hs, method)(id_, TOKEN)


def test_unknown_kind(hs: HeapStream) -> None:
    with pytest.raises(InvalidArgument, match="unknown URL kind 'thumb'") as info:
        hs.url("thumb", "x", TOKEN)
    assert "embed" in str(info.value)


def test_token_is_percent_encoded_and_decodes_back(hs: HeapStream) -> None:
    url = hs.master_playlist_url("vid-1", TOKEN)
    raw_query = urlsplit(url).query
    assert raw_query.startswith("token=")
    raw_value = raw_query[len("token=") :]
    assert "+" not in raw_value and "/" not in raw_value and "=" not in raw_value
    assert raw_value.count("%2B") == 3
    assert raw_value.count("%2F") == 3
    assert raw_value.count("%3D") == 3
    # '+' left raw would decode as a space: it must come back exactly
    assert query_of(url)["token"] == [TOKEN]


def test_token_object_or_str(hs: HeapStream, key: SigningKey) -> None:
    token = key.mint("vid-1")
    assert isinstance(token, Token)
    by_token = hs.embed_url("vid-1", token)
    by_str = hs.embed_url("vid-1", str(token))
    assert by_token == by_str
    assert query_of(by_token)["token"] == [str(token)]
    assert hs.embed_url("vid-1", f"  {token}\n") == by_str


@pytest.mark.parametrize("token", [None, 123, b"a.b.c", "", "   "])
def test_bad_token(hs: HeapStream, token: Any) -> None:
    with pytest.raises(InvalidArgument, match="token"):
        hs.embed_url("vid-1", token)


# ---------------------------------------------------------------------------- base URL


@pytest.mark.parametrize(
    "base",
    [
        "https://cdn.example.test/heapstream",
        "https://cdn.example.test/heapstream/",
        "https://cdn.example.test/heapstream///",
        " https://cdn.example.test/heapstream/ ",
    ],
)
def test_base_url_with_path_prefix(base: str) -> None:
    hs = HeapStream(PROJECT, base)
    assert hs.base_url == "https://cdn.example.test/heapstream"
    url = hs.embed_url("vid-1", TOKEN)
    parts = urlsplit(url)
    assert parts.netloc == "cdn.example.test"
    assert parts.path == f"/heapstream/e/{PROJECT}/vid-1/"
    assert "//e/" not in url
    assert query_of(url) == {"token": [TOKEN]}


def test_base_url_trailing_slash_only() -> None:
    hs = HeapStream(PROJECT, "https://app.heapstream.com/")
    assert hs.base_url == "https://app.heapstream.com"
    assert urlsplit(hs.poster_url("p", TOKEN)).path == f"/pstv/{PROJECT}/p/"


def test_sandbox_like_origin() -> None:
    hs = HeapStream(3, "http://127.0.0.1:54321")
    url = hs.preset_playlist_url("preset-1", TOKEN)
    parts = urlsplit(url)
    assert parts.scheme == "http"
    assert parts.netloc == "127.0.0.1:54321"
    assert parts.hostname == "127.0.0.1"
    assert parts.port == 54321
    assert parts.path == "/mpl/3/preset-1/"
    assert query_of(url) == {"token": [TOKEN]}
    assert repr(hs) == "HeapStream(project_id=3, base_url='http://127.0.0.1:54321')"


@pytest.mark.parametrize(
    "base",
    ["", "   ", "ftp://x.test", "app.heapstream.com", "https://x.test/?a=1", "https://x.test#f", 5],
)
def test_bad_base_url(base: Any) -> None:
    with pytest.raises(InvalidArgument, match="base_url"):
        HeapStream(PROJECT, base)


# ---------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    "bad",
    ["", "a/b", "a?b", "a#b", "a%20b", "a b", "a\tb", "a\nb", " lead", "trail ", "a\u00a0b"],
)
@pytest.mark.parametrize("method", [m for m in METHODS if m != "storyboard_url"])
def test_bad_string_ids(hs: HeapStream, method: str, bad: str) -> None:
    with pytest.raises(InvalidId) as info:
        getattr(hs, method)(bad, TOKEN)
    assert isinstance(info.value, InvalidArgument)
    assert isinstance(info.value, HeapStreamError)
    assert "_id" in str(info.value)  # names the field


@pytest.mark.parametrize("bad", [None, True, False, 1.5, ["x"]])
@pytest.mark.parametrize("method", [m for m in METHODS if m != "storyboard_url"])
def test_non_string_ids(hs: HeapStream, method: str, bad: Any) -> None:
    with pytest.raises(InvalidId):
        getattr(hs, method)(bad, TOKEN)


@pytest.mark.parametrize("bad", ["abc", "1.5", 1.5, True, False, None, -1, "", "-3", "１２"])
def test_bad_project_ids(bad: Any) -> None:
    with pytest.raises(InvalidId, match="project_id"):
        HeapStream(bad)


@pytest.mark.parametrize("bad", ["abc", "1.5", 1.5, True, None, -1, "", "7/8"])
def test_bad_storyboard_ids(hs: HeapStream, bad: Any) -> None:
    with pytest.raises(InvalidId, match="storyboard_id"):
        hs.storyboard_url(bad, TOKEN)


def test_integer_ids_accept_digit_strings(hs: HeapStream) -> None:
    assert HeapStream("12").project_id == 12
    assert HeapStream(" 0012 ").project_id == 12
    assert urlsplit(hs.storyboard_url("7", TOKEN)).path == f"/sbt/{PROJECT}/7/"
    assert urlsplit(hs.storyboard_url(0, TOKEN)).path == f"/sbt/{PROJECT}/0/"


def test_validate_id_direct() -> None:
    assert validate_id("abc-DEF_1.2") == "abc-DEF_1.2"
    assert validate_id(42, "video_id") == "42"
    assert validate_id("42", "project_id", integer=True) == "42"
    with pytest.raises(InvalidId, match="whitespace"):
        validate_id("a b", "video_id")
    with pytest.raises(InvalidId, match="'#'"):
        validate_id("a#b", "video_id")


def test_ids_with_other_url_characters_are_encoded(hs: HeapStream) -> None:
    url = hs.embed_url("vid:1&x", TOKEN)
    assert urlsplit(url).path == f"/e/{PROJECT}/vid%3A1%26x/"
    assert query_of(url) == {"token": [TOKEN]}
    assert parse_signed_url(url).id == "vid:1&x"  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- signed_urls


def test_signed_urls_video_only(hs: HeapStream) -> None:
    df = hs.signed_urls("vid-1", TOKEN)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["kind", "id", "url"]
    assert list(df["kind"]) == ["embed", "master", "original"]
    assert list(df["id"]) == ["vid-1"] * 3
    assert list(df["url"]) == [
        hs.embed_url("vid-1", TOKEN),
        hs.master_playlist_url("vid-1", TOKEN),
        hs.original_url("vid-1", TOKEN),
    ]


def test_signed_urls_everything(hs: HeapStream) -> None:
    df = hs.signed_urls(
        "vid-1",
        TOKEN,
        ["p-360", "p-720"],
        poster_id="post-1",
        text_track_ids=["en", "fr"],
        storyboard_id=5,
    )
    rows = list(zip(df["kind"], df["id"], strict=True))
    assert rows == [
        ("embed", "vid-1"),
        ("master", "vid-1"),
        ("poster", "post-1"),
        ("text_track", "en"),
        ("text_track", "fr"),
        ("preset", "p-360"),
        ("preset", "p-720"),
        ("mp4", "p-360"),
        ("mp4", "p-720"),
        ("storyboard", "5"),
        ("original", "vid-1"),
    ]
    for kind, id_, url in df.itertuples(index=False):
        assert urlsplit(url).path == f"/{URL_KINDS[kind].prefix}/{PROJECT}/{id_}/"
        assert query_of(url) == {"token": [TOKEN]}


def test_signed_urls_single_ids_and_no_original(hs: HeapStream) -> None:
    df = hs.signed_urls("vid-1", TOKEN, "p-1", text_track_ids="en", include_original=False)
    assert list(df["kind"]) == ["embed", "master", "text_track", "preset", "mp4"]
    assert list(df["id"]) == ["vid-1", "vid-1", "en", "p-1", "p-1"]


def test_signed_urls_validates_ids(hs: HeapStream) -> None:
    with pytest.raises(InvalidId):
        hs.signed_urls("vid-1", TOKEN, ["ok", "not ok"])
    with pytest.raises(InvalidId):
        hs.signed_urls("vid-1", TOKEN, storyboard_id="x")
    with pytest.raises(InvalidArgument, match="preset_ids"):
        hs.signed_urls("vid-1", TOKEN, 3.5)


# ---------------------------------------------------------------------------- embed


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse_iframe(markup: str) -> dict[str, str | None]:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    assert [t for t, _ in parser.tags] == ["iframe"]
    return parser.tags[0][1]


ALLOW = (
    "fullscreen; accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; "
    "picture-in-picture"
)


def test_embed_html_exact_attributes(hs: HeapStream) -> None:
    url = hs.embed_url("vid-1", TOKEN)
    markup = embed_html(url)
    assert markup.startswith("<iframe ") and markup.endswith("></iframe>")
    assert " allowFullScreen " in markup  # spelt as in HeapStream's docs
    attrs = parse_iframe(markup)
    assert attrs == {
        "src": url,
        "width": "1280",
        "height": "720",
        "frameborder": "0",
        "allowfullscreen": None,
        "style": "border: none;",
        "allow": ALLOW,
    }
    assert EMBED_ALLOW == ALLOW


def test_embed_html_sizes(hs: HeapStream) -> None:
    url = hs.embed_url("vid-1", TOKEN)
    attrs = parse_iframe(embed_html(url, 640, 360))
    assert (attrs["width"], attrs["height"]) == ("640", "360")
    attrs = parse_iframe(embed_html(url, "100%", "50vh"))
    assert (attrs["width"], attrs["height"]) == ("100%", "50vh")


@pytest.mark.parametrize("size", [0, -1, True, "abc", "10px; x", None, 1.5])
def test_embed_html_bad_sizes(hs: HeapStream, size: Any) -> None:
    with pytest.raises(InvalidArgument, match="width"):
        embed_html(hs.embed_url("vid-1", TOKEN), width=size)


def test_embed_html_escapes_the_url() -> None:
    nasty = 'https://x.test/e/1/v/?token=a"b<c&d'
    markup = embed_html(nasty)
    assert 'a"b' not in markup
    assert "<c" not in markup
    assert "&quot;" in markup and "&lt;" in markup and "&amp;" in markup
    assert parse_iframe(markup)["src"] == nasty
    broken_out = 'https://x.test/"><script>alert(1)</script>'
    markup = embed_html(broken_out)
    assert "<script>" not in markup
    assert parse_iframe(markup)["src"] == broken_out


def test_embed_html_autoplay(hs: HeapStream) -> None:
    url = hs.embed_url("vid-1", TOKEN)
    assert "autoplay" not in query_of(parse_iframe(embed_html(url))["src"] or "")
    src = parse_iframe(embed_html(url, autoplay=True))["src"] or ""
    assert query_of(src) == {"token": [TOKEN], "autoplay": ["true"]}
    assert urlsplit(src).path == f"/e/{PROJECT}/vid-1/"
    # the URL builder's own autoplay gives the same parameters
    assert query_of(hs.embed_url("vid-1", TOKEN, autoplay=True)) == query_of(src)
    # autoplay twice does not duplicate the parameter
    src2 = parse_iframe(embed_html(src, autoplay=True))["src"] or ""
    assert query_of(src2) == {"token": [TOKEN], "autoplay": ["true"]}


@pytest.mark.parametrize("url", ["", "   ", None, 3])
def test_embed_html_needs_a_url(url: Any) -> None:
    with pytest.raises(InvalidArgument, match="embed URL"):
        embed_html(url)


def test_embed_object_renders(hs: HeapStream) -> None:
    url = hs.embed_url("vid-1", TOKEN)
    e = embed(url, 640, 360, autoplay=True)
    assert isinstance(e, Embed)
    assert e._repr_html_() == embed_html(url, 640, 360, autoplay=True)
    assert e.html == e._repr_html_()
    assert parse_iframe(e._repr_html_())["width"] == "640"
    text = repr(e)
    assert "aa%2Bbb" not in text and TOKEN not in text  # the token is redacted
    assert "/e/12/vid-1/" in text
    with pytest.raises(InvalidArgument):
        embed(url, width=-5)  # validated at creation, not at display time


# ---------------------------------------------------------------------------- parse / redact


@pytest.mark.parametrize("method", list(METHODS))
def test_parse_signed_url_round_trip(method: str) -> None:
    hs = HeapStream(PROJECT, "http://127.0.0.1:8765/prefix")
    prefix, id_ = METHODS[method]
    parsed = parse_signed_url(getattr(hs, method)(id_, TOKEN))
    assert isinstance(parsed, SignedUrl)
    assert URL_KINDS[parsed.kind].prefix == prefix
    assert parsed.project_id == str(PROJECT)
    assert parsed.id == str(id_)
    assert parsed.token == TOKEN
    assert parsed.base_url == "http://127.0.0.1:8765/prefix"


def test_parse_signed_url_child_and_unknown() -> None:
    child = parse_signed_url(f"https://app.heapstream.com/mpl/{PROJECT}/p-1/seg-00001.ts?token=t")
    assert child == SignedUrl("preset", str(PROJECT), "p-1", "t", "https://app.heapstream.com")
    no_token = parse_signed_url(f"https://app.heapstream.com/e/{PROJECT}/v/")
    assert no_token is not None and no_token.token is None
    assert parse_signed_url("https://example.test/somewhere/else/") is None
    assert parse_signed_url("https://app.heapstream.com/e/not-a-number/v/") is None
    assert parse_signed_url(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [".", "..", "a\x00b", "a\x7fb", "tab\there"])
def test_path_steps_and_control_characters_are_not_ids(bad: str) -> None:
    hs = HeapStream(1)
    with pytest.raises(InvalidId) as info:
        hs.embed_url(bad, "tok")
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize(
    "src", ["javascript:alert(1)", "not a url", "//evil.example/e/1/v/", "data:text/html,x"]
)
def test_embed_html_refuses_what_is_not_an_http_url_or_a_path(src: str) -> None:
    with pytest.raises(InvalidArgument, match="http"):
        embed_html(src)


def test_embed_html_accepts_a_proxy_path() -> None:
    markup = embed_html("/user/ann/proxy/8000/e/1/v/?token=t")
    assert 'src="/user/ann/proxy/8000/e/1/v/?token=t"' in markup


# ---------------------------------------------------------------------------- hostile input

SECRET = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2In0.U0VDUkVULXNpZ25hdHVyZQ"


def _clean(err: BaseException) -> str:
    msg = str(err)
    assert SECRET not in msg and SECRET.split(".")[2] not in msg, msg
    return msg


@pytest.mark.parametrize(
    "url",
    ["//[", f"http://[::1/mmpl/{PROJECT}/vid-1/?token={SECRET}", f"http://h/\ud800?token={SECRET}"],
)
def test_text_that_is_no_url_is_not_a_heapstream_url(url: str, key: SigningKey) -> None:
    with pytest.raises(InvalidArgument, match="not a HeapStream URL") as info:
        parse_signed_url(url)
    _clean(info.value)
    # diagnose(token, url=...) reports the same, as our error (it used to crash)
    from hs_notebook.diagnose import diagnose

    with pytest.raises(InvalidArgument, match="not a HeapStream URL") as diag:
        diagnose(key.mint("vid-1"), url=url)
    _clean(diag.value)


def test_a_url_with_two_tokens_is_ambiguous(hs: HeapStream) -> None:
    url = hs.master_playlist_url("vid-1", SECRET) + "&token=other"
    with pytest.raises(InvalidArgument, match="2 'token' query parameters") as info:
        parse_signed_url(url)
    _clean(info.value)


@pytest.mark.parametrize("bad", ["vid\ud800", "\udcff"])
def test_lone_surrogates_in_ids_and_tokens_are_our_errors(hs: HeapStream, bad: str) -> None:
    with pytest.raises(InvalidId, match="lone surrogate"):
        hs.embed_url(bad, SECRET)
    with pytest.raises(InvalidArgument, match="token holds a lone surrogate") as info:
        hs.master_playlist_url("vid-1", SECRET + bad)
    _clean(info.value)
    with pytest.raises(InvalidArgument, match="lone surrogate"):
        HeapStream(PROJECT, f"https://h.example/{bad}")
    with pytest.raises(InvalidArgument, match="lone surrogate"):
        with_query(f"https://h.example/?token={SECRET}", a=bad)
    with pytest.raises(InvalidArgument, match="lone surrogate"):
        embed_html(f"https://h.example/e/1/{bad}/?token={SECRET}", autoplay=True)


def test_messages_that_quote_input_never_quote_a_token(hs: HeapStream) -> None:
    signed = f"https://h.example/e/1/v/?token={SECRET}"
    calls = [
        lambda: hs.embed_url(signed, SECRET),  # a URL where an id belongs
        lambda: hs.url("master", "..", SECRET),
        lambda: HeapStream(PROJECT, signed),  # base_url with a query
        lambda: HeapStream(PROJECT, f"ftp://h.example/?token={SECRET}"),
        lambda: HeapStream(PROJECT, f"http://[::1/?token={SECRET}"),
        lambda: embed_html(f"ftp://h.example/e/1/v/?token={SECRET}"),
        lambda: with_query(f"http://[::1/?token={SECRET}", a="1"),
        lambda: validate_id(SECRET + "/x", "video_id"),
        lambda: validate_id(f"?token={SECRET}", "project_id", integer=True),
    ]
    for call in calls:
        with pytest.raises(HeapStreamError) as info:
            call()
        _clean(info.value)
