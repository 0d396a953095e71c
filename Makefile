# Small Favor: `make run` serves the demo, `make test` runs every check. Both install first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck browser clean

# A fresh Debian has python3 without the venv module; install it when we can (as root).
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed; installing the Debian venv package"; \
	  rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; \
	  else echo "install python3-venv (apt-get install python3-venv) and retry" >&2; exit 1; fi; \
	  $(PYTHON) -m venv $(VENV); }

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,browser]'
	@touch $(STAMP)

# Browser tests drive Debian's chromium (Playwright cannot download its own browser here).
# Installed when missing and we are root; otherwise those tests skip and say why (and fail
# under CI=true).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "no chromium: browser tests will skip (apt-get install chromium)"; fi; }

install: $(STAMP)

run: install
	$(BIN)/smallfavor migrate
	$(BIN)/smallfavor seed-demo
	$(BIN)/smallfavor serve

lint: install
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

test: lint typecheck browser
	$(BIN)/pytest

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
