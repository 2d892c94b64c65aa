#!/usr/bin/env bash
# `make run`: the whole system on this machine, on embedded defaults. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rabbitmq
ensure_mongodb var/mongo "${ONAIR_EMBEDDED_MONGO_PORT:-27117}"

# On the local broker each service connects as its own user with only the permissions it needs
# (scripts/broker_users.sh); with a broker of your own (ONAIR_AMQP_URL), that is yours to set up.
broker_users=""
if [ -z "${ONAIR_AMQP_URL:-}" ] && command -v rabbitmqctl >/dev/null \
   && bash scripts/broker_users.sh "${ONAIR_BUS_NAMESPACE:-onair}" onair-dev >/dev/null 2>var/broker-users.log; then
  broker_users=1
  echo "each service connects to the local RabbitMQ as its own user (onair-<service>)"
elif [ -z "${ONAIR_AMQP_URL:-}" ]; then
  echo "warning: could not set up the per-service broker users (see var/broker-users.log); using guest" >&2
fi
service_amqp_url() {  # service -> the URL it connects with
  if [ -n "$broker_users" ]; then
    local user=${1//_/-}
    echo "amqp://onair-$user:onair-dev-$user@127.0.0.1:5672/"
  else
    echo "${ONAIR_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
  fi
}

pids=()
[ -n "$EMBEDDED_MONGO_PID" ] && pids+=("$EMBEDDED_MONGO_PID")
# Set while stopping: no supervisor restarts a service after that. (Background jobs of a script
# ignore SIGINT, so on Ctrl-C the services stop but their supervisors do not: they look here.)
stopping=var/run/stopping
mkdir -p var/run && rm -f "$stopping"
stop_all() {
  trap - INT TERM EXIT
  echo "stopping Onair..."
  touch "$stopping"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  for _ in $(seq 100); do  # everything gone within 10 s, or killed
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do pkill -KILL -P "$pid" 2>/dev/null || true; kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$stopping"
}
trap stop_all INT TERM EXIT

if [ "${ONAIR_CLOUD:-nginx-rtmp}" = "nginx-rtmp" ]; then
  # The local media server: push with ffmpeg or OBS to a room's push URL, play its play URLs.
  bash scripts/media_server.sh &
  pids+=("$!")
  wait_port 127.0.0.1 "${ONAIR_MEDIA_HTTP_PORT:-8080}" 30 "nginx (media server)"
fi

# Like an orchestrator would, restart a service that dies (a crash, or a kill in a fault test).
supervise() {
  local service=$1 child
  trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM
  while [ ! -e "$stopping" ]; do
    ONAIR_AMQP_URL=$(service_amqp_url "$service") .venv/bin/python -m "services.$service" &
    child=$!
    status=0
    wait "$child" || status=$?  # (set -e must not end the supervisor with its child)
    [ -e "$stopping" ] && break
    echo "[run] services.$service exited ($status); restarting in 1 s" >&2
    sleep 1
  done
}

for service in rooms status_watcher moderation gateway; do
  supervise "$service" &
  pids+=("$!")
done
wait_port 127.0.0.1 "${ONAIR_GATEWAY_PORT:-8000}" 30 gateway
echo "Onair is up: http://127.0.0.1:${ONAIR_GATEWAY_PORT:-8000} (Ctrl-C stops everything)"
wait
