# Two commands a newcomer needs: `make demo` and `make test`. Both set everything up first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/oncall demo

# bandit: high-severity security findings fail the build (medium is clean today too); no skips.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy oncall_agent flows tasks blocks deployments
	$(BIN)/bandit -q -r oncall_agent flows tasks blocks deployments -lll

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/resolve.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
