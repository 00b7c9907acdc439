# AstralytiQ: `make up` runs the platform, `make test` runs every check. Both install first.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.DEFAULT_GOAL := help
.PHONY: help up install install-dev system-deps platform-deps test lint audit format typecheck unit integration e2e fuzz bench bench-serving bench-abuse bench-portal screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

install: $(UV) ## create .venv with exactly the locked runtime packages
	$(UV) sync --frozen --no-dev --inexact --python $(PYTHON)

install-dev: $(UV) ## create .venv with the locked runtime and test packages
	$(UV) sync --frozen --python $(PYTHON)

system-deps: ## Debian packages the tests drive (Chromium, Prometheus, Alertmanager, wrk)
	bash scripts/install_system_deps.sh

platform-deps: ## Debian packages `make up` starts (Prometheus, Alertmanager); up runs without them
	bash scripts/install_system_deps.sh --platform

up: install platform-deps ## bring up the whole platform (MLflow, Prefect + worker, training, API :8000, portal :8501, alerts)
	ASTRALYTIQ_API_WORKERS=$${ASTRALYTIQ_API_WORKERS:-0} $(BIN)/astralytiq up  # the API on every core

test: install-dev system-deps lint audit ## lint, type-check, audit the lock and run every test
	$(BIN)/pytest --timeout=900

lint: install-dev ## ruff (lint + format check) and mypy, as CI runs them
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

audit: install-dev ## pip-audit over uv.lock (and the known advisories of the exposed packages)
	$(BIN)/python scripts/audit_dependencies.py

format: install-dev ## rewrite the code in the house style
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: install-dev ## only the fast unit tests
	$(BIN)/pytest tests/unit

integration: install-dev ## tests against real PostgreSQL, MLflow and Prefect
	$(BIN)/pytest tests/integration

e2e: install-dev system-deps ## the whole platform and the portal in headless Chromium
	$(BIN)/pytest tests/e2e

fuzz: install-dev ## schemathesis, every check and phase (stateful too), 100 examples per operation
	ASTRALYTIQ_FUZZ_EXAMPLES=$${ASTRALYTIQ_FUZZ_EXAMPLES:-100} ASTRALYTIQ_FUZZ_RESULT=benchmarks/results/fuzz.txt $(BIN)/pytest tests/security/test_schemathesis.py -s --timeout=3600

bench-abuse: install-dev ## normal traffic beside heavy and hostile requests: p99s and peak memory
	$(BIN)/python -m benchmarks.abuse

bench-serving: install-dev system-deps ## serving speed and memory: this API against `mlflow models serve`
	$(BIN)/python -m benchmarks.serving

bench-portal: install-dev system-deps ## portal memory with one logged-in browser session, against bare Streamlit apps
	$(BIN)/python -m benchmarks.portal_footprint

screenshots: install-dev system-deps ## refresh docs/*.png from the running portal
	ASTRALYTIQ_SCREENSHOTS=docs $(BIN)/pytest tests/e2e -k browser

clean: ## remove the embedded platform's data (.astralytiq) and caches
	rm -rf .astralytiq .pytest_cache .mypy_cache .ruff_cache
