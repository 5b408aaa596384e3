# Each target creates .venv if missing and installs what it needs, so any of them works alone
# on a fresh machine.  Re-installation happens only when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q

.PHONY: demo test bench lint format clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip setuptools wheel

# core: what `make demo` needs
$(VENV)/.core: pyproject.toml | $(PY)
	$(PIP) -e .
	@touch $@

# everything the test suite exercises: dev tools, torch (kd), dask, pynndescent (ann)
$(VENV)/.test: pyproject.toml | $(PY)
	$(PIP) -e '.[dev,kd,dask,ann]'
	@touch $@

# anchors for benchmarks
$(VENV)/.bench: pyproject.toml | $(PY)
	$(PIP) -e '.[dev,bench]'
	@touch $@

demo: $(VENV)/.core
	$(PY) -m hyperlearn tag --compare

test: $(VENV)/.test
	$(PY) -m pytest

bench: $(VENV)/.bench
	$(PY) -m benchmarks all --quick

lint: $(VENV)/.test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.test
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis .ruff_cache
