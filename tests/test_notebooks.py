"""Every notebook in notebooks/ runs top to bottom without credentials (against the sandbox,
profile "tiny"), with no error outputs and no private key material anywhere in the result.

The kernel is a real ipykernel started from this interpreter (a kernel spec written to a
temporary JUPYTER_PATH, so the test does not depend on what kernels are installed).  The
notebooks run two at a time: each one is its own kernel process.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from hs_notebook.env import ENV_KEY, ENV_KEY_ID

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL_NAME = "hs-notebook-test"
EXPECTED = {
    "01_mint_and_embed.ipynb",
    "02_inspect_ladder.ipynb",
    "03_storyboards_and_text_tracks.ipynb",
    "05_media_qa.ipynb",
    "06_quality.ipynb",
    "app.ipynb",
}


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory, hs_cache_dir: Path) -> Iterator[None]:
    """A kernel spec for this interpreter, and an environment without credentials."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "hs_notebook tests",
                "language": "python",
            }
        )
    )
    changes = {
        "JUPYTER_PATH": str(root),
        "HS_NOTEBOOK_SANDBOX_PROFILE": "tiny",
        "HS_NOTEBOOK_CACHE": str(hs_cache_dir),
        "MPLBACKEND": "Agg",
    }
    removed = {k: os.environ.pop(k) for k in (ENV_KEY_ID, ENV_KEY) if k in os.environ}
    old = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        os.environ.update(removed)


#: Appended to each notebook before running: writes every SigningKey alive in the kernel
#: (the sandbox's, any the notebook made) to a file, so the test can look for exactly that
#: material in the outputs.  It prints nothing; the cell is removed before the checks.
#: (``issubclass(type(o), ...)``, not ``isinstance``: a dead weak proxy, like the one
#: tqdm's notebook bar keeps to its closed bar, raises ReferenceError on ``__class__``.)
_KEY_DUMP = """
import gc as _gc, pathlib as _pathlib
from hs_notebook.tokens import SigningKey as _SK
_n = _pathlib.Path({path!r}).write_text("\\n".join(
    o.private_key_base64() for o in _gc.get_objects() if issubclass(type(o), _SK)))
"""


def _execute(job: tuple[Path, Path]) -> tuple[nbformat.NotebookNode, list[str]]:
    path, key_file = job
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_KEY_DUMP.format(path=str(key_file))))
    client = NotebookClient(
        nb,
        timeout=180,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=True,  # collect every error output, then assert on them
    )
    client.execute()
    dump = nb.cells.pop()
    assert not dump.outputs, dump.outputs
    keys = [k for k in key_file.read_text().splitlines() if k]
    return nb, keys


@pytest.fixture(scope="module")
def runs(
    kernel_env: None, tiny_media: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[nbformat.NotebookNode, list[str]]]:
    """Every notebook, executed (two kernels at a time), with the keys its kernel held."""
    tmp = tmp_path_factory.mktemp("keys")
    jobs = [(p, tmp / f"{p.stem}.keys") for p in NOTEBOOKS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_execute, jobs))
    return {p.name: r for p, r in zip(NOTEBOOKS, results, strict=True)}


@pytest.fixture(scope="module")
def executed(
    runs: dict[str, tuple[nbformat.NotebookNode, list[str]]],
) -> dict[str, nbformat.NotebookNode]:
    return {name: nb for name, (nb, _keys) in runs.items()}


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                out.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}")
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                text = o.get("text", "")
                if "Traceback" in text or "Error" in text:
                    out.append(f"cell {i} stderr: {text[:500]}")
    return out


def test_the_expected_notebooks_exist() -> None:
    assert {p.name for p in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {i} has outputs: strip them"
            assert cell.execution_count is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.slow
def test_notebooks_run_without_errors(executed: dict[str, nbformat.NotebookNode]) -> None:
    problems = {name: _errors(nb) for name, nb in executed.items()}
    assert {k: v for k, v in problems.items() if v} == {}
    for name, nb in executed.items():
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        assert code_cells, name
        assert all(c.execution_count is not None for c in code_cells), name


def _text(nb: nbformat.NotebookNode) -> str:
    return json.dumps(nb, ensure_ascii=False)


@pytest.mark.slow
def test_notebooks_used_the_sandbox(executed: dict[str, nbformat.NotebookNode]) -> None:
    for name in EXPECTED - {"app.ipynb"}:
        assert "Using the local sandbox at http://127.0.0.1:" in _text(executed[name]), name
    app = executed["app.ipynb"]
    views = [
        o
        for c in app.cells
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(views) == 1, "app.ipynb shows exactly one widget: the Inspector"


@pytest.mark.slow
def test_notebook_outputs_hold_real_results(
    executed: dict[str, nbformat.NotebookNode], tiny_media: Any
) -> None:
    nb01, nb02, nb03 = (
        _text(executed[n])
        for n in (
            "01_mint_and_embed.ipynb",
            "02_inspect_ladder.ipynb",
            "03_storyboards_and_text_tracks.ipynb",
        )
    )
    # 01: a diagnosis that names the wrong video, the embed iframe, a countdown
    assert "wrong_subject" in nb01
    assert "<iframe src=" in nb01 and "/e/1/v-demo/?token=" in nb01
    assert "expires in" in nb01
    # 02: the tiny ladder's four renditions, a plotted figure, the widget's status
    assert len(tiny_media.renditions) == 4
    for rendition in tiny_media.renditions:
        assert f"v-demo-{rendition.name}" in nb02
    assert '"image/png"' in nb02
    assert "fetched master and 4 presets" in nb02
    # 03: six tiles cut as JPEG data URIs, the cues of the English track
    board = tiny_media.storyboard
    assert f"{len(board.cues)} tiles of {board.tile_width}x{board.tile_height}" in nb03
    assert "data:image/jpeg;base64," in nb03
    assert "Welcome to the HeapStream sandbox." in nb03


@pytest.mark.slow
def test_quality_notebook_reads_the_curve_and_finds_the_wasted_rung(
    executed: dict[str, nbformat.NotebookNode],
) -> None:
    text = _text(executed["06_quality.ipynb"])
    assert "4 of 4 renditions scored against original" in text
    assert text.count('"image/png"') >= 4  # two curves, VMAF over time, the frame comparison
    # the wasted rung is found by the quality rules, on the rung itself
    for rule in ("quality_rises", "quality_redundant", "quality_hull"):
        assert re.search(rf"{rule}\s+\w+\s+v-defect-wasted-rung-", text), rule
    assert "scored against top rung v-noorig-" in text


@pytest.mark.slow
def test_no_private_key_material_in_outputs(
    runs: dict[str, tuple[nbformat.NotebookNode, list[str]]],
) -> None:
    import base64

    for name in EXPECTED:
        nb, keys = runs[name]
        assert keys, f"{name}: the kernel held no SigningKey (did it start the sandbox?)"
        text = _text(nb)
        for b64 in keys:
            pem = base64.b64decode(b64).decode()
            body = "".join(ln for ln in pem.splitlines() if ln and not ln.startswith("-----"))
            # 24-character windows every 8: any leaked run of 32+ characters contains one
            for secret in (b64, body):
                for i in range(0, len(secret) - 24, 8):
                    assert secret[i : i + 24] not in text, f"{name}: private key material"
        assert not re.search(r"PRIVATE KEY-----(\s|\\n)*[A-Za-z0-9+/]{16}", text), name
        assert "LS0tLS1CRUdJTi" not in text, name  # base64 of "-----BEGIN"


@pytest.mark.slow
def test_media_qa_notebook_finds_every_defect(
    executed: dict[str, nbformat.NotebookNode], tiny_media: Any
) -> None:
    nb05 = executed["05_media_qa.ipynb"]
    text = _text(nb05)
    # the clean ladder: a variant overview of every rendition, no media errors
    assert "peak_diff" in text and "average_diff" in text
    for rendition in tiny_media.renditions:
        assert f"v-demo-{rendition.name}" in text
    assert "0 errors" in text
    # each defect's section shows its rule finding the sandbox video that carries it
    for defect, rule in (
        ("no-idr", "media_idr_start"),
        ("codecs", "media_codecs_match"),
        ("resolution", "media_resolution_match"),
        ("frame-rate", "media_frame_rate_match"),
        ("misaligned", "media_boundaries_aligned"),
        ("no-timestamp-map", "media_vtt_timestamp_map"),
        ("extinf-drift", "media_extinf_match"),
    ):
        assert re.search(rf"{rule}\s+(error|warning)\s+v-defect-{defect}-", text), defect
