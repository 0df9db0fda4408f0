"""Tests for hs_notebook.env: the one home for environment variable names and credentials."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from hs_notebook import env
from hs_notebook.env import (
    ENV_KEY,
    ENV_KEY_ID,
    credentials,
    env_value,
    has_credentials,
    missing_credentials,
)
from hs_notebook.errors import HeapStreamError, InvalidSigningKey

PACKAGE = Path(__file__).resolve().parent.parent / "hs_notebook"
NAMES = {getattr(env, n) for n in env.__all__ if n.startswith("ENV_")}


def test_credentials_strip_the_id_and_keep_the_key_text() -> None:
    got = credentials({ENV_KEY_ID: "  sk-1 \n", ENV_KEY: "TFMwdExT\nMHRMUw==\n"})
    assert got == ("sk-1", "TFMwdExT\nMHRMUw==\n")
    assert has_credentials({ENV_KEY_ID: "sk-1", ENV_KEY: "x"})
    assert missing_credentials({ENV_KEY_ID: "sk-1", ENV_KEY: "x"}) == ()


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, (ENV_KEY_ID, ENV_KEY)),
        ({ENV_KEY_ID: "sk"}, (ENV_KEY,)),
        ({ENV_KEY: "abcd"}, (ENV_KEY_ID,)),
        ({ENV_KEY_ID: " \t", ENV_KEY: "abcd"}, (ENV_KEY_ID,)),
        ({ENV_KEY_ID: "sk", ENV_KEY: "\n"}, (ENV_KEY,)),
    ],
)
def test_missing_or_blank_credentials_are_named(
    environ: dict[str, str], missing: tuple[str, ...]
) -> None:
    assert missing_credentials(environ) == missing
    assert not has_credentials(environ)
    with pytest.raises(InvalidSigningKey) as info:
        credentials(environ)
    assert isinstance(info.value, HeapStreamError)
    for name in missing:
        assert name in str(info.value)
    for name in {ENV_KEY_ID, ENV_KEY} - set(missing):
        assert not re.search(rf"\b{name}\b", str(info.value))
    key = environ.get(ENV_KEY, "").strip()
    if key:
        assert key not in str(info.value)  # the key text is never quoted


def test_os_environ_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEY_ID, "os-kid")
    monkeypatch.setenv(ENV_KEY, "b3Mta2V5")
    assert credentials() == ("os-kid", "b3Mta2V5")
    monkeypatch.delenv(ENV_KEY)
    assert missing_credentials() == (ENV_KEY,)


def test_env_value_strips_and_defaults() -> None:
    assert env_value("X", {"X": "  /user/ann/ "}) == "/user/ann/"
    assert env_value("X", {"X": "   "}, default="demo") == "demo"
    assert env_value("X", {}, default="demo") == "demo"
    assert env_value("X", {}) == ""


def _env_reads_and_names(path: Path) -> list[str]:
    """``os.environ.get``/``os.environ[...]``/``os.getenv`` calls, and string literals equal
    to one of env.py's variable names, in one module."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        target = node.func if isinstance(node, ast.Call) else getattr(node, "value", None)
        hit = isinstance(node, ast.Call | ast.Subscript) and isinstance(target, ast.Attribute)
        text = ast.unparse(node) if hit and target.attr in ("get", "getenv", "environ") else ""
        if text.startswith(("os.environ.get(", "os.getenv(", "os.environ[")):
            out.append(f"{path.name}:{node.lineno}: {text}")
        elif isinstance(node, ast.Constant) and node.value in NAMES:
            out.append(f"{path.name}:{node.lineno}: {node.value!r}")
    return out


def test_env_py_is_the_only_module_that_names_or_reads_variables() -> None:
    assert len(NAMES) >= 10
    found = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "env.py"
        for hit in _env_reads_and_names(path)
    ]
    assert found == []
    # the check itself sees what it looks for
    assert _env_reads_and_names(PACKAGE / "env.py")
