# The whole set-up on a fresh Debian machine is `make run` (the embedded demo) or `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The address the demo's links (notification e-mails) name: where `make run` serves it.
SITE_URL ?= http://$(if $(findstring :,$(HOST)),[$(HOST)],$(HOST)):$(PORT)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# gnupg: signatures and key checks; gettext: the French catalogue; Pango and HarfBuzz: WeasyPrint.
DEBIAN_RUN := gnupg gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
  fonts-noto-color-emoji
# chromium: browser tests (Playwright drives Debian's build; it never downloads one).
# redis-server: the two-node exchange tests start a private one (tests/support/nodes.py).
# postgresql-client: pg_dump and pg_restore, for node_backup and node_restore and their tests.
DEBIAN_TEST := $(DEBIAN_RUN) chromium poppler-utils redis-server postgresql-client

.PHONY: help run test lint bench system-run system-test messages constraints clean

help:
	@echo "make run    install what is missing, migrate, load the demo, serve on http://$(HOST):$(PORT)/"
	@echo "make test   install what is missing, run the whole suite (PostgreSQL, Redis, Celery, gpg, Chromium)"
	@echo "make lint   ruff, mypy and the import contracts (lint-imports)"
	@echo "make bench  benchmarks (tests/benchmarks/)"

define apt_ensure
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

system-run:
	$(call apt_ensure,$(DEBIAN_RUN))
	@$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || { \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; }

system-test:
	$(call apt_ensure,$(DEBIAN_TEST))

$(VENV)/.installed-run: pyproject.toml deploy/constraints.txt | system-run
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c deploy/constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml deploy/constraints.txt $(VENV)/.installed-run
	$(PY) -m pip install -q -c deploy/constraints.txt -e '.[dev]'
	touch $@

messages: $(VENV)/.installed-run
	@$(PY) manage.py compilemessages --ignore '.venv' -v0

run: $(VENV)/.installed-run messages
	@# A secret key of this install into .env on first run; no debug server on the network.
	@SITE_URL='$(SITE_URL)' $(PY) manage.py embedded_prepare --host '$(HOST)'
	$(PY) manage.py migrate --noinput -v0
	SITE_URL='$(SITE_URL)' $(PY) manage.py demo_setup
	@echo
	@echo "Serving the demo node at $(SITE_URL)/  (SQLite in var/, tasks in-process; Ctrl-C stops)"
	@# Static files come from WhiteNoise, with DEBUG off as on (mla/settings/local.py).
	@# When the server stops (Ctrl-C too), so do the gpg-agents its signatures started.
	@trap '$(PY) manage.py demo_gpg_stop' EXIT; trap 'exit 130' INT TERM; \
	  SITE_URL='$(SITE_URL)' $(PY) manage.py runserver --nostatic $(HOST):$(PORT)

test: system-test $(VENV)/.installed-dev messages lint
	DJANGO_SETTINGS_MODULE=mla.settings.test $(PY) manage.py check_services
	DJANGO_SETTINGS_MODULE=mla.settings.test $(PY) manage.py makemigrations --check --dry-run -v1
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache

bench: system-test $(VENV)/.installed-dev messages
	DJANGO_SETTINGS_MODULE=mla.settings.test $(PY) manage.py check_services
	DJANGO_SETTINGS_MODULE=mla.settings.test $(PY) -m tests.benchmarks

constraints: $(VENV)/.installed-dev
	@{ head -2 deploy/constraints.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^-e'; } > deploy/constraints.txt.new
	mv deploy/constraints.txt.new deploy/constraints.txt

clean:
	rm -rf $(VENV) var
