#!/usr/bin/env bash
# `make run`: the whole platform on this machine in one command.
#
#   1. starts the local stack (ClickHouse and Tansu, `stack.sh up`) unless it runs already;
#   2. builds cityops, applies the ClickHouse migrations and creates the topics;
#   3. runs every service in one `cityops up` process (logs: var/log/cityops.log);
#   4. plays a simulated Shenyang day into it with department bots (`cityops simulate
#      --demo-tokens`, logs: var/log/simulate.log) and prints the cockpit's address.
#
# Ctrl-C stops the simulator, then cityops (it finishes the work in flight), then the stack if
# this script started it. Everything is kept under var/: `make run` again resumes.
# The demo tokens (`sim-<dept>-token`) are for this machine only: cityops listens on 127.0.0.1.
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
STACK=deploy/local/stack.sh
LOGS=$ROOT/var/log
CARGO=${CARGO:-cargo}
PROFILE=${RUN_PROFILE:-release}
# The listeners, as config/cityops.toml sets them (override both with the CITYOPS_* variables).
health=${CITYOPS_TELEMETRY__LISTEN:-127.0.0.1:9464}
cockpit=${CITYOPS_COCKPIT__LISTEN:-127.0.0.1:8080}
api=${CITYOPS_DISPATCH__LISTEN:-127.0.0.1:8083}

export RUST_LIB_BACKTRACE=${RUST_LIB_BACKTRACE:-0}

say() { printf '[run] %s\n' "$*" >&2; }

mkdir -p "$LOGS"
stack_was_up=false
status=$("$STACK" status)
if grep -q '^clickhouse: up' <<<"$status" && grep -q '^tansu: up' <<<"$status"; then
  stack_was_up=true
fi
"$STACK" up

say "building cityops ($PROFILE; the first build takes a few minutes)"
if [ "$PROFILE" = release ]; then
  "$CARGO" build --release --locked -p cityops-cli --bin cityops
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/cityops
else
  "$CARGO" build --locked -p cityops-cli --bin cityops
  BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/cityops
fi

demo_settings=$("$BIN" simulate --demo-tokens --print-dispatch-settings)
mapfile -t demo <<<"$demo_settings"
sets=()
for s in "${demo[@]}"; do sets+=(--set "$s"); done

say "applying the ClickHouse migrations and creating the topics"
"$BIN" migrate
"$BIN" topics

platform_pid=""
simulator_pid=""
stopping=false
# Waits until process $1 is gone (a signal handled meanwhile interrupts `wait`, not this).
wait_gone() {
  while kill -0 "$1" 2>/dev/null; do wait "$1" 2>/dev/null || true; done
}
# cityops, the simulator and the stack run in sessions of their own, so a Ctrl-C reaches only
# this script, which stops them in order: the simulator, then cityops (finishing its work in
# flight), then the stack if this script started it.
stop_all() {
  $stopping && return
  stopping=true
  # From here on a second Ctrl-C stops cityops and the simulator at once (a second signal does);
  # what they had not finished is read again on the next start.
  trap 'kill -INT $simulator_pid $platform_pid 2>/dev/null' INT TERM
  echo >&2
  if [ -n "$simulator_pid" ] && kill -0 "$simulator_pid" 2>/dev/null; then
    say "stopping the simulator"
    kill -TERM "$simulator_pid" 2>/dev/null || true
    wait_gone "$simulator_pid"
  fi
  if [ -n "$platform_pid" ] && kill -0 "$platform_pid" 2>/dev/null; then
    say "stopping cityops (finishing the work in flight; Ctrl-C again stops it at once)"
    kill -TERM "$platform_pid" 2>/dev/null || true
    wait_gone "$platform_pid"
  fi
  if ! $stack_was_up; then
    "$STACK" down
  fi
  say "stopped. The data is kept under var/ (ClickHouse database 'cityops', Tansu's topics): 'make run' resumes."
}
trap 'stop_all; exit 0' INT TERM

setsid "$BIN" "${sets[@]}" up >>"$LOGS/cityops.log" 2>&1 &
platform_pid=$!

# Ready when the platform's /readyz answers 200 (Kafka and ClickHouse reachable).
for _ in $(seq 1 120); do
  if curl -fsS "http://$health/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$platform_pid" 2>/dev/null; then
    say "cityops stopped while starting; the end of var/log/cityops.log:"
    tail -n 20 "$LOGS/cityops.log" >&2
    stop_all
    exit 1
  fi
  sleep 0.5
done
curl -fsS "http://$health/readyz" >/dev/null 2>&1 ||
  say "cityops is not ready yet after a minute (http://$health/readyz); see var/log/cityops.log"

# Today from 00:00 CST, played at 60× until it reaches now, then live: the wall's "today"
# fills at once whatever the hour (docs/simulator.md).
today=$(date -u -d "+8 hours" +%F)   # the date in China Standard Time (UTC+8)
setsid "$BIN" --set "simulate.start=\"$today\"" --set simulate.live=true simulate --demo-tokens \
  >>"$LOGS/simulate.log" 2>&1 &
simulator_pid=$!

cat >&2 <<EOF

  cityops is running, and a simulated Shenyang day is playing into it: today from 00:00 at
  60× until it reaches now, then live.

    cockpit (the operations centre's wall)   http://$cockpit/
    the departments' API                     http://$api/v1/   (docs/departments.md)
    health and metrics                       http://$health/readyz  /metrics
    ClickHouse                               http://127.0.0.1:${CH_HTTP_PORT:-18123}/  database cityops

    logs: var/log/cityops.log (the services), var/log/simulate.log (the simulator's progress)

  Ctrl-C stops everything; 'make run' again resumes with the data kept.

EOF

# Wait for the platform; the simulator ending (its day is over) leaves the platform running.
while kill -0 "$platform_pid" 2>/dev/null; do
  if [ -n "$simulator_pid" ] && ! kill -0 "$simulator_pid" 2>/dev/null; then
    if wait "$simulator_pid"; then
      say "the simulator finished: $(tail -n 1 "$LOGS/simulate.log")"
      say "cityops goes on: Ctrl-C to stop"
    else
      say "the simulator stopped with an error; the end of var/log/simulate.log:"
      tail -n 10 "$LOGS/simulate.log" >&2
    fi
    simulator_pid=""
  fi
  sleep 1
done
wait "$platform_pid" || {
  say "cityops stopped with an error; the end of var/log/cityops.log:"
  tail -n 20 "$LOGS/cityops.log" >&2
}
stop_all
