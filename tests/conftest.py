"""Shared pytest fixtures: one media cache per test session and a running "tiny" sandbox.

Fixtures:
    hs_cache_dir     (session) a temporary media cache; also exported as $HS_NOTEBOOK_CACHE
                     for the whole session, so every ``Sandbox``/``ensure_media`` call in any
                     test reuses the media generated once.
    tiny_media       (session) the ``MediaSet`` of profile "tiny" in that cache.
    sandbox          (session) a started ``Sandbox("tiny", catalog_size=3)``; treat it as
                     shared: do not revoke its startup key or leave redirects behind.  Its
                     ``faults`` are reset to ``None`` after every test that used it.
    sandbox_factory  (function) ``make(**kwargs) -> Sandbox``: a started tiny sandbox of your
                     own (same cache; kwargs go to ``Sandbox``), stopped after the test.  Use it
                     to change faults, keys, redirects or ``child_tokens``.
    http             (function) an ``httpx.Client`` that ignores proxy environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hs_notebook.sandbox.media import MediaSet, ensure_media
from hs_notebook.sandbox.server import Sandbox

CACHE_ENV = "HS_NOTEBOOK_CACHE"


@pytest.fixture(scope="session")
def hs_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A media cache directory shared by the whole test session."""
    return tmp_path_factory.mktemp("hs_cache")


@pytest.fixture(scope="session", autouse=True)
def _hs_cache_env(hs_cache_dir: Path) -> Iterator[None]:
    old = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(hs_cache_dir)
    yield
    if old is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = old


@pytest.fixture(scope="session")
def tiny_media(hs_cache_dir: Path) -> MediaSet:
    """The "tiny" media set (generated once per session)."""
    return ensure_media("tiny", cache_dir=hs_cache_dir)


@pytest.fixture(scope="session")
def sandbox(hs_cache_dir: Path, tiny_media: MediaSet) -> Iterator[Sandbox]:
    """A running tiny sandbox shared by the session (3 catalog videos)."""
    sb = Sandbox("tiny", cache_dir=hs_cache_dir, catalog_size=3)
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture(autouse=True)
def _reset_shared_sandbox_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sandbox" in request.fixturenames:
        sb: Sandbox = request.getfixturevalue("sandbox")
        sb.faults = None


@pytest.fixture
def sandbox_factory(hs_cache_dir: Path, tiny_media: MediaSet) -> Iterator[Callable[..., Sandbox]]:
    """``make(**kwargs)`` starts a private tiny sandbox; all are stopped after the test."""
    made: list[Sandbox] = []

    def make(**kwargs: Any) -> Sandbox:
        kwargs.setdefault("cache_dir", hs_cache_dir)
        profile = kwargs.pop("profile", "tiny")
        sb = Sandbox(profile, **kwargs)
        made.append(sb)
        return sb.start()

    yield make
    for sb in made:
        sb.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain httpx client (no proxies from the environment, 10 s timeout)."""
    with httpx.Client(trust_env=False, timeout=10.0) as client:
        yield client
