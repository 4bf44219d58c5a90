# Two commands do all the set-up on a fresh machine:
#   make demo   create .venv, install, build the demo company, serve http://127.0.0.1:8000
#   make test   create .venv, install with the test extras, run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check -q

.PHONY: demo test lint bench bench-10m clean install install-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[pdf]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test,spark,embeddings,pdf]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(BIN)/resonance demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks

test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadgroup --timeout 900

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(PIP) install -e '.[test,spark,embeddings,pdf,bench]'
	touch $@

# The benchmark suite (docs/scale.md): figures printed and appended to benchmarks/RESULTS.md.
bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py --size 100k
	$(BIN)/python benchmarks/run.py --size 1m
	$(BIN)/python benchmarks/load.py --size 100k

# 10M events, 50k people: about an hour on 2 cores; one run per measurement.
bench-10m: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py --size 10m --runs 1

clean:
	rm -rf $(VENV) demo-data resonance.duckdb test-artifacts
