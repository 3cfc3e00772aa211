# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: install Mel in .venv and run `mel demo` on the embedded SQLite store
demo: $(VENV)/.installed
	$(BIN)/mel demo

## test: ruff, mypy --strict and the whole suite (needs Redis and PostgreSQL on 127.0.0.1)
test: $(VENV)/.dev-installed lint typecheck
	$(BIN)/pytest

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check mel tests bench

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy --strict mel

## bench: the benchmark suite (see bench/README.md)
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) mel-demo.db mel-demo.db-wal mel-demo.db-shm
