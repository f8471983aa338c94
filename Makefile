PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

.PHONY: install run test test-fast lint bench bench-scale chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(INSTALLED)

## Run web + worker + scheduler on the embedded defaults (Ctrl-C stops all three).
run: install
	$(BIN)/python -m app.devrun

## Install what the tests need (Chromium too, where apt can) and run the whole suite.
test: install chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The suite without the slow fault tests and the browser.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
	  ($$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null) \
	    || echo "Chromium could not be installed; browser tests will be skipped outside CI."; \
	fi

lint: install
	$(BIN)/ruff check app tests worker.py wsgi.py

bench: install
	$(BIN)/python -m tests.bench $(if $(QUICK),--quick,) $(if $(ONLY),--only $(ONLY),) $(if $(WORKERS),--workers $(WORKERS),)

## History, statistics, export and retention at 10,000,000 deliveries (PostgreSQL, DATABASE_URL
## or hookline_bench; up to 20 minutes). REUSE=1 keeps the rows of an earlier run.
bench-scale: install
	$(BIN)/python tests/bench/history_at_scale.py --rows $(or $(ROWS),10000000) --retention-days 89 $(if $(REUSE),--reuse,)

clean:
	rm -rf $(VENV) instance tests/output
