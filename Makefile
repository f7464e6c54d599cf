# Two commands on a fresh machine with only python3: `make demo` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## demo: upgrade the embedded SQLite database (./data/todo.db), load a little sample data, print a summary
demo: install
	$(BIN)/todo-data db upgrade
	$(BIN)/todo-data sample --users 20 --tasks 200 --seed 0 --if-empty
	$(BIN)/todo-data summary

## test: lint, then the whole suite (PostgreSQL tests skip with a reason where no server answers)
test: install lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data
