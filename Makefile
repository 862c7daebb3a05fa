# The two commands of the quickstart: `make demo` and `make test`.
# Each creates .venv if it is missing and installs caldicott into it.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: install demo test check lint typecheck audit bench

$(BIN)/caldicott: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(BIN)/caldicott

demo: install
	$(BIN)/caldicott demo

test: install
	$(BIN)/pytest -n 2

lint: install
	$(BIN)/ruff check src tests benchmarks

typecheck: install
	$(BIN)/mypy

# bandit (no high-severity finding) and pip-audit (no known vulnerability).
audit: install
	BIN=$(BIN) .ci/audit

check: lint typecheck audit test
