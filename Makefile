# Two commands on a fresh machine with only python3: `make demo` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV ?= .venv
# test: pytest-xdist workers, one test file per worker (module fixtures such as a standby cluster start once)
TEST_WORKERS ?= auto
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo lab test screenshots lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## demo: upgrade the embedded SQLite database (./data/todo.db), load sample data up to today (with a few planted problems
## and a dependency cycle for the reports to find), print a summary, write every report
demo: install
	$(BIN)/todo-data db upgrade
	$(BIN)/todo-data sample --users 200 --tasks 5000 --seed 0 --anomalies --if-empty
	$(BIN)/todo-data summary
	$(BIN)/todo-data report all --output-dir reports

## lab: JupyterLab on notebooks/; without DATABASE_URL, against the embedded database (upgraded and sampled first)
LAB_FLAGS := --notebook-dir=notebooks --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate
ifeq ($(shell id -u),0)
LAB_FLAGS += --allow-root
endif
lab: install
ifndef DATABASE_URL
	$(BIN)/todo-data db upgrade
	$(BIN)/todo-data sample --users 200 --tasks 5000 --seed 0 --anomalies --if-empty
endif
	$(BIN)/jupyter lab $(LAB_FLAGS)

## test: lint, no model change without its revision, then the whole suite (PostgreSQL tests skip with a reason where no server answers)
test: install lint
	$(BIN)/todo-data db revision --check
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## screenshots: the README's pictures (docs/img/), made by the browser tests
screenshots: install
	TODO_DATA_SCREENSHOTS=docs/img $(BIN)/pytest tests/browser -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data reports exports
