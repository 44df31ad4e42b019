# Mall Assistant: the front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml 2>/dev/null | sha1sum | cut -c1-12)
SOURCES := actions mall desk security launcher components channels scripts monitoring rasa_sdk_plugins analytics
LOG_DIR := var/log
# Rasa sends usage telemetry unless told not to; nothing leaves the machine.
export RASA_TELEMETRY_ENABLED := false

.PHONY: help venv run cluster train validate lint format typecheck unit test conversations \
        integration outsider browser bench bench-insight eval-real eval-sentiment catalogue-nlu \
        db demo-data segments lock demo shell clean webchat deploy-tools deploy-check

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@PY310="$$(scripts/find-python310.sh)" || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))'; then \
	  echo "Creating $(VENV) with $$PY310"; rm -rf $(VENV); "$$PY310" -m venv $(VENV) || exit 1; \
	fi
	@mkdir -p $(LOG_DIR)
	@echo "Installing pinned dependencies (log: $(LOG_DIR)/install.log) ..."
	@{ $(PY) -m pip install --upgrade "pip==24.2" && \
	   $(PY) -m pip install -r requirements.lock; } > $(LOG_DIR)/install.log 2>&1 \
	  || { tail -30 $(LOG_DIR)/install.log; echo "Dependency install failed; see $(LOG_DIR)/install.log"; exit 1; }
	@rm -f $(VENV)/.installed-*; touch $@
	@echo "Dependencies installed."

venv: $(STAMP) ## Build the virtual environment from the pinned requirements

run: venv ## Run the whole assistant on embedded defaults (trains first when needed)
	@$(PY) -m launcher run

cluster: venv deploy-tools ## 2 Rasa + 2 action servers behind HAProxy on local PostgreSQL, Redis, RabbitMQ
	@$(PY) -m launcher cluster

train: venv ## Train the Rasa model if config, domain or data changed (--force: make train FORCE=1)
	@$(PY) -m launcher train $(if $(FORCE),--force,)

db: venv ## Create/migrate the mall database and seed the demo data
	@$(PY) -m mall init-db --seed

demo-data: venv ## Add 400 generated customers with 60 days of behaviour, then segment everyone
	@$(PY) -m mall seed --customers $(or $(CUSTOMERS),400)

segments: venv ## Recompute the segments by K-Means (prints k, silhouette, the named clusters)
	@$(PY) -m mall segments

catalogue-nlu: venv ## Regenerate the Jieba dictionary, lookups and synonyms from the catalogue
	@$(PY) scripts/build_nlu_catalogue.py

validate: venv ## rasa data validate (log: var/log/validate.log)
	@mkdir -p $(LOG_DIR)
	@$(PY) scripts/build_nlu_catalogue.py --check
	@if $(BIN)/rasa data validate --fail-on-warnings > $(LOG_DIR)/validate.log 2>&1; then \
	  echo "rasa data validate: OK"; \
	else grep -E "UserWarning|ERROR|WARNING|Error" $(LOG_DIR)/validate.log | tail -30; \
	  echo "rasa data validate failed; see $(LOG_DIR)/validate.log"; exit 1; fi

lint: venv ## ruff lint and format check
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

format: venv ## Format the code with ruff
	@$(BIN)/ruff check --fix .
	@$(BIN)/ruff format .

typecheck: venv ## mypy on the project's packages
	@$(BIN)/mypy $(SOURCES)

unit: venv ## Unit tests (fast; PostgreSQL tests skip when it is not running)
	@$(PY) -m pytest -m "not integration" -q

conversations: venv ## rasa test: NLU test set and conversation stories, mall + actions running
	@$(PY) -m launcher test-conversations

integration: venv browser webchat ## Integration tests: the real processes on loopback, trained model, chromium
	@$(PY) -m pytest -m integration -q

outsider: venv ## The outsider probes alone: `make run`'s defaults attacked over HTTP (trained model)
	@$(PY) -m pytest -m integration -q tests/outsider

browser: ## Install Debian's chromium (+ a Chinese font) for the browser tests (apt-get)
	@if [ -x /usr/bin/chromium ] && fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing chromium with apt-get (log: $(LOG_DIR)/apt.log) ..."; mkdir -p $(LOG_DIR); \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    chromium fonts-wqy-zenhei; } > $(LOG_DIR)/apt.log 2>&1 \
	    || { tail -20 $(LOG_DIR)/apt.log; exit 1; }; \
	else echo "chromium is missing: install Debian's package (sudo apt-get install chromium);" \
	  "browser tests skip without it"; fi

webchat: node_modules/.package-lock.json ## Install the standard web client (rasa-webchat) from the npm registry

node_modules/.package-lock.json: package.json package-lock.json
	@if ! command -v npm >/dev/null; then \
	  echo "npm is missing (apt-get install npm): the standard-client browser test skips without it"; \
	else mkdir -p $(LOG_DIR); echo "Installing rasa-webchat with npm ci (log: $(LOG_DIR)/npm.log) ..."; \
	  npm ci --no-audit --no-fund --ignore-scripts > $(LOG_DIR)/npm.log 2>&1 \
	    || { tail -20 $(LOG_DIR)/npm.log; exit 1; }; fi

test: venv ## Everything CI runs: lint, types, unit, validate, train, rasa test, integration
	@echo "== lint and types"; $(MAKE) --no-print-directory lint typecheck
	@echo "== unit tests"; $(MAKE) --no-print-directory unit
	@echo "== data validation"; $(MAKE) --no-print-directory validate
	@echo "== training"; $(MAKE) --no-print-directory train
	@echo "== rasa test"; $(MAKE) --no-print-directory conversations
	@echo "== integration tests"; $(MAKE) --no-print-directory integration

bench: venv ## Turns vs a stock bot at 1, 4 and 10 users (ratios), a 200-turn conversation, the price turn at 50,000 products; the catalogue index; one process vs make cluster; soak; bench-insight
	@$(PY) bench/bench_turns.py --users 4,10 --long-turns 200 --catalogue 50000
	@$(PY) bench/bench_graph_runner.py
	@$(PY) bench/bench_catalogue.py
	@$(PY) bench/bench_cluster.py
	@$(MAKE) --no-print-directory bench-insight

bench-insight: venv ## Event ingestion (SQLite, PostgreSQL) and segmenting 100,000 customers
	@$(PY) bench/bench_events.py
	@$(PY) bench/bench_segments.py

eval-real: venv ## Score the model on real shop chat (../shared, skipped when absent) beside the own test set
	@PYTHONWARNINGS=ignore TF_CPP_MIN_LOG_LEVEL=3 $(PY) scripts/eval_real.py

eval-sentiment: venv ## Sentiment: ROC AUC, precision/recall and latency (shared reviews + chat sets)
	@PYTHONWARNINGS=ignore TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m components.sentiment_eval $(if $(wildcard models/mall-assistant.tar.gz),--model models/mall-assistant.tar.gz,)

demo: venv ## Print a sample sales conversation through the web channel (make run first)
	@$(PY) scripts/demo_conversation.py

shell: venv ## Chat in the terminal: plain `rasa shell` (mall + actions: make run in another shell)
	@$(BIN)/rasa shell --model models/mall-assistant.tar.gz

lock: ## Re-resolve the dependencies of pyproject.toml into requirements.lock
	@PY310="$$(scripts/find-python310.sh)" || exit 1; rm -rf /tmp/mall-assistant-lock; \
	"$$PY310" -m venv /tmp/mall-assistant-lock && \
	/tmp/mall-assistant-lock/bin/pip install -q "pip==24.2" && \
	/tmp/mall-assistant-lock/bin/pip install -q "rasa[jieba,transformers]==3.6.21" "rasa-sdk==3.6.2" && \
	/tmp/mall-assistant-lock/bin/pip freeze > /tmp/mall-assistant-lock/rasa.txt && \
	/tmp/mall-assistant-lock/bin/pip install -q -c /tmp/mall-assistant-lock/rasa.txt -e ".[dev]" && \
	{ echo "# Generated by 'make lock' from pyproject.toml; install with pip install -r requirements.lock"; \
	  /tmp/mall-assistant-lock/bin/pip freeze --exclude-editable | grep -v '^mall-assistant'; } > requirements.lock
	@echo "requirements.lock updated."

deploy-tools: ## Install Debian's promtool (prometheus), HAProxy and docker-compose for deploy checks (apt-get)
	@if command -v promtool >/dev/null && command -v haproxy >/dev/null && command -v docker-compose >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing prometheus (promtool), haproxy, docker-compose with apt-get (log: $(LOG_DIR)/apt.log) ..."; \
	  mkdir -p $(LOG_DIR); \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    prometheus haproxy docker-compose; } > $(LOG_DIR)/apt.log 2>&1 || { tail -20 $(LOG_DIR)/apt.log; exit 1; }; \
	else echo "Install Debian's prometheus, haproxy and docker-compose (sudo apt-get install ...);" \
	  "the checks that need them skip without them"; fi

deploy-check: venv ## Check deploy/: alert rules (promtool), compose file, Kubernetes manifests, dashboard
	@$(PY) -m pytest -q tests/deploy

clean: ## Remove trained models, databases, logs and caches (keeps the venv)
	rm -rf models/*.tar.gz models/*.json var/* node_modules .pytest_cache .mypy_cache .ruff_cache
