#!/usr/bin/env bash
# A throwaway PostgreSQL HA cluster on loopback, managed by pg_auto_failover:
# a monitor, and nodes node1 and node2 (a primary and a synchronous
# secondary), for the failover drill and for trying a multi-host URL.
#
#   ha.sh start [NAME]        create if needed, run, wait for primary +
#                             secondary, create database shop, roles, schemas
#   ha.sh env [NAME]          shell exports: multi-host URLs for the services
#   ha.sh primary [NAME]      the node that is primary now (node1 or node2)
#   ha.sh crash NODE [NAME]   kill -9 the node's pg_autoctl and postmaster
#                             (the whole machine dying, as far as it knows)
#   ha.sh rejoin NODE [NAME]  run the node again; wait until it is secondary
#   ha.sh wait [NAME]         wait for one primary and one secondary
#   ha.sh state [NAME]        pg_autoctl show state
#   ha.sh stop [NAME]         stop everything; idempotent
#   ha.sh destroy [NAME]      stop and remove the data
#
# NAME (default "ha") keeps clusters apart; data under .pgdata/NAME (see
# pg-common.sh). Failure detection is tuned for a drill: seconds, not tens.
set -euo pipefail

cmd=${1:-}
repo=$(cd "$(dirname "$0")/../.." && pwd)
# as_pg, port_busy, cluster_dir, psql_at, bootstrap_shop
source "$repo/deploy/local/pg-common.sh"

case "$cmd" in
  crash | rejoin) node=${2:?node1 or node2}; name=${3:-ha} ;;
  *) name=${2:-ha} ;;
esac
base=$(cluster_dir "$name")
nodes=(node1 node2)

# pg_autoctl keeps its configuration, state and pid files here, not in ~.
autoctl() {
  as_pg env PATH="/usr/lib/postgresql/15/bin:/usr/bin:/bin" \
    XDG_CONFIG_HOME="$base/xdg/config" XDG_DATA_HOME="$base/xdg/data" \
    XDG_RUNTIME_DIR="$base/xdg/run" pg_autoctl "$@"
}

port_of() { cat "$base/$1.port"; }
monitor_url() {
  echo "postgres://autoctl_node@127.0.0.1:$(port_of monitor)/pg_auto_failover?sslmode=disable"
}

# A free port for component $1, remembered; from $2 (default 56500) up.
pick_port() {
  local port=${2:-56500}
  [[ -f "$base/$1.port" ]] && return
  while port_busy "$port" || grep -qx "$port" "$base"/*.port 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port" >"$base/$1.port"
}

# The end of component $1's log, on stderr: pg_autoctl says why there only.
show_log() {
  echo "ha.sh: the end of $1's log:" >&2
  tail -20 "$base/$1.log" >&2
}

# Creates the monitor; a failed attempt is shown, wiped and tried again on
# the next port (a port found free can be taken before postgres binds it).
create_monitor() {
  local attempt port
  for attempt in 1 2 3; do
    port=$(port_of monitor)
    autoctl create monitor --pgdata "$base/monitor" --pgport "$port" \
      --hostname 127.0.0.1 --auth trust --no-ssl >>"$base/monitor.log" 2>&1 && return
    echo "ha.sh: creating the monitor on port $port failed (attempt $attempt)" >&2
    show_log monitor
    as_pg pg_ctl -D "$base/monitor" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$base/monitor" "$base/monitor.port"
    pick_port monitor $((port + 1))
  done
  return 1
}

# Runs component $1's pg_autoctl in the background, detached from our
# output (a test reading it must not wait for a daemon).
run_detached() {
  as_pg bash -c 'cd / && exec setsid "$@" </dev/null >>"'"$base/$1.log"'" 2>&1 &' _ \
    env PATH="/usr/lib/postgresql/15/bin:/usr/bin:/bin" \
    XDG_CONFIG_HOME="$base/xdg/config" XDG_DATA_HOME="$base/xdg/data" \
    XDG_RUNTIME_DIR="$base/xdg/run" pg_autoctl run --pgdata "$base/$1"
}

# The pid in pg_autoctl's pid file for component $1, if it is alive.
autoctl_pid() {
  local pid
  pid=$(head -1 "$base/xdg/run/pg_autoctl/$base/$1/pg_autoctl.pid" 2>/dev/null) || return 1
  [[ -n "$pid" && -d /proc/$pid ]] && [[ $(awk '{print $3}' "/proc/$pid/stat") != Z ]] && echo "$pid"
}

# The table of `pg_autoctl show state`, one "name|reported|assigned" a line.
states() {
  autoctl show state --monitor "$(monitor_url)" 2>/dev/null |
    awk -F'|' 'NR > 2 { gsub(/ /, ""); print $1 "|" $6 "|" $7 }'
}

primary() {
  states | awk -F'|' '$2 == "primary" && $3 == "primary" { print $1 }'
}

# Waits (up to $1 seconds) for one node primary and the other secondary, both
# reported and assigned: synchronous replication is then on. pg_basebackup
# waits for a checkpoint, which a spread one makes minutes: ask for it.
wait_ha() {
  local deadline=$((SECONDS + ${1:-120})) s
  while ((SECONDS < deadline)); do
    s=$(states | sort | tr '\n' ' ')
    if [[ "$s" == *"|primary|primary "* && "$s" == *"|secondary|secondary "* ]]; then
      return 0
    fi
    for n in "${nodes[@]}"; do
      if [[ -f "$base/$n.port" ]]; then
        psql_at "$(port_of "$n")" -d postgres -c CHECKPOINT >/dev/null 2>&1 || true
      fi
    done
    sleep 1
  done
  echo "ha.sh: cluster '$name' has no primary and secondary: $(states | tr '\n' ' ')" >&2
  for n in "${nodes[@]}"; do show_log "$n"; done
  return 1
}

start() {
  mkdir -p "$base/xdg/config" "$base/xdg/data" "$base/xdg/run"
  touch "$base/monitor.log" "$base/node1.log" "$base/node2.log"
  [[ $(id -u) -eq 0 ]] && chown -R postgres: "$base"
  chmod 700 "$base/xdg/run"
  pick_port monitor
  [[ -f "$base/monitor/PG_VERSION" ]] || create_monitor
  autoctl_pid monitor >/dev/null || run_detached monitor
  local deadline=$((SECONDS + 60))
  until psql_at "$(port_of monitor)" -d pg_auto_failover -c "SELECT 1" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "ha.sh: the monitor did not start" >&2; show_log monitor; return 1; }
    sleep 0.5
  done
  # Health checks every second, a node unhealthy after 3 s without them,
  # and 3 s for a lost primary to demote itself before the other takes over.
  psql_at "$(port_of monitor)" -d pg_auto_failover <<'SQL' >/dev/null
ALTER SYSTEM SET pgautofailover.health_check_period = 1000;
ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000;
ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1;
ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500;
ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 3000;
ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000;
SELECT pg_reload_conf();
SQL
  for n in "${nodes[@]}"; do
    pick_port "$n"
    if [[ ! -f "$base/$n/PG_VERSION" ]]; then
      # One at a time: the second node registers once the first is primary.
      autoctl create postgres --pgdata "$base/$n" --pgport "$(port_of "$n")" \
        --listen 127.0.0.1 --hostname 127.0.0.1 --name "$n" --dbname shop \
        --monitor "$(monitor_url)" --auth trust --no-ssl >>"$base/$n.log" 2>&1 ||
        { show_log "$n"; return 1; }
      # node2's copy of node1 (pg_basebackup) has them already.
      if ! grep -q '^max_connections = 400' "$base/$n/postgresql.conf"; then
        cat >>"$base/$n/postgresql.conf" <<CONF
max_connections = 400
shared_buffers = 128MB
CONF
      fi
    fi
    autoctl_pid "$n" >/dev/null || run_detached "$n"
    if [[ $n == node1 ]]; then
      deadline=$((SECONDS + 60))
      until [[ -n $(states | awk -F'|' '$1 == "node1" && ($2 == "single" || $2 == "primary" || $2 == "wait_primary")') ]]; do
        ((SECONDS < deadline)) || { echo "ha.sh: node1 did not start" >&2; show_log node1; return 1; }
        sleep 0.5
      done
    fi
  done
  wait_ha 180
  local p
  p=$(primary)
  bootstrap_shop "$(port_of "$p")"
  echo "ha.sh: cluster '$name': monitor 127.0.0.1:$(port_of monitor), node1 127.0.0.1:$(port_of node1), node2 127.0.0.1:$(port_of node2), primary $p (data: $base)" >&2
}

env_exports() {
  local hosts
  hosts="127.0.0.1:$(port_of node1),127.0.0.1:$(port_of node2)"
  local params="?target_session_attrs=read-write"
  cat <<ENV
export SHOP_HA_MONITOR_PORT=$(port_of monitor) SHOP_HA_NODE1_PORT=$(port_of node1) SHOP_HA_NODE2_PORT=$(port_of node2)
export SHOP_PG_DSN='postgresql://postgres@$hosts/shop$params'
export INVENTORY_DATABASE_URL='postgresql://inventory_app@$hosts/shop$params'
export INVENTORY_MIGRATE_DATABASE_URL='postgresql://inventory@$hosts/shop$params'
export CART_DATABASE_URL='postgresql://cart_app@$hosts/shop$params'
export CART_MIGRATE_DATABASE_URL='postgresql://cart@$hosts/shop$params'
ENV
}

crash() {
  local keeper postmaster
  keeper=$(autoctl_pid "$node") || { echo "ha.sh: $node is not running" >&2; return 1; }
  postmaster=$(head -1 "$base/$node/postmaster.pid")
  # The keeper first, or it would restart the postmaster it supervises.
  local pids=("$keeper")
  for service in node-active postgres; do
    local f="$base/xdg/run/pg_autoctl/$base/$node/pg_autoctl_$service.pid"
    [[ -f "$f" ]] && pids+=("$(head -1 "$f")")
  done
  kill -9 "${pids[@]}" 2>/dev/null || true
  kill -9 "$postmaster"
  echo "ha.sh: $node killed (pg_autoctl ${pids[*]}, postmaster $postmaster)" >&2
}

rejoin() {
  autoctl_pid "$node" >/dev/null || run_detached "$node"
  wait_ha 120
}

stop() {
  [[ -d "$base" ]] || return 0
  for n in "${nodes[@]}" monitor; do
    if autoctl_pid "$n" >/dev/null; then
      autoctl stop --pgdata "$base/$n" >/dev/null 2>&1 || true
    fi
  done
  local deadline=$((SECONDS + 30)) alive
  while ((SECONDS < deadline)); do
    alive=0
    for n in "${nodes[@]}" monitor; do autoctl_pid "$n" >/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.5
  done
  # A crashed node's orphaned postmaster, if any.
  for n in "${nodes[@]}" monitor; do
    if [[ -f "$base/$n/postmaster.pid" ]] && as_pg pg_ctl -D "$base/$n" status >/dev/null 2>&1; then
      as_pg pg_ctl -D "$base/$n" -m immediate -w stop >/dev/null 2>&1 || true
    fi
  done
}

case "$cmd" in
  start) start ;;
  env) env_exports ;;
  primary) primary ;;
  crash) crash ;;
  rejoin) rejoin ;;
  wait) wait_ha 120 ;;
  state) autoctl show state --monitor "$(monitor_url)" ;;
  stop) stop ;;
  destroy) stop; rm -rf "$base" ;;
  *) echo "usage: $0 start|env|primary|crash NODE|rejoin NODE|wait|state|stop|destroy [NAME]" >&2; exit 2 ;;
esac
