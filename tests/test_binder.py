"""The Binder image's Voilà setup (binder/postBuild): the /voila/render/ route Binder opens
renders the app with the Inspector's template, as ``make demo`` does.

postBuild's Voilà step runs for real in a fresh home directory; Voilà's own server
extension code then reads the configuration and looks the template up (starting a Jupyter
server and a kernel is left to the browser test of ``make demo``'s page)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hs_notebook.app_demo import VOILA_ARGS, VOILA_DATA_DIR

ROOT = Path(__file__).resolve().parents[1]


def _voila_step() -> str:
    """The Python that binder/postBuild runs for Voilà (its ``python - <<'PY'`` block)."""
    text = (ROOT / "binder" / "postBuild").read_text()
    match = re.search(r"^python - <<'PY'\n(.*?)^PY$", text, re.MULTILINE | re.DOTALL)
    assert match, "binder/postBuild has no python - <<'PY' block"
    return match[1]


def _run(code: str, home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "XDG_"))}
    env["HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_binder_voila_uses_the_inspector_template(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _run(_voila_step(), home)
    _run(_voila_step(), home)  # a rebuilt image runs it again: no error
    seen = json.loads(
        _run(
            "import json\n"
            "from voila.paths import collect_template_paths\n"
            "from voila.server_extension import load_config_file\n"
            "config = load_config_file().VoilaConfiguration\n"
            "print(json.dumps({'template': config.template,\n"
            "    'denylist': list(config.extension_denylist),\n"
            "    'paths': collect_template_paths(['voila', 'nbconvert'], config.template)}))",
            home,
        )
    )
    # the same template and denylist as `make demo` (hs_notebook.app_demo.VOILA_ARGS)
    assert f"--template={seen['template']}" in VOILA_ARGS
    assert any(json.dumps(seen["denylist"]) in arg for arg in VOILA_ARGS)
    ours = VOILA_DATA_DIR / "voila" / "templates" / seen["template"]
    found = [Path(p) for p in seen["paths"] if Path(p).name == seen["template"]]
    found = [p for p in found if p.is_dir()]  # Voilà lists every candidate directory
    assert len(found) == 1 and found[0].is_relative_to(home), found
    assert found[0].resolve() == ours.resolve()
    assert (found[0] / "index.html.j2").read_text() == (ours / "index.html.j2").read_text()
