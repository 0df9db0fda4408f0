"""hs_notebook.http's connection-pool override: used only on the tested httpcore range
and only with its invariant (keep-alive limit == connection limit); otherwise the client
keeps httpx's stock pool and says so once in the log, and still works."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpcore
import httpx
import pytest

from hs_notebook.http import AsyncClient, Client
from hs_notebook.http import _pool as pool_module
from hs_notebook.http._pool import TESTED_HTTPCORE, LinearPool, linear_pool
from hs_notebook.http._transport import Backend


def _pool(ac: AsyncClient) -> Any:
    return ac._http._transport._pool


def test_the_installed_httpcore_is_in_the_tested_range() -> None:
    low, high = TESTED_HTTPCORE
    found = tuple(int(p) for p in httpcore.__version__.split(".")[:3])
    assert low <= found < high, "update TESTED_HTTPCORE after testing the new httpcore"


def test_an_untested_httpcore_falls_back_to_the_stock_pool_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: Any, sandbox: Any
) -> None:
    monkeypatch.setattr(httpcore, "__version__", "1.1.0")
    monkeypatch.setattr(pool_module, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="hs_notebook.http"):
        ac = AsyncClient()
        again = AsyncClient()
    assert type(_pool(ac)) is httpcore.AsyncConnectionPool
    assert type(_pool(again)) is httpcore.AsyncConnectionPool
    warnings = [r.getMessage() for r in caplog.records if r.name == "hs_notebook.http"]
    assert len(warnings) == 1, "one warning per reason and process"
    assert "stock connection pool" in warnings[0] and "httpcore 1.1.0" in warnings[0]
    assert "encode/httpcore#1035" in warnings[0]

    async def go() -> str:
        async with ac:
            return await ac.get_text(sandbox.signed_url("master", sandbox.video_id))

    assert asyncio.run(go()).startswith("#EXTM3U")  # the stock pool works
    asyncio.run(again.aclose())
    with Client() as c:  # and the sync face on it too
        assert c.get_text(sandbox.signed_url("master", sandbox.video_id)).startswith("#EXTM3U")


def test_the_invariant_is_checked_where_it_is_relied_on(caplog: Any) -> None:
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=2)
    stock = httpx.AsyncHTTPTransport(limits=limits)._pool
    with caplog.at_level(logging.WARNING, logger="hs_notebook.http"):
        assert linear_pool(stock, limits, False, Backend()) is None
    with pytest.raises(ValueError, match="max_keepalive_connections == max_connections"):
        LinearPool(max_connections=4, max_keepalive_connections=2)
    same = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    made = linear_pool(stock, same, True, Backend())
    assert isinstance(made, LinearPool) and made._max_keepalive_connections == 4


def test_a_pool_laid_out_differently_is_left_alone() -> None:
    limits = httpx.Limits(max_connections=3, max_keepalive_connections=3)
    assert linear_pool(object(), limits, False, Backend()) is None
