# scanwire — every target installs what it needs (venv + pinned deps) before it runs.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.scanwire-installed
GENERATED_PKGS := $(wildcard generated/*/pyproject.toml)

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml requirements.lock runtime/pyproject.toml $(GENERATED_PKGS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	# The shared client runtime first: scanwire and every generated package depend on it.
	# compat mode: a plain .pth path entry, which mypy follows (setuptools' import-hook editables it cannot).
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ./runtime/ --config-settings editable_mode=compat
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@for p in $(dir $(GENERATED_PKGS)); do \
	  $(BIN)/python -m pip install --quiet -c requirements.lock -e "$$p" || exit 1; done
	@touch $@

install: $(STAMP) ## create .venv and install scanwire, dev tools and generated clients (pinned)

run: install ## the main job: validate specs, regenerate, run conformance on the in-process emulators, print the report
	$(BIN)/scanwire run

generate: install ## regenerate resolved specs and client packages (skips what is up to date)
	$(BIN)/scanwire generate

check-generated: install ## fail when generated/ is stale (regenerates into a temp dir and compares)
	$(BIN)/scanwire check-generated

validate: install ## validate the specs (OpenAPI 3.1, lint, examples, lifecycle) and print a summary
	$(BIN)/scanwire validate

lint: install ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy --strict on the hand-written code
	$(BIN)/mypy

test: install ## lint, typecheck and the test suite, drift check included (what CI runs)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n auto || [ $$? -eq 5 ]

conformance: install ## schemathesis against all five emulators in-process (VENDORS=..., ARGS=--max-examples 100)
	$(BIN)/scanwire conformance $(VENDORS) $(ARGS)

conformance-full: install ## the exhaustive run: >= 100 cases per operation, all phases, all five emulators
	$(BIN)/scanwire conformance --max-examples 100 --report reports/conformance-full

coverage: install ## rewrite IMPLEMENTATION_COVERAGE.md (spec operations vs emulator routes and client functions)
	$(BIN)/scanwire coverage

emulate: install ## serve one emulator on 127.0.0.1 (VENDOR=soda PORT=8080)
	$(BIN)/scanwire emulate $(or $(VENDOR),soda) --port $(or $(PORT),8080)

bench: install ## benchmarks (bench/README.md): regeneration, conformance, client overhead, emulator vs Prism, drift proxy overhead, scaling with stored scans, every paged list at 100k records
	$(BIN)/python bench/bench_regeneration.py
	$(BIN)/python bench/bench_conformance.py
	$(BIN)/python bench/bench_client_overhead.py
	$(BIN)/python bench/bench_emulator_vs_prism.py
	$(BIN)/python bench/bench_proxy.py
	$(BIN)/python bench/bench_scaling.py
	$(BIN)/python bench/bench_lists.py

dist: install ## wheels of scanwire-runtime and the five clients into dist/ (then: pip install --find-links dist invicti-client)
	rm -rf dist && mkdir -p dist
	$(BIN)/python -m pip wheel --quiet --no-deps -c requirements.lock -w dist ./runtime/ $(dir $(GENERATED_PKGS))
	@ls dist

release-check: install ## fail when a breaking spec change lands without a major version bump
	$(BIN)/scanwire release-check

clean: ## remove the venv, caches and reports
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache reports .scanwire dist .hypothesis

.PHONY: help install dist run generate check-generated validate lint typecheck test conformance conformance-full coverage emulate bench release-check clean
