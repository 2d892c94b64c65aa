# Shared shell helpers for run.sh and test.sh (sourced, not executed).

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_port() {  # host port seconds what
  local i
  for ((i = 0; i < $3 * 10; i++)); do port_open "$1" "$2" && return 0; sleep 0.1; done
  echo "error: $4 did not answer on $1:$2 within $3 s" >&2
  return 1
}

as_root_apt_install() {  # install Debian packages when missing and we are root
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "warning: missing Debian packages ${missing[*]} (run as root to install them)" >&2
    return 1
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Use the broker at ONAIR_AMQP_URL; with none given, the local RabbitMQ (started if stopped).
ensure_rabbitmq() {
  if [ -n "${ONAIR_AMQP_URL:-}" ]; then return 0; fi
  port_open 127.0.0.1 5672 && return 0
  command -v rabbitmq-server >/dev/null || as_root_apt_install rabbitmq-server || true
  if command -v rabbitmq-server >/dev/null; then
    echo "starting the local RabbitMQ (rabbitmq-server -detached)"
    rabbitmq-server -detached
    wait_port 127.0.0.1 5672 60 RabbitMQ
  else
    echo "error: no RabbitMQ at 127.0.0.1:5672 and none installed; set ONAIR_AMQP_URL" >&2
    return 1
  fi
}

# Start the embedded SecantusDB (MongoDB wire protocol) unless ONAIR_MONGODB_URL names a server.
# Sets EMBEDDED_MONGO_PID when it started one.
ensure_mongodb() {  # data_dir port
  EMBEDDED_MONGO_PID=""
  if [ -n "${ONAIR_MONGODB_URL:-}" ]; then return 0; fi
  local dir=$1 port=$2
  mkdir -p "$dir"
  if ! port_open 127.0.0.1 "$port"; then
    echo "starting embedded SecantusDB on 127.0.0.1:$port (data in $dir)"
    .venv/bin/secantusd-py --host 127.0.0.1 --port "$port" --storage-path "$dir/data" \
      --log-level WARNING >"$dir/secantusd.log" 2>&1 &
    EMBEDDED_MONGO_PID=$!
    wait_port 127.0.0.1 "$port" 60 SecantusDB
  fi
  # retryWrites=false: the embedded store's retryable-write registry grows with every write and
  # is pruned linearly on each (measured: a third of its time after 20,000 writes). Onair's writes
  # are idempotent by design (conditional on a version, or receipted), so nothing relies on it.
  export ONAIR_MONGODB_URL="mongodb://127.0.0.1:$port/?directConnection=true&retryWrites=false"
}
