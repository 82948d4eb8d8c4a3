# Switchboard developer entry points. Needs only python3 (3.11+); everything else,
# PostgreSQL and Redis included, comes from requirements.txt into .venv. See
# switchboard/dev.py for what `run`, `test` and `bench` do once the venv exists.

.DEFAULT_GOAL := help
.PHONY: help run test bench clean test-tools

PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
# The stamp is named after requirements.txt's checksum, so editing the pins (or checking
# out a branch with other pins) reinstalls, and an unchanged file never does. cksum is
# POSIX, so this works before any Python is known to be usable.
REQS_SUM := $(firstword $(shell cksum < requirements.txt))
STAMP := $(VENV)/.installed-$(REQS_SUM)
ARGS ?=

help: ## Show this help
	@echo "Switchboard: make <target>"
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-7s %s\n", $$1, $$2}'
	@echo "Use your own servers with DATABASE_URL=... REDIS_URL=... make run"

run: $(STAMP) ## Start PostgreSQL + Redis, migrate, seed the demo, serve web + worker + beat
	$(VENV_PY) -m switchboard.dev run

test: $(STAMP) test-tools ## Run the test suite against real services (pytest args: ARGS="-k isolation -x")
	$(VENV_PY) -m switchboard.dev test $(ARGS)

# What the suite needs beyond Python: Debian's Chromium (browser tests, driven by
# Playwright without downloading a browser) and Prism, which serves Twilio's own OpenAPI
# description for the gateway's contract test. Both are installed once.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PRISM := var/node/node_modules/.bin/prism
test-tools:
	@command -v chromium >/dev/null || { echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@test -x $(PRISM) || { echo "Installing Prism (Twilio API contract tests) into var/node"; \
		mkdir -p var/node && npm install --silent --no-audit --no-fund --prefix var/node @stoplight/prism-cli@5.14.2; }

bench: $(STAMP) ## Run tests/bench/bench_*.py with services up
	$(VENV_PY) -m switchboard.dev bench

# Deletes the database and Redis data too. It stops nothing: stop `make run` (Ctrl-C)
# first, or the embedded postgres/redis keep running on deleted files (and their ports).
clean: ## Delete .venv and var/ (all local data!)
	rm -rf $(VENV) var

$(VENV_PY):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11+"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		"error: Python 3.11+ is required, but $(PYTHON) is %d.%d. Install a newer one, or " \
		"point make at it: make PYTHON=python3.12 ..." % sys.version_info[:2])'
	@echo "Creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "error: '$(PYTHON) -m venv' failed (Debian/Ubuntu: apt install python3-venv)"; exit 1; }

$(STAMP): | $(VENV_PY)
	@echo "Installing requirements.txt into $(VENV) (first time takes a minute)"
	@rm -f $(VENV)/.installed-*
	$(VENV_PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@
