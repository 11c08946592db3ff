# Two commands for a newcomer: `make serve` runs the service, `make test` runs the tests.
# Each creates .venv and installs the project into it, at the versions of constraints.txt, when
# pyproject.toml or constraints.txt changed. `make lock` refreshes constraints.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test openapi lock bench bench-execution bench-local-start bench-artifacts bench-events bench-webhooks bench-web screenshots bench-api
serve: $(VENV)/.installed
	$(BIN)/marketplace serve

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest $(PYTEST_ARGS)

openapi: $(VENV)/.installed
	$(BIN)/marketplace openapi write

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test]'
	$(BIN)/pip check
	touch $@

# The newest versions pyproject.toml allows, resolved in a new environment and pinned.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet -e '.[test]'
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^marketplace' > constraints.txt
	rm -rf .lock-venv

bench: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_lists

bench-execution: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_execution

bench-local-start: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_local_start

bench-artifacts: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_artifacts

bench-events: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_events

bench-webhooks: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_webhooks

bench-web: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_web

# The README's pictures of the web pages, taken by the browser tests from the running application.
screenshots: $(VENV)/.installed-test
	MARKETPLACE_WRITE_SCREENSHOTS=1 $(BIN)/pytest tests/app/web/test_browser.py -k finds

# Needs wrk (Debian: apt-get install -y wrk).
bench-api: $(VENV)/.installed-test
	$(BIN)/python -m tests.bench.bench_api
