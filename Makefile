# Two commands do all the set-up on a fresh machine:
#   make demo   create .venv, install, build the demo company, serve http://127.0.0.1:8000
#   make test   create .venv, install with the test extras, run the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check -q

.PHONY: demo test lint bench clean install install-test

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

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py --size 100k
	$(BIN)/python benchmarks/run.py --size 1m

clean:
	rm -rf $(VENV) demo-data resonance.duckdb test-artifacts
