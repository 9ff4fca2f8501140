#!/usr/bin/env bash
# The local stack of cityops: ClickHouse (Debian's clickhouse-server) and Tansu (a Kafka-protocol
# broker from crates.io) run as plain background processes on 127.0.0.1, with their data, logs
# and pid files under ./var. Used by `make setup|up|down|status`; see docs/operations.md.
#
#   stack.sh setup   install what is missing (idempotent)
#   stack.sh up      start what is not running and wait until both answer (no-op when running)
#   stack.sh down    stop exactly the processes `up` started (by pid file)
#   stack.sh status  say what runs
set -euo pipefail

cd "$(dirname "$0")/../.."
ROOT=$PWD
VAR=${STACK_VAR_DIR:-$ROOT/var}
CH_HTTP_PORT=${CH_HTTP_PORT:-18123}
CH_TCP_PORT=${CH_TCP_PORT:-19000}
KAFKA_PORT=${KAFKA_PORT:-19092}
TANSU_VERSION=${TANSU_VERSION:-0.6.0}
# sqlite keeps topics and committed offsets across restarts. The path must be relative to the
# working directory (Tansu 0.6 mangles absolute ones), so Tansu is started from $VAR/tansu.
TANSU_STORAGE=${TANSU_STORAGE:-sqlite://tansu.db}
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin

log() { printf '[stack] %s\n' "$*" >&2; }

tansu_bin() {
  if command -v tansu >/dev/null 2>&1; then command -v tansu
  elif [ -x "$CARGO_BIN/tansu" ]; then echo "$CARGO_BIN/tansu"
  fi
}

setup() {
  local need_apt=()
  [ -x /usr/sbin/clickhouse-server ] || need_apt+=(clickhouse-server)
  command -v clickhouse-client >/dev/null 2>&1 || need_apt+=(clickhouse-client)
  command -v kcat >/dev/null 2>&1 || need_apt+=(kcat)
  command -v curl >/dev/null 2>&1 || need_apt+=(curl)
  # Headless Chromium and CJK fonts for the cockpit's browser test.
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  [ -d /usr/share/fonts/opentype/noto ] || need_apt+=(fonts-noto-cjk)
  # promtool checks deploy/prometheus/alerts.yaml in the deployment test.
  command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
  if [ ${#need_apt[@]} -gt 0 ]; then
    log "installing Debian packages: ${need_apt[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${need_apt[@]}"
  fi
  local t
  t=$(tansu_bin)
  if [ -z "$t" ] || ! "$t" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
    log "installing tansu $TANSU_VERSION from crates.io (about 12 minutes on 2 cores)"
    cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql
  fi
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  # chDB (PyPI): a current ClickHouse in process, on which the store's tests also run the
  # migrations and every query of docs/analytics.md (scripts/chdb_run.py).
  local chdb_version=4.4.0 chdb_installed
  chdb_installed=$(python3 -m pip show chdb 2>/dev/null || true)
  if ! grep -qx "Version: $chdb_version" <<<"$chdb_installed"; then
    log "installing chdb $chdb_version from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check "chdb==$chdb_version" ||
      python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
        "chdb==$chdb_version"
  fi
  # civicbot (PyPI, MIT): an Open311 GeoReport v2 client, used unchanged by the Open311 test.
  local civicbot_version=0.4.0
  if ! python3 -m pip show civicbot 2>/dev/null | grep -qx "Version: $civicbot_version"; then
    log "installing civicbot $civicbot_version from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check "civicbot==$civicbot_version" ||
      python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
        "civicbot==$civicbot_version"
  fi
  # PyYAML parses every manifest under deploy/ in the deployment test (tests/deploy).
  if ! python3 -c 'import yaml' 2>/dev/null; then
    log "installing PyYAML from PyPI"
    python3 -m pip install --quiet --disable-pip-version-check "PyYAML==6.0.3" ||
      python3 -m pip install --quiet --disable-pip-version-check --break-system-packages \
        "PyYAML==6.0.3"
  fi
  log "setup complete: clickhouse-server, kcat, chromium, promtool, tansu $TANSU_VERSION, chdb $chdb_version, civicbot $civicbot_version, PyYAML"
}

alive() { # pidfile
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

ch_answers() {
  curl -sf --max-time 2 "http://127.0.0.1:$CH_HTTP_PORT/?query=SELECT%201" >/dev/null 2>&1
}

port_open() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for() { # what seconds command...
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    if [ $SECONDS -ge $deadline ]; then
      log "$what did not answer within ${secs}s; see its log under $VAR"
      return 1
    fi
    sleep 0.2
  done
}

up_clickhouse() {
  local dir=$VAR/clickhouse
  if alive "$dir/pid" && ch_answers; then return 0; fi
  if ch_answers; then
    log "something else answers on ClickHouse port $CH_HTTP_PORT; set CH_HTTP_PORT to a free port"
    return 1
  fi
  [ -x /usr/sbin/clickhouse-server ] || { log "clickhouse-server is missing: run 'make setup'"; return 1; }
  mkdir -p "$dir/log" "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
  sed -e "s#@DIR@#$dir#g" -e "s/@HTTP_PORT@/$CH_HTTP_PORT/" -e "s/@TCP_PORT@/$CH_TCP_PORT/" \
    deploy/local/clickhouse-config.xml >"$dir/config.xml"
  cp deploy/local/clickhouse-users.xml "$dir/users.xml"
  log "starting ClickHouse on 127.0.0.1:$CH_HTTP_PORT (http) and :$CH_TCP_PORT (native)"
  # In a session of its own (setsid execs in place, so $! stays the server's pid): a Ctrl-C
  # of `make run` must not reach the servers before cityops has finished its work in flight.
  nohup setsid /usr/sbin/clickhouse-server --config-file="$dir/config.xml" \
    >"$dir/log/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  wait_for ClickHouse 60 ch_answers
}

up_tansu() {
  local dir=$VAR/tansu
  if alive "$dir/pid" && port_open "$KAFKA_PORT"; then return 0; fi
  if port_open "$KAFKA_PORT"; then
    log "something else listens on Kafka port $KAFKA_PORT; set KAFKA_PORT to a free port"
    return 1
  fi
  local t
  t=$(tansu_bin)
  [ -n "$t" ] || { log "tansu is missing: run 'make setup'"; return 1; }
  mkdir -p "$dir"
  log "starting Tansu on 127.0.0.1:$KAFKA_PORT (storage $TANSU_STORAGE)"
  # A simple command in the background, so that $! is Tansu's own pid (not a subshell's)
  # and `make down` stops exactly it; in a session of its own, as ClickHouse.
  (
    cd "$dir" || exit 1
    nohup setsid "$t" broker \
      --storage-engine "$TANSU_STORAGE" \
      --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
      --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
      >"$dir/tansu.log" 2>&1 </dev/null &
    echo $! >"$dir/pid"
  )
  wait_for Tansu 60 port_open "$KAFKA_PORT"
}

stop() { # name dir
  local pidfile=$2/pid
  if alive "$pidfile"; then
    local pid
    pid=$(cat "$pidfile")
    log "stopping $1 (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

status() {
  if alive "$VAR/clickhouse/pid" && ch_answers; then echo "clickhouse: up on 127.0.0.1:$CH_HTTP_PORT"; else echo "clickhouse: down"; fi
  if alive "$VAR/tansu/pid" && port_open "$KAFKA_PORT"; then echo "tansu: up on 127.0.0.1:$KAFKA_PORT"; else echo "tansu: down"; fi
}

case "${1:-}" in
  setup) setup ;;
  up) up_clickhouse; up_tansu; status ;;
  down) stop Tansu "$VAR/tansu"; stop ClickHouse "$VAR/clickhouse" ;;
  status) status ;;
  *) echo "usage: $0 setup|up|down|status" >&2; exit 2 ;;
esac
