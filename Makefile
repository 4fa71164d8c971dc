# Every target sets itself up: a .venv with the pinned requirements, no Docker, no system service.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install bytecode demo run test lint typecheck bench bench-check clean

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "NetworkCore needs Python 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --config-settings editable_mode=compat -e .
	touch $@

install: $(STAMP)

# Workers re-import workflow modules into a fresh sandbox for every run: with bytecode on disk that is a
# load, not a compile (where PYTHONDONTWRITEBYTECODE is set nothing else writes it). Compiling in worker
# threads also raced with other threads' compiles in CPython 3.11.7 ("AST constructor recursion depth
# mismatch", seen in a test run).
PACKAGES := activities adapters api cli config domain messages persistence services simulator workers workflows
bytecode: install
	$(BIN)/python -m compileall -q -j0 $(PACKAGES)

demo: bytecode
	$(BIN)/networkcore demo

run: bytecode
	$(BIN)/networkcore dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy .

test: lint typecheck bytecode
	$(BIN)/pytest -q -p no:cacheprovider

bench: bytecode
	$(BIN)/networkcore bench

# CI's guard against a large regression of billable actions or CPU per session (docs/benchmarks.md).
bench-check: bytecode
	$(BIN)/networkcore bench --sessions 30 --concurrency 10 --check docs/bench-baseline.json

clean:
	rm -rf .data .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find $(PACKAGES) -name __pycache__ -type d -prune -exec rm -rf {} +
