# govchat — `make run` serves the hub, `make test` runs the whole suite. Both start from a fresh clone.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The hub's pins (requirements.lock, all the production image gets) and the test and lint tools
# (requirements-dev.lock) go into one development venv; a change to either reinstalls it.
# --no-compile: Python compiles what it imports on first use; pip would compile every file of
# every package first (about 20 of the 33 s the venv took).
LOCKS := requirements.lock requirements-dev.lock
STAMP := $(VENV)/.installed-$(shell cat $(LOCKS) pyproject.toml | sha256sum | cut -c1-16)
HOST ?= 127.0.0.1
PORT ?= 8000
RASA_PORT ?= 5005
export RASA_TELEMETRY_ENABLED := false

include mk/*.mk

.PHONY: help
help:
	@echo "make run    - set up, train the NLU if needed, start Rasa (if Python 3.10 exists) and the hub on http://$(HOST):$(PORT)"
	@echo "make test   - set up and run the whole test suite (lint, types, unit, integration, Rasa, PostgreSQL, browser)"
	@echo "make lint   - ruff and mypy"
	@echo "make migrate - apply database migrations to DATABASE_URL"

$(STAMP): $(LOCKS) pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (the hub needs Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -r requirements.lock -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

.PHONY: venv
venv: $(STAMP)

.PHONY: chromium
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| { echo "error: could not install chromium (apt-get install chromium)"; exit 1; }; \
	fi

.PHONY: lint
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: migrate
migrate: $(STAMP)
	$(BIN)/python -c "from app.settings import Settings; from app.db.migrate import run_migrations; run_migrations(Settings().resolved_database_url())"

# The set-up steps run side by side, then the suite in three processes on the two cores, as its
# hub processes and browsers leave a third of two processes' time waiting (pytest-xdist; what
# tests share stays in one process: tests/conftest.py).
.PHONY: test
test: $(STAMP)
	@$(MAKE) --no-print-directory -j3 chromium rasa-model lint
	$(BIN)/pytest -q -n 3 --dist loadgroup

.PHONY: run
run: $(STAMP)
	@$(MAKE) --no-print-directory rasa-model RASA_OPTIONAL=1
	@bash scripts/run.sh
