# One command per chore. Everything installs into .venv; node packages into web/node_modules.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8080

.PHONY: install web demo test test-all check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python web ## install vsmanager (editable) with test and dev tools, and build the web console
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'

web: ## build the web console into src/vsmanager/static (needs node and npm)
	@if [ -f web/package.json ]; then \
		cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build; \
	fi

demo: install ## run vsmanager with the built-in simulated Vintage Story server
	$(BIN)/vsmanager demo --port $(PORT)

test: install ## run the whole test suite (browser tests need chromium: see .ci/run)
	$(BIN)/python -m pytest

test-all: install ## the test suite plus the long runs marked slow
	$(BIN)/python -m pytest -m ''

check: install ## lint and type-check
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: install ## the streaming benchmark (several minutes); prints the tables shown in the README
	$(BIN)/python bench/console_bench.py

clean:
	rm -rf $(VENV) src/vsmanager/static web/node_modules .pytest_cache .mypy_cache .ruff_cache
