# Multibill — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint unit format bench clean help

help:
	@echo "make run    start the whole stack (PostgreSQL, Temporal + UI, worker, API) and seed a demo operator"
	@echo "make test   lint and run the whole test suite"
	@echo "make lint   ruff + mypy"
	@echo "make bench  run the benchmarks in bench/"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required: install python3.11 or set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/multibill up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: $(STAMP) lint
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

bench: $(STAMP)
	@for b in bench/[a-z]*.py; do echo "== $$b"; $(BIN)/python -m bench.$$(basename $$b .py) || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
