# Two commands matter on a fresh machine: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export BUCKET_GOV_VAR_DIR ?= $(CURDIR)/var
DEMO_ARGS ?= --scale 1 --days 28 --inject all

.PHONY: install demo test test-pg lint typecheck bench docs lock clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip >/dev/null
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv==0.13.9
	@$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.txt
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

install: $(STAMP)

## demo: a Bucket with weeks of history for five products (with injected incidents); owners approve schema
## baselines; the governance DAGs run through Airflow over that history; what they found, scored against the
## ground-truth manifest; the playbook runs the pipelines started automatically; then playbooks F8 and F7
## with their timelines. The audit-integrity run fails on
## purpose: the demo injects tampering.
RUN_DAG = PATH=$(CURDIR)/$(BIN):$$PATH scripts/run-dag
DEMO_CONF = "$$($(BIN)/python scripts/demo-window-conf)"
demo: $(STAMP)
	$(BIN)/bucket-gov init
	$(BIN)/bucket-gov demo --reset $(DEMO_ARGS)
	$(BIN)/python scripts/demo-approve-baselines
	$(RUN_DAG) bucket_schema_drift -c $(DEMO_CONF)
	-$(RUN_DAG) bucket_audit_integrity -c $(DEMO_CONF)
	$(RUN_DAG) bucket_threat_scan -c $(DEMO_CONF)
	$(BIN)/bucket-gov findings summary
	-$(BIN)/bucket-gov findings score
	scripts/demo-playbooks

## test: the whole suite (PostgreSQL tests run when BUCKET_GOV_TEST_PG_URL is set; `make test-pg` sets it up).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider

## test-pg: start a throw-away PostgreSQL cluster, run the whole suite against it, stop it.
test-pg: $(STAMP)
	@url=$$(scripts/pg-cluster start) && trap 'scripts/pg-cluster stop' EXIT && \
	  BUCKET_GOV_TEST_PG_URL=$$url BUCKET_GOV_REQUIRE_PG=1 $(MAKE) --no-print-directory test

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/write_path.py

## docs: regenerate the documents derived from code and policy (they cannot drift from what is enforced).
docs: $(STAMP)
	$(BIN)/python -m bucket_governance.docsgen

lock:
	$(BIN)/uv pip compile -q requirements.in -p 3.11 -o requirements.txt --no-header

clean:
	rm -rf var build *.egg-info .pytest_cache .ruff_cache .mypy_cache
