# Two commands on a fresh machine: `make run` (serve on http://127.0.0.1:5000) and `make test`.
VENV := .venv
BIN := $(VENV)/bin
# tools/find-python picks Python 3.11, 3.12 or 3.13 (or checks $PYTHON) and explains when none is here.
FIND_PYTHON = $(shell PYTHON="$(PYTHON)" tools/find-python)

.PHONY: install runtime run worker test lint typecheck pytest browser audit lock clean
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/python:
	@python="$(FIND_PYTHON)"; test -n "$$python" || exit 1; "$$python" -m venv $(VENV)

$(BIN)/.runtime: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e .
	touch $@

$(BIN)/.installed: $(BIN)/.runtime
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $@

## runtime: create .venv with the runtime dependencies only (what `make run` needs)
runtime: $(BIN)/.runtime

## install: create .venv with every runtime and test dependency
install: $(BIN)/.installed

## run: apply migrations and serve on http://127.0.0.1:5000 (SQLite, console mail, worker thread)
run: runtime
	$(BIN)/flask --app app db upgrade
	RUN_WORKER_IN_PROCESS=1 $(BIN)/flask --app app run --host 127.0.0.1 --port 5000

## test: ruff, mypy and pytest incl. browser tests (DATABASE_URL=postgresql://... for Postgres)
test: install browser lint typecheck pytest

## browser: Debian's Chromium for the browser tests (Playwright cannot download its own here)
browser:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium; }

## audit: check requirements.lock for known vulnerabilities (exit 0 clean, 1 found, 2 could not check)
audit: install
	$(BIN)/python tools/audit.py requirements.lock

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

pytest: install
	$(BIN)/pytest

## lock: re-pin requirements.lock from what is installed
lock:
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
