#!/usr/bin/env bash
# `make test`: unit and integration tests against a real RabbitMQ and a MongoDB-protocol server.
# The tests use ONAIR_TEST_MONGODB_URL / ONAIR_TEST_AMQP_URL when set, else containers when a
# Docker engine answers, else the local RabbitMQ and an embedded SecantusDB they start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
[ -n "${ONAIR_TEST_AMQP_URL:-}" ] || ensure_rabbitmq
# The end-to-end tier pushes real RTMP (ffmpeg) into a private nginx with the RTMP module.
as_root_apt_install nginx libnginx-mod-rtmp ffmpeg || true
# The console's tests drive a real headless browser.
as_root_apt_install chromium chromium-driver || true
if [ $# -eq 0 ]; then  # the whole suite starts with the static checks (fast)
  .venv/bin/ruff check .
  .venv/bin/mypy
fi
exec .venv/bin/python -m pytest "$@"
