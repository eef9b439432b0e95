# Three commands for a newcomer: `make demo` (everything offline, with invented people), `make run`
# (the bot on SQLite, with a real token) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run demo test lint clean messages catalog bench bench-smoke

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

## run: set up and start the bot (polling, SQLite at ./var/companion.db)
run: $(VENV)/.installed-run
	$(BIN)/companion run

## demo: try everything offline: a phone page, the bot and the dashboard on 127.0.0.1, with
## invented people (SQLite at ./var/demo.db; `make demo DEMO_ARGS=--reset` starts it fresh)
demo: $(VENV)/.installed-run
	$(BIN)/companion demo $(DEMO_ARGS)

# axe-core (npm) checks the dashboard's accessibility in the browser tests.
node_modules/axe-core/axe.min.js: package.json
	npm install --no-audit --no-fund --silent
	touch $@

## test: set up with dev tools and run lint, types and every test
test: $(VENV)/.installed-dev node_modules/axe-core/axe.min.js
	$(BIN)/ruff check .
	$(BIN)/mypy
	@# Plain English: the hardest participant messages (tests/i18n/test_readability.py sets limits).
	$(BIN)/python -m tests.i18n.readability
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis

## messages: refresh locales/messages.pot from the code (and merge it into every catalog)
messages: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F pyproject.toml -k N_ --no-location --sort-output \
		--add-comments=Translators: --project="Programme Companion" \
		-o locales/messages.pot bot handlers
	@if ls locales/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel update -i locales/messages.pot -d locales --width 100; fi
	@# The staff dashboard's own domain (handlers/web): English and Welsh for staff, with the
	@# sentences of the services' rule errors (DomainError and its kinds, in bot/services and
	@# bot/domain), which the dashboard shows in the reader's language.
	$(BIN)/pybabel extract -F pyproject.toml -k tr -k trn:1,2 \
		-k DomainError -k NotFound -k Conflict -k InvalidInput -k SignInRefused --no-location --sort-output \
		--add-comments=Translators: --project="Programme Companion" \
		-o locales/dashboard.pot handlers/web bot/services bot/domain
	@if ls locales/*/LC_MESSAGES/dashboard.po >/dev/null 2>&1; then \
		$(BIN)/pybabel update -D dashboard -i locales/dashboard.pot -d locales --width 100; fi

## catalog: start a new language's catalog, e.g. `make catalog CODE=cy` (CLDR plural rules)
catalog: $(VENV)/.installed-dev
	$(BIN)/python -c 'import sys; from bot.i18n import start_catalog; print(start_catalog(sys.argv[1]))' $(CODE)

## bench: every benchmark at full size (~20 min): figures printed and in bench/results/latest.json + .png
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run

## bench-smoke: the same at small sizes (under a minute), so the benchmarks cannot rot (run in CI)
bench-smoke: $(VENV)/.installed-dev
	$(BIN)/python -m bench.run --smoke
