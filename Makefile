# fleetwise task runner: `make run` (the main job) and `make test` (lint, types, tests).
# Both create the virtual environment and install what fleetwise needs, Debian packages
# included, so a fresh machine needs nothing by hand.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# One environment for both targets: every extra (torch pinned in pyproject.toml) and the
# test tools.
EXTRAS ?= all,test
# Debian packages and the file each one provides (how we tell it is there): fio for the
# storage benchmarks, PostgreSQL for the store tests on the second back-end, chromium for
# the dashboard's browser tests (driven by Playwright with executable_path=/usr/bin/chromium),
# LibreOffice Impress (its headless build: no X libraries) and the DejaVu fonts for the test
# that converts the steering deck to PDF with `soffice --headless`; MariaDB for the DevLake
# import's MySQL test (DevLake's default database).
DEB_PACKAGES := fio:/usr/bin/fio postgresql:/usr/lib/postgresql chromium:/usr/bin/chromium \
  libreoffice-impress-nogui:/usr/bin/soffice \
  fonts-dejavu-core:/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf \
  mariadb-server:/usr/sbin/mariadbd
SUITE ?= quick
PYTEST_ARGS ?=

# Run apt-get as root, or through sudo when there is one.
SUDO := $(shell [ "$$(id -u)" != 0 ] && command -v sudo >/dev/null && echo sudo)

.PHONY: run test lint typecheck bench sysdeps venv clean help

help:
	@echo "make run     - the whole story: quick suite, diagnosis, plan, briefing (./fleetwise.db, ./reports)"
	@echo "make test    - lint, type checks and the test suite"
	@echo "make lint    - ruff check and format check"
	@echo "make bench   - measure the harness itself (benchmarks/harness.py)"

sysdeps:
	@missing=""; for spec in $(DEB_PACKAGES); do \
	  [ -e "$${spec#*:}" ] || missing="$$missing $${spec%%:*}"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian packages:$$missing"; \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "warning: please install$$missing (fio: storage benchmarks; postgresql: store tests; chromium: browser tests; libreoffice: deck render test; mariadb-server: DevLake MySQL test)"; \
	  fi; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

venv: $(STAMP)

run: sysdeps venv
	FW=$(BIN)/fleetwise SUITE=$(SUITE) bash examples/story.sh

test: sysdeps venv lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: venv
	$(BIN)/mypy

bench: sysdeps venv
	$(BIN)/python benchmarks/harness.py

clean:
	rm -rf $(VENV) .fleetwise-work .pytest_cache .mypy_cache .ruff_cache reports
