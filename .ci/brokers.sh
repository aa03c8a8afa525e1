#!/usr/bin/env bash
# Message brokers for the worker tests (tests/Histoscale.Cli.Tests/Workers): Debian's redis-server and
# rabbitmq-server, on loopback, on ports of their own so they never meet a system instance.
#
#   bash .ci/brokers.sh [start]   install if missing (apt), start both, wait until they answer, write
#                                 .ci/brokers.env (KEY='value' lines; the tests read it)
#   bash .ci/brokers.sh stop      stop what start started
# Ports: HISTOSCALE_REDIS_PORT (6391), HISTOSCALE_AMQP_PORT (5682; Erlang distribution on +20000). Data, logs and
# pids live outside the repository, in ${TMPDIR:-/tmp}/histoscale-brokers.
set -euo pipefail
cd "$(dirname "$0")"
state=${TMPDIR:-/tmp}/histoscale-brokers
redis_port=${HISTOSCALE_REDIS_PORT:-6391}
amqp_port=${HISTOSCALE_AMQP_PORT:-5682}
node=histoscale-ci-$amqp_port@localhost
mkdir -p "$state"

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_up() { # name port log
  for _ in $(seq 1 120); do
    if up "$2"; then echo "brokers: $1 on 127.0.0.1:$2"; return 0; fi
    sleep 0.5
  done
  echo "brokers: $1 did not start on port $2; its log:" >&2
  tail -n 30 "$3" >&2 || true
  return 1
}

case "${1:-start}" in
  stop)
    if [ -e "$state/redis.pid" ]; then kill "$(cat "$state/redis.pid")" 2>/dev/null || true; rm -f "$state/redis.pid"; fi
    if [ -e "$state/rabbitmq.started" ]; then
      ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
      [ -x "$ctl" ] || ctl=rabbitmqctl
      "$ctl" -n "$node" stop >/dev/null 2>&1 || kill "$(cat "$state/rabbitmq.pid" 2>/dev/null)" 2>/dev/null || true
      rm -f "$state/rabbitmq.started" "$state/rabbitmq.pid"
      # Erlang's port mapper, started with the node: stopped too unless another node still uses it.
      if command -v epmd >/dev/null 2>&1 && ! epmd -names 2>/dev/null | grep -q '^name '; then epmd -kill >/dev/null 2>&1 || true; fi
    fi
    rm -f brokers.env
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac

if { ! command -v redis-server || ! command -v rabbitmq-server; } >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  # As .ci/run does: hosted runners (GitHub's ubuntu-latest) are not root and install through sudo.
  as_root=; [ "$(id -u)" = 0 ] || as_root="sudo DEBIAN_FRONTEND=noninteractive"
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends redis-server rabbitmq-server >/dev/null \
    || echo "brokers: apt-get could not install redis-server/rabbitmq-server; the broker tests will skip" >&2
fi

env_lines=()
if command -v redis-server >/dev/null 2>&1; then
  if ! up "$redis_port"; then
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$state" \
      --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/redis.log"
  fi
  wait_up redis "$redis_port" "$state/redis.log" && env_lines+=("HISTOSCALE_TEST_REDIS='redis://127.0.0.1:$redis_port'")
fi
if command -v rabbitmq-server >/dev/null 2>&1; then
  if ! up "$amqp_port"; then
    mkdir -p "$state/rabbitmq/mnesia" "$state/rabbitmq/log"
    # The server proper, not Debian's wrapper (which switches to the rabbitmq user, who cannot write $state).
    server=/usr/lib/rabbitmq/bin/rabbitmq-server
    [ -x "$server" ] || server=rabbitmq-server
    # A private node: its own name, data dir, ports and no plugins, so it never touches a system RabbitMQ.
    echo "[]." >"$state/rabbitmq/enabled_plugins"
    RABBITMQ_NODENAME=$node RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$amqp_port \
      RABBITMQ_DIST_PORT=$((amqp_port + 20000)) RABBITMQ_MNESIA_BASE="$state/rabbitmq/mnesia" \
      RABBITMQ_LOG_BASE="$state/rabbitmq/log" RABBITMQ_ENABLED_PLUGINS_FILE="$state/rabbitmq/enabled_plugins" \
      RABBITMQ_CONFIG_FILE="$state/rabbitmq/none" RABBITMQ_FEATURE_FLAGS_FILE="$state/rabbitmq/feature_flags" \
      RABBITMQ_PLUGINS_EXPAND_DIR="$state/rabbitmq/plugins" ERL_CRASH_DUMP="$state/rabbitmq/erl_crash.dump" \
      nohup "$server" >"$state/rabbitmq.log" 2>&1 </dev/null &
    echo $! >"$state/rabbitmq.pid"
    touch "$state/rabbitmq.started"
  fi
  # The node name too: the reconnection tests close its connections from the server side (rabbitmqctl -n NODE).
  wait_up rabbitmq "$amqp_port" "$state/rabbitmq.log" && env_lines+=("HISTOSCALE_TEST_AMQP='amqp://guest:guest@127.0.0.1:$amqp_port/'" "HISTOSCALE_TEST_AMQP_NODE='$node'")
fi
printf '%s\n' "${env_lines[@]}" >brokers.env
