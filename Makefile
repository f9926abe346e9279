# tapbot: `make run` (the sandbox, or production when Azure settings are present) and `make test`.
# Both install what they need first: a virtualenv from requirements.lock and the npm packages.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint fmt typecheck unit integration e2e bench bench-joiners package clean lock browser

help:
	@echo "make run    start tapbot (sandbox with fake tenant + Agents Playground when no Azure settings)"
	@echo "make test   lint, type-check and run every test tier"
	@echo "other: install lint fmt typecheck unit integration e2e bench bench-joiners package lock clean"

$(STAMP): requirements.lock pyproject.toml package.json package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m sandbox.run

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: install
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest tests/unit tests/test_architecture.py -q

integration: install
	$(PY) -m pytest tests/integration tests/sandbox tests/bot -q

e2e: install
	$(PY) -m pytest tests/e2e -q

test: lint typecheck browser
	$(PY) -m pytest -q

# Debian's chromium for the one browser smoke test (never a browser Playwright downloads).
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; } || \
	  echo "note: Debian's chromium could not be installed; the browser smoke test will skip"

bench: install
	$(PY) -m bench.flows

bench-joiners: install
	$(PY) -m bench.joiners

package: install
	$(PY) -m appPackage.build

# Re-pin requirements.lock from what is installed in the venv (after changing pyproject.toml).
lock: install
	$(PY) -m pip freeze --exclude-editable --exclude tapbot > requirements.lock

clean:
	rm -rf $(VENV) node_modules var test-output .mypy_cache .ruff_cache .pytest_cache
