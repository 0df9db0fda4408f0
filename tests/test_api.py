"""The public face: ``import hs_notebook as hs`` reaches the user API (``hs.__all__``), every
public module says what it exports (``__all__``), and importing the package stays light
(the sandbox and the widgets load on first use)."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import types

import hs_notebook as hs

#: Public modules: every module of the package whose dotted name has no ``_`` part.
PUBLIC_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(hs.__path__, "hs_notebook.")
    if not any(part.startswith("_") for part in info.name.split("."))
)


def test_every_name_in_all_resolves_and_is_public() -> None:
    assert len(hs.__all__) == len(set(hs.__all__))
    for name in hs.__all__:
        assert not name.startswith("_"), name
        value = getattr(hs, name)  # lazy ones too: the dev install has every extra
        assert not isinstance(value, types.ModuleType), name
    assert set(hs.__all__) <= set(dir(hs))


def test_the_surface_is_smaller_than_before_and_keeps_the_core() -> None:
    # 73 names before issue 9; the low-level parsers now live only in their modules
    assert len(hs.__all__) < 73
    for name in ("SigningKey", "HeapStream", "diagnose", "qa", "audit", "Sandbox", "Inspector"):
        assert name in hs.__all__
    for name in ("parse_master", "media_playlist_info", "parse_vtt", "Cue"):
        assert name not in hs.__all__
        assert not hasattr(hs, name)
    assert hs.MissingExtra.__module__ == "hs_notebook.errors"


def test_every_public_module_declares_all() -> None:
    missing, broken = [], []
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            missing.append(name)
            continue
        broken += [f"{name}.{n}" for n in exported if not hasattr(module, n)]
    assert missing == [], f"public modules without __all__: {missing}"
    assert broken == [], f"names in __all__ that do not exist: {broken}"


def test_cli_modules_use_one_base() -> None:
    from hs_notebook.cli import base, qa_commands, sandbox_commands, token_commands

    assert (base.EXIT_OK, base.EXIT_FAILED, base.EXIT_USAGE) == (0, 1, 2)
    for module in (qa_commands, sandbox_commands, token_commands):
        assert module.EXIT_OK is base.EXIT_OK
    assert qa_commands.UsageError is token_commands.UsageError is base.UsageError
    assert "hs_notebook.cli_qa" not in PUBLIC_MODULES


def test_importing_the_package_loads_no_extra_and_no_widgets() -> None:
    heavy = ["starlette", "uvicorn", "imageio_ffmpeg", "av", "distributed", "voila"]
    heavy += ["ipywidgets", "matplotlib", "hs_notebook.sandbox", "hs_notebook.widgets"]
    code = f"import sys, hs_notebook; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
