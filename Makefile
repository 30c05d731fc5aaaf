# Tollgate: `make run` serves it, `make test` tests it. Both work from a fresh clone:
# they install into .venv and start PostgreSQL/Redis under var/ when DATABASE_URL /
# REDIS_URL are unset.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SERVICES := $(PY) scripts/devservices.py --

.PHONY: install run test lint migrate demo clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(SERVICES) $(PY) scripts/run.py

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(SERVICES) $(PY) scripts/test.py $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf var/pg var/redis var/staticfiles
