# The two commands of the quickstart: `make demo` and `make test`.
# `make install` creates .venv if it is missing and installs caldicott into it, the
# pages' browser assets from npm (package-lock.json: nhsuk-frontend, axe-core) into
# node_modules, and Debian's Chromium for the browser tests. Each step is skipped when
# already done, so running it again is quick.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium

.PHONY: install demo test check lint typecheck audit bench

$(BIN)/caldicott: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

install: $(BIN)/caldicott node_modules/.package-lock.json $(CHROMIUM)

demo: install
	$(BIN)/caldicott demo

test: install
	$(BIN)/pytest -n 2

lint: install
	$(BIN)/ruff check src tests benchmarks scripts

typecheck: install
	$(BIN)/mypy

# bandit (no high-severity finding) and pip-audit (no known vulnerability).
audit: install
	BIN=$(BIN) .ci/audit

check: lint typecheck audit test
