# Onair: `make run` starts the whole system on embedded defaults, `make test` runs the tests.
# Both install what they need first (a virtualenv in .venv, and Debian packages when root).

VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-unit faults faults-cluster demo bench-rooms bench-directory bench-streams bench-live bench-recording bench-alerts bench-console console-screenshots token up down manifests clean

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)
	touch $(STAMP)

install: $(STAMP)

# SIGINT restored to its default first: a `make run` started in the background inherits it
# ignored, and bash cannot trap a signal ignored at entry (Ctrl-C / kill -INT would not stop it).
run: install
	@python3 -c 'import os, signal; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp("bash", ["bash", "scripts/run.sh"])'

test: install
	bash scripts/test.sh

# Every fault scenario (tests/faults), the slow ones included, and the table they print. The quick
# ones also run in `make test`. Needs rabbitmq-server installed (a private node is started).
faults: install
	ONAIR_FAULTS_ALL=1 ONAIR_FAULTS_STATUS_OUTAGE_SECONDS=300 $(PY) -m pytest tests/faults -s -p no:cacheprovider \
		-o timeout=900

# The cluster scenarios (tests/faults/test_cluster.py): a private three-node RabbitMQ cluster, two of
# every service, a node stopped or hung under load. The quick one also runs in `make test`.
faults-cluster: install
	ONAIR_FAULTS_ALL=1 $(PY) -m pytest tests/faults/test_cluster.py -s -p no:cacheprovider -o timeout=900

demo: install
	bash scripts/demo.sh

# The console's wall in headless Chromium with 1,000 live rooms and 10 room changes a second
# (with `ONAIR_WATCH_INTERVAL=86400 make run` going).
bench-console: install
	$(PY) -m bench.console $(ARGS)

# The console's browser test, keeping its screenshots in docs/console/ (for the README).
console-screenshots: install
	ONAIR_CONSOLE_SCREENSHOTS=docs/console bash scripts/test.sh tests/e2e/test_console.py -q

test-unit: install
	$(PY) -m pytest -m unit -q

bench-rooms: install
	$(PY) bench/rooms_api.py

# With `make run` going, started as `ONAIR_WATCH_INTERVAL=86400 make run`: the bench's rooms have no
# real push, so the black-screen watcher would rightly strike and close them. Installs wrk when root.
bench-directory: install
	@command -v wrk >/dev/null || (bash -c 'source scripts/lib.sh && as_root_apt_install wrk')
	$(PY) -m bench.directory $(ARGS)

# The whole system in containers (needs Docker with compose): deploy/compose.yaml.
up:
	docker compose -f deploy/compose.yaml up --build -d

down:
	docker compose -f deploy/compose.yaml down

# Render a Kubernetes overlay: make manifests OVERLAY=prod (or dev).
manifests:
	@kubectl kustomize deploy/k8s/overlays/$(or $(OVERLAY),prod)

# How true the list is (with `make run` going, default settings): real pushes killed, resumed,
# closed and banned, timed on the list, /stat and a player.
bench-live: install
	$(PY) -m bench.live_truth $(ARGS)

# 10,000 live-update streams on one gateway process (with `ONAIR_WATCH_INTERVAL=86400 make run`).
bench-streams: install
	$(PY) -m bench.live_streams $(ARGS)

# What recording and thumbnails cost the media server: 20 real pushes with them and without
# (a private nginx-rtmp; no `make run` needed).
bench-recording: install
	$(PY) -m bench.recording $(ARGS)

# Go-live alerts: an anchor with 100,000 followers goes live (with `ONAIR_WATCH_INTERVAL=86400 make run`).
bench-alerts: install
	$(PY) -m bench.alerts $(ARGS)

# Usage: make token USER=alice [ADMIN=1]
token: install
	@$(PY) -m services.gateway.devtoken $(or $(USER),alice) $(if $(ADMIN),--admin,)

clean:
	rm -rf $(VENV) var build *.egg-info
