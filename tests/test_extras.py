"""Installs that match the layers: what works without an extra, and the one clear error
(:class:`~hs_notebook.errors.MissingExtra`) a feature raises when its extra is missing.

Each test runs a real child interpreter in which the extra's modules cannot be imported:
a ``sitecustomize`` on the child's ``PYTHONPATH`` puts a meta-path finder first that refuses
the modules named in ``$HS_TEST_BLOCK`` (as pip would leave them: not installed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from hs_notebook.errors import HeapStreamError, MissingExtra
from hs_notebook.extras import EXTRAS, require_extra
from hs_notebook.tokens import generate_signing_key

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = textwrap.dedent(
    """
    import os
    import sys

    BLOCKED = {name for name in os.environ.get("HS_TEST_BLOCK", "").split(",") if name}


    class _Blocker:
        def find_spec(self, fullname, path=None, target=None):
            if fullname.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
            return None


    sys.meta_path.insert(0, _Blocker())
    """
)

#: Every module of every extra: the core install, as `pip install hs_notebook` leaves it.
ALL_EXTRA_MODULES = sorted({m for modules in EXTRAS.values() for m in modules} | {"dask"})


@pytest.fixture(scope="module")
def blocker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("blocker")
    (path / "sitecustomize.py").write_text(BLOCKER)
    return path


def run_without(
    blocker_dir: Path, blocked: list[str], *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEAPSTREAM_")}
    env["PYTHONPATH"] = os.pathsep.join([str(blocker_dir), str(ROOT)])
    env["HS_TEST_BLOCK"] = ",".join(blocked)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, timeout=120
    )


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stderr.strip().splitlines()[-1]


def test_the_blocker_really_hides_a_module(blocker_dir: Path) -> None:
    """Without this the other tests could pass with the module still importable."""
    proc = run_without(blocker_dir, ["starlette"], "-c", "import starlette")
    assert proc.returncode == 1
    assert "ModuleNotFoundError: No module named 'starlette'" in proc.stderr
    assert run_without(blocker_dir, [], "-c", "import starlette").returncode == 0


def test_core_features_work_without_any_extra(blocker_dir: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        import hs_notebook as hs
        from hs_notebook.tokens import generate_signing_key

        key = generate_signing_key("k1")
        token = key.mint("vid", ttl=60)
        hs.verify_token(token, key.public_key, video_id="vid")
        url = hs.HeapStream(3).master_playlist_url("vid", token)
        assert hs.diagnose(token, url=url) == []
        master = (
            "#EXTM3U\\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,"
            'CODECS="avc1.64001e,mp4a.40.2"\\np360/\\n'
        )
        ladder = hs.ladder_from_text(master)
        report = hs.qa(ladder, measure=False)
        print(len(hs.renditions_table(master)), len(report.table) > 0)
        loaded = sorted(m for m in sys.argv[1].split(",") if m in sys.modules)
        print("loaded:", loaded)
        """
    )
    modules = ",".join(ALL_EXTRA_MODULES)
    proc = run_without(blocker_dir, ALL_EXTRA_MODULES, "-c", script, modules)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["1 True", "loaded: []"]


@pytest.mark.parametrize(
    ("blocked", "code", "extra", "module"),
    [
        (["starlette"], "import hs_notebook as hs; hs.Sandbox", "sandbox", "starlette"),
        (["uvicorn"], "from hs_notebook.sandbox import Sandbox", "sandbox", "uvicorn"),
        (["imageio_ffmpeg"], "import hs_notebook.sandbox.media", "sandbox", "imageio_ffmpeg"),
        (["starlette"], "import hs_notebook.sandbox.server", "sandbox", "starlette"),
        pytest.param(
            ["starlette"],
            "import hs_notebook as hs; hs.Inspector()",
            "sandbox",
            "starlette",
            marks=pytest.mark.slow,  # loads ipywidgets and the panels first
        ),
    ],
)
def test_sandbox_without_its_extra(
    blocker_dir: Path, blocked: list[str], code: str, extra: str, module: str
) -> None:
    proc = run_without(blocker_dir, blocked, "-c", code)
    assert proc.returncode == 1
    assert last_line(proc) == (
        f"hs_notebook.errors.MissingExtra: the sandbox needs the [{extra}] extra "
        f'({module} is not installed): pip install "hs_notebook[{extra}]"'
    )


def test_dask_engine_without_its_extra(blocker_dir: Path) -> None:
    code = textwrap.dedent(
        """
        import hs_notebook as hs
        from hs_notebook.tokens import generate_signing_key

        try:
            hs.audit_dask(object(), ["v1"], generate_signing_key("k"), 1, progress=False)
        except hs.MissingExtra as exc:
            print(type(exc).__name__, exc.extra, exc.module)
            print(exc)
        """
    )
    proc = run_without(blocker_dir, ["distributed", "dask"], "-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "MissingExtra dask distributed",
        "the Dask engine needs the [dask] extra (distributed is not installed): "
        'pip install "hs_notebook[dask]"',
    ]


@pytest.mark.slow
def test_cli_names_the_extra_in_one_line_and_exits_2(blocker_dir: Path, tmp_path: Path) -> None:
    proc = run_without(blocker_dir, ["uvicorn"], "-m", "hs_notebook", "sandbox", "--port", "0")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "hs-notebook: error: the sandbox needs the [sandbox] extra (uvicorn is not "
        'installed): pip install "hs_notebook[sandbox]"\n'
    )
    ids = tmp_path / "ids.txt"
    ids.write_text("v1\n")
    key_file = tmp_path / "key.pem"
    key_file.write_text(generate_signing_key("k").private_key_pem())
    proc = run_without(
        blocker_dir,
        ["distributed"],
        "-m",
        "hs_notebook.cli",
        "audit",
        "--ids",
        str(ids),
        "--out",
        str(tmp_path / "out.csv"),
        "--project-id",
        "1",
        "--engine",
        "dask",
        "--key-id",
        "k",
        "--key-file",
        str(key_file),
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "hs-notebook: error: --engine dask needs the [dask] extra (distributed is not "
        'installed): pip install "hs_notebook[dask]"\n'
    )
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.slow
def test_demo_without_the_notebook_extra(blocker_dir: Path) -> None:
    proc = run_without(blocker_dir, ["voila"], "-m", "hs_notebook", "demo", "--port", "0")
    assert proc.returncode == 2
    assert proc.stderr == (
        "hs-notebook: error: the demo app (Voilà) needs the [notebook] extra (voila is not "
        'installed): pip install "hs_notebook[notebook]"\n'
    )


# ------------------------------------------------------------------------ in process


def test_missing_extra_is_ours_and_an_import_error() -> None:
    with pytest.raises(MissingExtra) as info:
        require_extra("media", "hs_notebook_no_such_module", feature="the probe")
    exc = info.value
    assert isinstance(exc, HeapStreamError) and isinstance(exc, ImportError)
    assert (exc.extra, exc.module, exc.name) == ("media", *["hs_notebook_no_such_module"] * 2)
    assert str(exc) == (
        "the probe needs the [media] extra (hs_notebook_no_such_module is not installed): "
        'pip install "hs_notebook[media]"'
    )
    with pytest.raises(ValueError, match="unknown extra 'medias'"):
        require_extra("medias")
    require_extra("media")  # installed in the dev environment: no error


def test_extras_match_pyproject() -> None:
    """Every extra that require_extra() knows is one pyproject.toml declares, [all]
    brings every one of them, and [dev] brings [all]."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert set(EXTRAS) <= set(extras)
    assert extras["all"] == [f"hs_notebook[{','.join(EXTRAS)}]"]
    assert "hs_notebook[all]" in extras["dev"]
    core = " ".join(project["dependencies"]).lower()
    for heavy in ("starlette", "uvicorn", "imageio-ffmpeg", "av>", "dask", "voila", "jupyterlab"):
        assert heavy not in core, f"{heavy} is in the core install"
