# Every target sets itself up: a .venv with the pinned requirements, no Docker, no system service.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo run test lint typecheck bench clean

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "NetworkCore needs Python 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --config-settings editable_mode=compat -e .
	touch $@

install: $(STAMP)

demo: install
	$(BIN)/networkcore demo

run: install
	$(BIN)/networkcore dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy .

test: lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider

bench: install
	$(BIN)/networkcore bench

clean:
	rm -rf .data .mypy_cache .ruff_cache .pytest_cache .hypothesis
