#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for local runs and tests.
#
#   pg.sh start [NAME]   init if needed, start on a free loopback port, create
#                        database "shop", roles and schemas; idempotent
#   pg.sh stop [NAME]    stop it if it runs; idempotent
#   pg.sh env [NAME]     print shell exports for the running cluster
#   pg.sh status [NAME]  exit 0 if it runs
#
# NAME (default "run") keeps the run and test clusters apart. Data lives in
# .pgdata/NAME under the repository, or in a temporary folder when the
# postgres user (initdb refuses root) cannot reach the repository.
set -euo pipefail

cmd=${1:-}
name=${2:-run}
repo=$(cd "$(dirname "$0")/../.." && pwd)
# as_pg, port_busy, cluster_dir, psql_at, bootstrap_shop
source "$repo/deploy/local/pg-common.sh"

base=$(cluster_dir "$name")
data="$base/data"

# Alive means the postmaster in the pid file exists and is not a zombie
# (a killed server whose parent never reaped it still answers kill -0).
running() {
  local pid state
  pid=$(head -1 "$data/postmaster.pid" 2>/dev/null) || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ -n "$state" && "$state" != Z ]]
}

start() {
  mkdir -p "$base"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$base"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    rm -rf "$data"
    as_pg initdb -D "$data" -U postgres --auth=trust -E UTF8 --no-instructions >"$base/initdb.log"
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 400
shared_buffers = 256MB
CONF
  fi
  if ! running; then
    local port
    port=$(cat "$base/port" 2>/dev/null || echo 55432)
    while port_busy "$port"; do port=$((port + 1)); done
    echo "$port" >"$base/port"
    rm -f "$data/postmaster.pid"  # stale: its server is gone (see running)
    # After a crash the old server's children may still hold its shared
    # memory for a moment ("pre-existing shared memory block is still in
    # use"), longer on a busy machine: they exit once they notice.
    # Its port may be held as long: a busy one is given up for the next.
    local attempt
    for attempt in $(seq 30); do
      while port_busy "$port"; do port=$((port + 1)); done
      echo "$port" >"$base/port"
      as_pg pg_ctl -D "$data" -l "$base/server.log" -w -t 60 -o "-p $port" start >/dev/null && break
      if [[ $attempt -eq 30 ]]; then
        tail -5 "$base/server.log" >&2
        return 1
      fi
      sleep 1
    done
  fi
  bootstrap_shop "$(cat "$base/port")"
  echo "pg.sh: cluster '$name' running on 127.0.0.1:$(cat "$base/port") (data: $data)" >&2
}

stop() {
  if running; then as_pg pg_ctl -D "$data" -m fast -w stop >/dev/null; fi
}

env_exports() {
  running || { echo "pg.sh: cluster '$name' is not running" >&2; exit 1; }
  local port
  port=$(cat "$base/port")
  cat <<ENV
export PGHOST=127.0.0.1 PGPORT=$port
export SHOP_PG_DSN='host=127.0.0.1 port=$port dbname=shop user=postgres'
export INVENTORY_DATABASE_URL='host=127.0.0.1 port=$port dbname=shop user=inventory_app'
export INVENTORY_MIGRATE_DATABASE_URL='host=127.0.0.1 port=$port dbname=shop user=inventory'
export CART_DATABASE_URL='host=127.0.0.1 port=$port dbname=shop user=cart_app'
export CART_MIGRATE_DATABASE_URL='host=127.0.0.1 port=$port dbname=shop user=cart'
ENV
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  env) env_exports ;;
  status) running ;;
  *) echo "usage: $0 start|stop|env|status [NAME]" >&2; exit 2 ;;
esac
