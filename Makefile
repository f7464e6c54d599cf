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

## demo: upgrade the embedded SQLite database (./data/todo.db), load sample data, print a summary, write every report
demo: install
	$(BIN)/todo-data db upgrade
	$(BIN)/todo-data sample --users 200 --tasks 5000 --seed 0 --if-empty
	$(BIN)/todo-data summary
	$(BIN)/todo-data report all --output-dir reports

## test: lint, then the whole suite (PostgreSQL tests skip with a reason where no server answers)
test: install lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data reports
