# The two commands of the quickstart: `make demo` and `make test`.
# Each creates .venv if it is missing and installs caldicott into it.
VENV ?= .venv
PYTHON ?= python3
BIN = $(VENV)/bin

.PHONY: install demo test check lint typecheck bench

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

check: lint typecheck test
