"""hs_notebook.redaction: the one home for hiding tokens in text, tables and log records."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from _loopback import TlsH2Origin

from hs_notebook.errors import InvalidArgument
from hs_notebook.http import Client, token_of
from hs_notebook.redaction import (
    LOGGERS,
    install_log_redaction,
    redact,
    redact_frame,
    redact_token,
)
from hs_notebook.tokens import SigningKey, generate_signing_key
from hs_notebook.urls import HeapStream

PROJECT = 12


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return generate_signing_key("test-key")


@pytest.fixture
def hs() -> HeapStream:
    return HeapStream(PROJECT)


# ---------------- redact


def test_redact_hides_the_token() -> None:
    shown = redact("http://h/x/?token=eyJsecret.part.sig&a=1")
    assert "eyJsecret" not in shown and "token=…" in shown and "a=1" in shown


def test_redact_never_raises_and_hides_encoded_token_names() -> None:
    # an unclosed IPv6 bracket made redact() itself raise ValueError inside error messages
    assert "SECRET" not in redact("http://[::1/x?token=SECRET")
    # the origin decodes the parameter name, so this is a working token: hide it too
    assert token_of("http://h.example/x?tok%65n=SECRET") == "SECRET"
    assert "SECRET" not in redact("http://h.example/x?tok%65n=SECRET")
    assert "SECRET" not in redact("http://h.example/x?a=b;token=SECRET")


def test_redact_token(hs: HeapStream, key: SigningKey) -> None:
    token = key.mint("vid-1")
    url = hs.embed_url("vid-1", token, autoplay=True)
    red = redact_token(url)
    assert str(token) not in red
    assert str(token).split(".")[2][:16] not in red
    assert urlsplit(red).path == f"/e/{PROJECT}/vid-1/"
    assert query_of(red) == {"token": ["…"], "autoplay": ["true"]}
    assert query_of(redact_token(url, "REDACTED"))["token"] == ["REDACTED"]
    plain = "https://app.heapstream.com/e/1/v/"
    assert redact_token(plain) == plain


# ---------------- log records


def test_httpx_log_records_never_carry_the_token(sandbox: Any, caplog: Any) -> None:
    """httpx logs every request URL at INFO; a notebook with logging at INFO showed tokens."""
    url = sandbox.signed_url("master", sandbox.video_id)
    token = token_of(url)
    assert token
    with caplog.at_level(logging.DEBUG), Client() as c:
        c.get_text(url, expect="playlist")
    lines = [r.getMessage() for r in caplog.records]
    assert any("HTTP Request" in line for line in lines), "httpx logged the request"
    assert not any(token in line for line in lines)
    assert any("token=…" in line for line in lines)


# ---------------- bare JWTs, tables, any logger


def test_redact_hides_bare_jwts_and_keeps_the_rest(key: SigningKey) -> None:
    token = str(key.mint("vid-1"))
    shown = redact(f"not a valid URL: {token!r} (no scheme)")
    assert token not in shown and token.split(".")[2] not in shown
    assert shown == "not a valid URL: '…' (no scheme)"
    assert redact(None) == ""
    assert redact(12) == "12"
    assert redact("plain text, no secrets") == "plain text, no secrets"


def test_redact_frame_redacts_text_cells_only(key: SigningKey, hs: HeapStream) -> None:
    token = str(key.mint("vid-1"))
    frame = hs.signed_urls("vid-1", token, preset_ids=["p-1"])
    frame["bits"] = range(len(frame))
    frame["note"] = pd.array([token] + [None] * (len(frame) - 1), dtype="string")
    shown = redact_frame(frame)
    assert token not in shown.to_string() and token in frame.to_string()  # a copy
    assert shown["bits"].tolist() == frame["bits"].tolist()
    assert shown["note"].dtype == frame["note"].dtype
    assert shown["note"].isna().sum() == len(frame) - 1
    assert shown["url"].str.contains("token=…", regex=False).all()
    only = redact_frame(frame, ["note"])
    assert only["url"].tolist() == frame["url"].tolist() and token not in only["note"].iloc[0]
    with pytest.raises(InvalidArgument):
        redact_frame(["not", "a", "frame"])  # type: ignore[arg-type]


def test_the_filter_redacts_any_argument_type_and_exception_text(caplog: Any) -> None:
    """hpack logs header values as bytes (``b'/x?token=...'``), httpcore logs reprs: the
    message is rendered and redacted whole; a traceback's text too."""
    install_log_redaction()
    secret = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2In0.c2lnbmF0dXJl"
    log = logging.getLogger("hpack.hpack")
    with caplog.at_level(logging.DEBUG, logger="hpack"):
        log.debug("Adding %s=%s to the header table", b":path", f"/m/?token={secret}".encode())
        log.debug("Decoded %s", (b":path", b"/m/?token=" + secret.encode()))
        try:
            raise ValueError(f"bad {secret}")
        except ValueError:
            log.exception("failed on %s", "http://h/?token=" + secret)
    assert len(caplog.records) == 3
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in logging.Formatter().format(record)
    assert "token=…" in caplog.records[0].getMessage()


def test_every_library_logger_that_sees_requests_has_the_filter() -> None:
    install_log_redaction()
    for name in LOGGERS:
        assert any(
            getattr(f, "hs_notebook_redacts", False) for f in logging.getLogger(name).filters
        )
    # a logger of those libraries created later is covered at the next client
    late = logging.getLogger("httpcore.some_new_module")
    Client().close()
    assert any(getattr(f, "hs_notebook_redacts", False) for f in late.filters)


@pytest.mark.slow
def test_no_token_in_any_debug_record_over_http2_and_tls(tmp_path: Path, caplog: Any) -> None:
    """Over HTTP/2 the header blocks (``:path`` with the token, a ``location`` carrying
    it back) go through hpack, httpcore and h2, each with its own loggers: a real
    HTTP/2-over-TLS origin (hypercorn, a certificate made here), every logger at DEBUG."""
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2LTEiLCJhdWQiOiJ2In0.c2lnbmF0dXJlLXNlY3JldA"
    secret = token.split(".")[2]
    with (
        TlsH2Origin(tmp_path) as origin,
        caplog.at_level(logging.DEBUG),
        Client(http2=True, verify=str(origin.cert), retries=0) as c,
    ):
        text = c.get_text(f"{origin.base_url}/mmpl/1/v/?token={token}", expect="playlist")
        moved = c.get_text(f"{origin.base_url}/moved/1/v/?token={token}&a=1")
        opened = c.run(lambda ac: ac.open_stream(f"{origin.base_url}/x/?token={token}"))
        version = opened[0].http_version
        c.run(lambda ac: opened[0].aclose())
    assert "# 2" in text and "# 2" in moved  # the origin saw HTTP/2 ...
    assert version == "HTTP/2"  # ... and so did the client
    records = caplog.records
    loggers = {r.name.split(".")[0] for r in records}
    assert {"hpack", "httpcore", "httpx"} <= loggers, loggers  # the libraries did log
    header_records = [r for r in records if r.name.startswith("hpack")]
    assert any(":path" in r.getMessage() and "token=…" in r.getMessage() for r in header_records)
    for record in records:
        shown = logging.Formatter("%(name)s %(message)s").format(record)
        assert token not in shown and secret not in shown, (record.name, shown[:200])
