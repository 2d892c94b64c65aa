#!/usr/bin/env bash
# `make run`: the whole system on this machine, on embedded defaults. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rabbitmq
ensure_mongodb var/mongo "${ONAIR_EMBEDDED_MONGO_PORT:-27117}"

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
    .venv/bin/python -m "services.$service" &
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
