# The two commands: `make demo` starts the whole system on simulated hardware,
# `make test` runs every test. Both install what is missing first.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test check lint pytest bench schema clean

demo:
	@scripts/bootstrap
	$(BIN)/canopy demo

test:
	@scripts/bootstrap --test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

# The fast loop to run after each change: lint, types, every test but the slow
# fault-injection and browser runs (marked `slow`). `make test` runs them all.
check:
	@scripts/bootstrap --test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -m "not slow"

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy

bench:
	@scripts/bootstrap
	$(BIN)/python bench/pipeline.py

schema:
	$(BIN)/python -m canopy.events --write-schema

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
