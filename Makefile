# 许农优品: `make run` serves the demo, `make test` runs every test. Both set everything up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
WORKERS ?= 2
export FLASK_APP := wsgi

.PHONY: run test install translations static lint messages bench bench-orders css

$(VENV)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || (bash scripts/system-deps.sh venv && $(PYTHON) -m venv $(VENV))
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d marketplace/translations -D messages

# Static files under content-hashed names (served with a year's cache lifetime).
static: $(VENV)/.installed
	@$(BIN)/flask digest clean >/dev/null
	@$(BIN)/flask digest compile >/dev/null

# Regenerate the trimmed Pico stylesheet (needs npm): unused selectors and the dark scheme out.
css:
	npx --yes purgecss@8.0.0 --css static/vendor/pico.min.css --content 'templates/**/*.html' 'static/js/*.js' 'marketplace/**/*.py' --output /tmp/xunong-css/
	$(PYTHON) scripts/trim_css.py /tmp/xunong-css/pico.min.css static/vendor/pico.trimmed.min.css

run: $(VENV)/.installed translations static
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load --if-empty
	$(BIN)/flask reports rebuild
	$(BIN)/flask search reindex --if-missing
	$(BIN)/flask demo accounts
	@echo "许农优品 is at http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
	$(BIN)/gunicorn --workers $(WORKERS) --bind 127.0.0.1:$(PORT) --access-logfile - wsgi:app

test: $(VENV)/.dev-installed translations static
	bash scripts/system-deps.sh
	$(BIN)/ruff check .
	bash scripts/test-all.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .

# Re-extract the strings and merge them into the English catalogue.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -o marketplace/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i marketplace/translations/messages.pot -d marketplace/translations

# The search benchmark on a generated catalogue of 100,000 products (see README).
bench: $(VENV)/.installed translations
	$(BIN)/python bench/search.py

# The purchasing benchmark: 100,000 products and 1,000,000 order lines, on SQLite and on a
# throw-away PostgreSQL cluster (see README). The generated data stays in instance/ for reuse.
bench-orders: $(VENV)/.installed translations
	bash scripts/system-deps.sh
	$(BIN)/python bench/orders.py --workdir instance/bench-orders --reuse
