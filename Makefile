# Two commands matter: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The package and its test tools ('.[dev]'); the demo needs the package alone ('.').
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: venv install lint test test-fast demo docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(DEMO_STAMP)

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(DEMO_STAMP)

venv install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check pingsdk tests examples bench docs/build_api.py
	$(BIN)/ruff format --check pingsdk tests examples bench docs/build_api.py
	$(BIN)/mypy --strict pingsdk

test: lint
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -x -q

demo: $(DEMO_STAMP)
	$(BIN)/python examples/demo.py

# The API reference, from the docstrings, with pdoc; offline. Warnings fail the build.
docs: $(STAMP)
	$(BIN)/python docs/build_api.py build/api

# The delivery benchmarks (about 2 minutes), then pingsdk.glean against the Glean SDK, which
# glean_bench.py installs in a venv of its own under /tmp (about 5 minutes).
bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/glean_bench.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
