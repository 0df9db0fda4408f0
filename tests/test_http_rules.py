"""hs_notebook.http rules (pure, no server): a token goes with child URIs and across
redirects only on the exact origin (scheme, host, port) it was sent to."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hs_notebook.errors import InvalidArgument, PlaylistError
from hs_notebook.http import (
    child_url,
    origin_of,
    redirect_url,
    request_url,
    same_origin,
    token_of,
    with_token,
    without_token,
)
from hs_notebook.http._rules import single_token

# ---------------- child URIs get the parent's token on its origin only


P = "https://app.example.com/mpl/1/preset/?token=TOK"


def test_child_url_same_origin_relative_gets_parent_token() -> None:
    assert (
        child_url(P, "seg-00001.ts")
        == "https://app.example.com/mpl/1/preset/seg-00001.ts?token=TOK"
    )
    assert child_url(P, "/mpl/1/other/") == "https://app.example.com/mpl/1/other/?token=TOK"


def test_child_url_same_origin_absolute_without_token_gets_it() -> None:
    got = child_url(P, "https://APP.example.com:443/sbt/1/2/sprite-0.jpg#xywh=0,0,10,10")
    assert token_of(got) == "TOK"
    assert got.endswith("#xywh=0,0,10,10")


def test_child_url_keeps_a_childs_own_token() -> None:
    got = child_url(P, "https://app.example.com/mpl/1/p/seg.ts?token=OTHER")
    assert token_of(got) == "OTHER"


@pytest.mark.parametrize(
    "uri",
    [
        "https://cdn.example.com/seg.ts",  # other host
        "https://app.example.com:8443/seg.ts",  # other port
        "http://app.example.com/seg.ts",  # other scheme
        "//evil.example.net/seg.ts",  # scheme-relative to another host
        "https://app.example.com.evil.net/seg.ts",  # prefix trick
        "https://app.example.com@evil.net/seg.ts",  # userinfo trick
    ],
)
def test_child_url_never_adds_token_to_another_origin(uri: str) -> None:
    got = child_url(P, uri)
    assert "TOK" not in got
    assert token_of(got) is None


def test_child_url_without_parent_token_adds_nothing() -> None:
    assert token_of(child_url("https://a.example/x/", "y.ts")) is None


@pytest.mark.parametrize(
    ("parent", "uri", "gets_token"),
    [
        ("http://127.0.0.1:8000/mpl/1/p/?token=T", "//evil.example/x", False),
        ("http://127.0.0.1:8000/mpl/1/p/?token=T", "http://127.0.0.1:8000@evil.example/x", False),
        ("http://127.0.0.1:8000/mpl/1/p/?token=T", "http://[::1]:8000/x", False),
        ("http://[::1]:8000/mpl/1/p/?token=T", "http://[::1]:8000/x", True),
        ("http://h.example/mpl/1/p/?token=T", "http://H.EXAMPLE:80/x", True),
        ("https://exämple.example/mpl/1/p/?token=T", "https://xn--exmple-cua.example/x", True),
        ("https://h.example/mpl/1/p/?token=T", "http://h.example/x", False),
        ("https://h.example/mpl/1/p/?token=T", "https://h.example.evil.example/x", False),
    ],
)
def test_child_tokens_follow_the_exact_origin(parent: str, uri: str, gets_token: bool) -> None:
    got = child_url(parent, uri)
    assert (token_of(got) == "T") is gets_token
    assert same_origin(parent, got) is gets_token


# ---------------- origins, redirects, token parameters


def test_same_origin_rules() -> None:
    assert same_origin("http://h.example/a", "http://H.EXAMPLE:80/b")
    assert not same_origin("http://h.example/a", "https://h.example/a")
    assert not same_origin("http://h.example:8000/a", "http://h.example:8001/a")
    assert not same_origin("http://h.example/a", "http://g.example/a")


def test_redirect_url_strips_token_when_leaving_the_origin() -> None:
    cur = "http://a.example:8000/mmpl/1/v/?token=TOK"
    home = "http://a.example:8000/"
    # the Location even carries the token itself: it must still be stripped
    got = redirect_url(
        cur, "http://b.example:8000/x/?token=TOK&k=1", token="TOK", token_origin=home
    )
    assert token_of(got) is None and "TOK" not in got and "k=1" in got
    same = redirect_url(cur, "/other/", token="TOK", token_origin=home)
    assert same == "http://a.example:8000/other/?token=TOK"
    # coming back to the home origin from elsewhere gets the token back
    back = redirect_url(
        "http://b.example/x/", "http://a.example:8000/y/", token="TOK", token_origin=home
    )
    assert token_of(back) == "TOK"
    # another port of the same host is another origin
    assert token_of(redirect_url(cur, "http://a.example:9000/z/?token=TOK", token="TOK")) is None


def test_a_downgrade_redirect_loses_the_token() -> None:
    cur = "https://h.example/mmpl/1/v/?token=T"
    assert token_of(redirect_url(cur, "http://h.example/mmpl/1/v/?token=T", token="T")) is None
    assert token_of(redirect_url(cur, "/mmpl/1/w/", token="T")) == "T"


def test_with_and_without_token() -> None:
    assert token_of(with_token("http://h/x/?a=1", "T")) == "T"
    assert without_token("http://h/x/?a=1&token=T") == "http://h/x/?a=1"
    assert without_token("http://h/x/") == "http://h/x/"


@pytest.mark.parametrize("bad", [None, 5, b"https://h.example/"])
def test_url_helpers_refuse_non_string_urls(bad: Any) -> None:
    with pytest.raises(InvalidArgument):
        child_url(bad, "seg-0.ts")
    with pytest.raises(InvalidArgument):
        child_url("https://h.example/mpl/1/p/?token=T", bad)
    with pytest.raises(InvalidArgument):
        redirect_url("https://h.example/a/", bad)
    with pytest.raises(InvalidArgument):
        with_token(bad, "T")
    if bad is not None:
        with pytest.raises(InvalidArgument):
            with_token("https://h.example/a/", bad)


# ---------------- hostile input: only our errors, never a token in them (issue 10)

SECRET = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2In0.U0VDUkVULXNpZ25hdHVyZQ"
P_SECRET = f"https://h.example/mpl/1/p/?token={SECRET}"

#: URL text that is no URL: lone surrogates, bad ports, brackets and IDNA labels
HOSTILE_URLS = [
    f"http://h.example/\ud800?token={SECRET}",
    f"http://h.example/?token={SECRET}\udcff",
    f"http://\udc80.example/?token={SECRET}",
    f"http://[::1/x?token={SECRET}",
    f"http://xn--/x?token={SECRET}",
    f"http://h.example:1:2/x?token={SECRET}",
    f"http://h.example/\x00?token={SECRET}",
]


def _clean(err: BaseException) -> str:
    msg = str(err)
    assert SECRET not in msg and SECRET.split(".")[2] not in msg, msg
    assert msg.isprintable(), repr(msg)
    return msg


@pytest.mark.parametrize("bad", HOSTILE_URLS)
def test_url_rules_raise_our_errors_without_the_token(bad: str) -> None:
    for call in (
        lambda: token_of(bad),
        lambda: without_token(bad),
        lambda: with_token(bad, "T"),
        lambda: origin_of(bad),
        lambda: same_origin(P_SECRET, bad),
        lambda: request_url(bad),
        lambda: child_url(bad, "seg-0.ts"),
        lambda: redirect_url(bad, "/a/"),
    ):
        with pytest.raises(InvalidArgument) as info:
            call()
        _clean(info.value)
    _unusable_as_child_or_target(bad)


def _unusable_as_child_or_target(bad: str) -> None:
    with pytest.raises(PlaylistError) as child:
        child_url(P_SECRET, bad)
    _clean(child.value)
    with pytest.raises(InvalidArgument) as target:
        redirect_url(P_SECRET, bad, token=SECRET)
    _clean(target.value)


@pytest.mark.parametrize("bad", ["http:////[/x", "http://[::1/x", "http://xn--/x"])
def test_references_that_cannot_be_joined_are_our_errors(bad: str) -> None:
    """``http:////[/x`` parses alone (empty host) but not against a parent."""
    _unusable_as_child_or_target(bad)


def test_a_lone_surrogate_is_named_with_its_position() -> None:
    with pytest.raises(PlaylistError, match=r"lone surrogate \('\\udcff' at position 6\)"):
        child_url(P_SECRET, "seg-0.\udcffts")
    with pytest.raises(InvalidArgument, match="token holds a lone surrogate"):
        with_token("https://h.example/", "abc\ud800")
    # a URL that only looks odd is still fine
    assert child_url(P_SECRET, "seg 0 ü.ts").startswith("https://h.example/mpl/1/p/seg%200%20")


@pytest.mark.parametrize(
    "url",
    [
        f"https://h.example/mpl/1/p/?token={SECRET}&token=other",
        f"https://h.example/mpl/1/p/?token=other&tok%65n={SECRET}",
        f"https://h.example/mpl/1/p/?a=1&token={SECRET}&b=2&token={SECRET}",
    ],
)
def test_two_token_parameters_are_refused_naming_the_parameter(url: str) -> None:
    """The sandbox reads the last ``token``, httpx the first: the client refuses both."""
    for call in (lambda: token_of(url), lambda: child_url(url, "seg-0.ts")):
        with pytest.raises(InvalidArgument, match="2 'token' query parameters") as info:
            call()
        assert "keep exactly one 'token'" in _clean(info.value)
    with pytest.raises(InvalidArgument):
        single_token(httpx.URL(url))
    assert single_token(httpx.URL(P_SECRET)) == SECRET
    assert single_token(httpx.URL("https://h.example/?token=")) is None
    # with_token replaces them all with one; without_token removes them all
    assert token_of(with_token(url, "T")) == "T"
    assert token_of(without_token(url)) is None
