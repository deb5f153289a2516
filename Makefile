# The commands a newcomer needs. Each works on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/ledger
TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432/ledger_test_main
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install clients run serve reset test test-postgres test-sqlite bench lint fmt clean examples
# The Apollo Client example (docs/CLIENTS.md), pinned by its package-lock.json; its test runs it against a live server.
EXAMPLE := examples/apollo-client

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

$(EXAMPLE)/node_modules/.package-lock.json: $(EXAMPLE)/package-lock.json $(EXAMPLE)/package.json
	cd $(EXAMPLE) && npm ci --no-audit --no-fund --loglevel=error

examples: $(EXAMPLE)/node_modules/.package-lock.json

# The real GraphQL clients the suite runs (tests/trusted/test_real_clients.py): relay-compiler,
# relay-runtime and Apollo Client, exactly as clients/package-lock.json pins them.
clients/node_modules/.package-lock.json: clients/package.json clients/package-lock.json
	cd clients && npm ci --no-audit --no-fund --loglevel=error

clients: clients/node_modules/.package-lock.json

run: install
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --no-input
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py dev_api_key --host $(HOST) --port $(PORT)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# A fresh database for the README tour (make reset run): deletes make run's SQLite file, never a PostgreSQL database.
SQLITE_FILE = $(or $(SQLITE_PATH),ledger.sqlite3)
reset:
	@if [ -n "$$DATABASE_URL" ]; then \
		echo "make reset deletes only make run's SQLite file; for PostgreSQL: dropdb ledger && createdb ledger" >&2; exit 2; fi
	rm -f $(SQLITE_FILE) $(SQLITE_FILE)-wal $(SQLITE_FILE)-shm $(SQLITE_FILE)-journal

# The production stack on this machine, without Docker: nginx in front of gunicorn
# (ledger_project/serve.py), DEBUG off, every other setting from the environment
# (SECRET_KEY and DATABASE_URL at least), listening on $(HOST):$(PORT).
serve: install
	DEBUG=false $(BIN)/python manage.py migrate --no-input
	DEBUG=false $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	DEBUG=false HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m ledger_project.serve

# The whole suite on PostgreSQL, then the non-concurrent part on SQLite.
test: install clients test-postgres test-sqlite

test-postgres: install examples clients
	DATABASE_URL=$(TEST_PG_URL) DEBUG=false SECRET_KEY=test-only-not-secret \
		$(BIN)/pytest -m "not ha" $(PYTEST_ARGS)

test-sqlite: install
	DATABASE_URL= DEBUG=false SECRET_KEY=test-only-not-secret \
		$(BIN)/pytest -m "not postgres_only and not browser and not ha" $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench.run --servers

# A pg_auto_failover monitor, primary and synchronous secondary on this machine
# (ports 6000-6002, data in /var/lib/ledger-ha): deploy/ha/README.md.
.PHONY: ha-up ha-down
ha-up:
	deploy/ha/ha.sh up

ha-down:
	deploy/ha/ha.sh down

# pgbouncer in transaction mode on 6432 in front of 127.0.0.1:5432, or with PGBOUNCER_ARGS=--ha
# in front of the pair (6432 follows the primary, 6433 the standby): deploy/pgbouncer/README.md.
.PHONY: pgbouncer-up pgbouncer-down
pgbouncer-up:
	deploy/pgbouncer/pgbouncer.sh up $(PGBOUNCER_ARGS)

pgbouncer-down:
	deploy/pgbouncer/pgbouncer.sh down

# Kills the pair's primary under load, three ways, and checks read-your-writes on the standby (bench/ha.py); ~5 minutes, as root.
.PHONY: test-ha
test-ha: install ha-up
	DATABASE_URL= DEBUG=false SECRET_KEY=test-only-not-secret \
		$(BIN)/pytest -m ha -s tests/ha $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache staticfiles ledger.sqlite3* $(EXAMPLE)/node_modules $(EXAMPLE)/generated \
		clients/node_modules
