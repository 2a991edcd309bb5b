# Shortcuts for the scripts in scripts/ (which need no make), plus lint and bench.
BIN := .venv/bin

.PHONY: install demo test test-all check bench dist clean

install: ## install into .venv and build the web console
	scripts/install

demo: ## run vsmanager with the built-in simulated Vintage Story server
	scripts/demo

test: ## the whole test suite
	scripts/test

test-all: ## the test suite plus the long runs marked slow
	scripts/test -m ''

check: install ## lint, type-check, and the import contracts (the layers)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install ## the streaming benchmark (about 10 minutes); prints the tables in docs/benchmarks.md
	$(BIN)/python bench/console_bench.py

dist: install ## the sdist and the wheel, web page inside, into dist/
	$(BIN)/python -m build

clean:
	rm -rf dist .venv src/vsmanager/static web/node_modules .pytest_cache .mypy_cache .ruff_cache
