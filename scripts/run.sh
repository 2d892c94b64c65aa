#!/usr/bin/env bash
# `make run`: the whole system on this machine, on embedded defaults. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ensure_rabbitmq
ensure_mongodb var/mongo "${ONAIR_EMBEDDED_MONGO_PORT:-27117}"

pids=()
[ -n "$EMBEDDED_MONGO_PID" ] && pids+=("$EMBEDDED_MONGO_PID")
stop_all() {
  trap - INT TERM EXIT
  echo "stopping Onair..."
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
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
  local service=$1
  trap 'kill "$child" 2>/dev/null; exit 0' TERM INT
  while true; do
    .venv/bin/python -m "services.$service" &
    child=$!
    status=0
    wait "$child" || status=$?  # (set -e must not end the supervisor with its child)
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
