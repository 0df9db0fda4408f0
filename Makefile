# The README's two commands: `make demo` and `make test`. Each sets everything up first.
# `make test-fast` skips the tests marked slow or browser; `make lint` is ruff and mypy.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# pandas 3 needs Python >= 3.11: take the newest interpreter on PATH that qualifies
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)

.PHONY: setup demo test test-fast lint typecheck format bench clean browser-deps

# the project with [dev]: [all] (sandbox, media, dask, notebook) + test, lint, type-check tools
$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "hs_notebook needs Python >= 3.11 on PATH" >&2; exit 2; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { \
		echo "creating the virtualenv failed; on Debian/Ubuntu: apt-get install python3-venv" >&2; exit 2; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/hs-notebook demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# mypy over hs_notebook/ (its settings are in pyproject.toml)
typecheck: setup
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# the browser test drives Debian's Chromium: install it when missing (as root), else fail
browser-deps:
	@bash tools/ensure_chromium.sh

test: setup lint browser-deps
	$(PY) -m pytest

# the quick lane while working: no lint, no browser, nothing marked slow
test-fast: setup
	$(PY) -m pytest -m "not slow and not browser"

# the Hypothesis fuzz suite with its long profile (make test runs the bounded one)
.PHONY: fuzz
fuzz: setup
	HS_NOTEBOOK_FUZZ=long $(PY) -m pytest -p no:cacheprovider tests/test_fuzz.py

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache build *.egg-info
