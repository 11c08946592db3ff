# Two commands for a newcomer: `make serve` runs the service, `make test` runs the tests.
# Each creates .venv and installs the project into it when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test openapi bench bench-execution bench-local-start
serve: $(VENV)/.installed
	$(BIN)/marketplace serve

test: $(VENV)/.installed-test
	$(BIN)/pytest $(PYTEST_ARGS)

openapi: $(VENV)/.installed
	$(BIN)/marketplace openapi write

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

bench: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_lists

bench-execution: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_execution

bench-local-start: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_local_start
