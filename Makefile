# The two set-up commands of the README: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEPS_STAMP := $(VENV)/.deps-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-16)

NODE_STAMP := node_modules/.package-lock.json

.PHONY: run test deps node-deps lint format lock worker clean

deps: $(DEPS_STAMP)

## node-deps: axe-core, injected by the browser tests (pinned in package-lock.json)
node-deps: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || bash scripts/system-deps.sh
	npm ci --no-audit --no-fund

$(DEPS_STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 est requis (PYTHON=$(PYTHON)).")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@rm -f $(VENV)/.deps-*
	@touch $@

## make run: the portal on http://127.0.0.1:8000, embedded (SQLite, local files, tasks in-process)
run: deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runportal 127.0.0.1:8000

## make test: lint, migration and deploy checks, then the whole pytest suite (e2e included)
test: deps node-deps
	bash scripts/test.sh

lint: deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make lock: re-pin the transitive dependencies after a change in pyproject.toml
lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^segur-portal' > requirements.lock

clean:
	rm -rf var/test var/test-artifacts
