# Two commands for a newcomer: `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export OMP_NUM_THREADS ?= 1

# The test suite also runs its database tests on PostgreSQL when a server answers on 127.0.0.1:5432.
PG_UP := $(shell $(PYTHON) -c "import socket; s = socket.socket(); s.settimeout(1); print(int(s.connect_ex(('127.0.0.1', 5432)) == 0))")
ifeq ($(PG_UP),1)
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL
endif

# Browser tests drive Debian's Chromium (Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install run test lint format translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/pybabel compile --domain messages --directory api/translations --statistics
	touch $(STAMP)

install: $(STAMP)

translations: install
	$(BIN)/pybabel compile --domain messages --directory api/translations --statistics

run: install translations
	$(BIN)/matchmaker db upgrade
	$(BIN)/matchmaker demo load --if-empty
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) "api:create_app()"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

# The suite runs in TEST_WORKERS processes (pytest-xdist), one per core here: each has its own databases.
TEST_WORKERS ?= 2

test: lint translations $(CHROMIUM)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
