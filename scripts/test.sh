#!/usr/bin/env bash
# `make test`: unit and integration tests against a real RabbitMQ and a MongoDB-protocol server.
# The tests use ONAIR_TEST_MONGODB_URL / ONAIR_TEST_AMQP_URL when set, else containers when a
# Docker engine answers, else the local RabbitMQ and an embedded SecantusDB they start themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
[ -n "${ONAIR_TEST_AMQP_URL:-}" ] || ensure_rabbitmq
exec .venv/bin/python -m pytest "$@"
