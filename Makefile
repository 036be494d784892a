# Two commands for a newcomer: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format typecheck db-shell db-migrate db-status snapshot bench clean-data

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## start the database (+ demo data), controller and console in the foreground
	@$(BIN)/huntsman run

test: $(STAMP)  ## the whole test suite
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

format: $(STAMP)
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

db-shell: $(STAMP)
	@$(BIN)/huntsman db shell

db-migrate: $(STAMP)
	@$(BIN)/huntsman db migrate

db-status: $(STAMP)
	@$(BIN)/huntsman db status

snapshot: $(STAMP)  ## regenerate db/sql/schema.snapshot.txt after adding a migration
	@$(BIN)/huntsman db snapshot

bench: $(STAMP)  ## benchmarks (not part of the test suite); figures go to bench/results/
	@$(BIN)/python bench/run_all.py

clean-data:  ## remove the embedded database (all local data)
	rm -rf .data
