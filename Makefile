# lcad-bench: two set-up commands for a fresh machine -- `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-stamp
SHARED ?= $(if $(LCAD_BENCH_SHARED_DATA),$(LCAD_BENCH_SHARED_DATA),$(wildcard ../shared/data))

.PHONY: demo test test-all bench lint install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lcad-bench demo

test: $(STAMP)
	LCAD_BENCH_SHARED_DATA="$(SHARED)" $(PY) -m pytest -q

test-all: $(STAMP)
	LCAD_BENCH_SHARED_DATA="$(SHARED)" $(PY) -m pytest -q -m "not gpu"

bench: $(STAMP)
	LCAD_BENCH_SHARED_DATA="$(SHARED)" $(PY) -m benchmarks.run

lint: $(STAMP)
	$(PY) tests/architecture/lint_imports.py
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check lcad_bench builders baselines leaderboard tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
