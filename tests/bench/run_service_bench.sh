#!/usr/bin/env bash
# Service benchmark, in one run: pgbench baselines (raw single-row insert,
# hot-row conditional UPDATE), the gRPC ceiling (health), ReserveStock on
# many products and on one hot product, and cart AddItem end-to-end on
# many products and on one hot product, each at the same concurrencies;
# then a markdown table with throughput, latency, CPU per operation and the
# ratios the issues ask for.
#
#   tests/bench/run_service_bench.sh [DURATION_S] [ROUNDS]   (default 5 3)
#
# Every shop_load run gets its own inventory-server (and cart-server for
# the additem scenarios) in fresh schemas, started here and stopped after
# the run, so each scenario starts from empty tables. Each round runs every
# workload at one concurrency before the next, so a workload and its
# baseline are measured under nearly the same load; the table shows each
# figure's median over the rounds, and each ratio is the median of the
# per-round ratios.
#
# Environment: BENCH_CONCURRENCY (default "1 16 64"), BENCH_WORKLOADS
# (default: all; names as in the table's first column, e.g. "raw-insert
# reserve-many"), BENCH_INVENTORY_POOL and BENCH_CART_POOL (the servers'
# --pool_size, default 16 each), BENCH_LOAD_FLAGS (more shop_load flags,
# e.g. --worker_threads), BENCH_BUILD=0 to skip the build. Uses the
# "bench" cluster of deploy/local/pg.sh and stops it at the end if it was
# not running before.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/tests/bench"
duration=${1:-5}
rounds=${2:-3}
read -r -a concurrencies <<<"${BENCH_CONCURRENCY:-1 16 64}"
read -r -a workloads <<<"${BENCH_WORKLOADS:-raw-insert hot-update health reserve-many reserve-hot additem-many additem-hot}"
inventory_pool=${BENCH_INVENTORY_POOL:-16}
cart_pool=${BENCH_CART_POOL:-16}
read -r -a load_flags <<<"${BENCH_LOAD_FLAGS:-}"
export PATH="/usr/lib/postgresql/15/bin:$PATH"

shop_load="$repo/build/tests/bench/shop_load"
inventory_server="$repo/build/services/inventory/inventory-server"
cart_server="$repo/build/services/cart/cart-server"

log() { echo "run_service_bench: $*" >&2; }

if [[ ${BENCH_BUILD:-1} != 0 ]]; then
  log "building inventory-server cart-server shop_load"
  "$repo/deploy/local/build.sh" --target inventory-server cart-server shop_load >/dev/null
fi
revision=$(git -C "$repo" rev-parse --short HEAD)
if [[ -n $(git -C "$repo" status --porcelain --untracked-files=no -- services common proto) ]]; then
  tree="with uncommitted changes in services/, common/ or proto/"
else
  tree="services/, common/ and proto/ as committed"
fi

# shellcheck source=tests/bench/bench_lib.sh
source "$here/bench_lib.sh"
start_bench_cluster

work=$(mktemp -d)
server_pids=()
schemas=()

# Stops the servers of the current run and drops their schemas.
stop_servers() {
  local pid schema
  for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  server_pids=()
  for schema in "${schemas[@]}"; do
    sql "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  done
  schemas=()
}

# shellcheck disable=SC2317  # runs from the trap
cleanup() {
  stop_servers
  psql -X -q -c "DROP TABLE IF EXISTS bench_raw_insert, bench_stock" >/dev/null 2>&1 || true
  rm -rf "$work"
  if [[ $started_cluster -eq 1 ]]; then "$repo/deploy/local/pg.sh" stop bench; fi
}
trap cleanup EXIT

max_connections=$(sql 'SHOW max_connections')

# WAL position in bytes: exact, unlike pg_stat_wal, which lags.
wal_lsn() { sql "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint"; }

# The servers serve as a role of their own, as in production (they refuse
# to serve as a superuser); `migrate` runs as the superuser and grants it.
sql "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_app') THEN CREATE ROLE bench_app LOGIN; END IF; END \$\$" >/dev/null

# Migrates, then starts a server in the background with the given flags and
# sets `port` once it logs that it listens; its pid goes to server_pids.
start_server() {  # name binary flags...
  local name=$1 binary=$2 logfile
  port=""
  shift 2
  logfile="$work/$name.log"
  "$binary" migrate --migrate_database_url="$SHOP_PG_DSN" \
    --serving_role=bench_app "$@" >"$logfile" 2>&1 || { cat "$logfile" >&2; return 1; }
  "$binary" --listen=127.0.0.1:0 --database_url="$SHOP_PG_DSN user=bench_app" \
    --access_log=false "$@" >>"$logfile" 2>&1 &
  server_pids+=($!)
  for _ in $(seq 300); do
    port=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$logfile" | head -1)
    [[ -n $port ]] && return 0
    if ! kill -0 "${server_pids[-1]}" 2>/dev/null; then break; fi
    sleep 0.1
  done
  log "$name did not start:"
  cat "$logfile" >&2
  return 1
}

# Columns recorded per "workload|callers": ops/s p50 p99 client_us
# inventory_us cart_us postgres_us xacts write_xacts wal_bytes.

# Per "workload|callers|round": the throughput, for the ratios.
declare -A throughput
# Per "ratio name|callers": each round's ratio, to take the median of.
declare -A ratios
ratio_of() {  # name callers numerator denominator round
  local num=${throughput[$3|$2|$5]:-} den=${throughput[$4|$2|$5]:-}
  [[ -z $num || -z $den ]] && return 0
  ratios["$1|$2"]+="$(awk -v a="$num" -v b="$den" 'BEGIN {printf "%.4f", (b > 0 ? a / b : 0)}') "
}
ratio_median() {
  [[ -z ${ratios[$1]+x} ]] && { echo "-"; return; }
  tr ' ' '\n' <<<"${ratios[$1]}" | awk 'NF' | sort -g |
    awk '{v[NR] = $1} END {printf "%.2fx", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

wants() { [[ " ${workloads[*]} " == *" $1 "* ]]; }

failed=0

run_pgbench() {  # workload callers round setup.sql script.pgbench
  local name=$1 c=$2 round=$3 threads tps txns p50 p99 cpu client_us before after
  local lsn_before lsn_after
  threads=$((c < 2 ? 1 : 2))
  psql -X -q -f "$4" >/dev/null 2>&1
  quiesce
  before=$(server_ticks)
  lsn_before=$(wal_lsn)
  rm -f "$work"/pgbench.*
  TIMEFORMAT='%U %S'
  cpu=$( { time pgbench -n -M prepared -f "$5" -c "$c" -j "$threads" \
             -T "$duration" -l --log-prefix="$work/pgbench" \
             >"$work/pgbench.out" 2>&1; } 2>&1)
  settle
  after=$(server_ticks)
  lsn_after=$(wal_lsn)
  tps=$(awk '/^tps = / {print $3}' "$work/pgbench.out")
  txns=$(awk '/actually processed/ {print $NF}' "$work/pgbench.out")
  if [[ -z $tps || -z $txns || $txns -eq 0 ]]; then
    log "round $round: pgbench $name c=$c failed:"
    cat "$work/pgbench.out" >&2
    failed=1
    return
  fi
  read -r p50 p99 < <(percentiles "$work"/pgbench.[0-9]*)
  client_us=$(awk -v u="${cpu% *}" -v s="${cpu#* }" -v n="$txns" \
    'BEGIN {printf "%.1f", (u + s) * 1e6 / n}')
  log "round $round: pgbench $name c=$c tps=$tps p50_ms=$p50 p99_ms=$p99"
  throughput["$name|$c|$round"]=$tps
  record "$name|$c" "$tps" "$p50" "$p99" "$client_us" - - \
    "$(awk -v t=$((after - before)) -v hz="$ticks_per_s" -v n="$txns" \
         'BEGIN {printf "%.1f", t / hz * 1e6 / n}')" 1.00 1.00 \
    "$(awk -v b="$((lsn_after - lsn_before))" -v n="$txns" 'BEGIN {printf "%.0f", b / n}')"
}

run_scenario() {  # scenario callers round
  local scenario=$1 c=$2 round=$3 suffix inventory_port cart_port watch
  local addresses=()
  suffix="${round}_${c}_$RANDOM"
  schemas+=("bench_inv_$suffix")
  if ! start_server inventory "$inventory_server" \
       --schema="bench_inv_$suffix" --pool_size="$inventory_pool"; then
    failed=1
    stop_servers
    return
  fi
  inventory_port=$port
  watch="inventory=${server_pids[-1]}"
  addresses+=(--inventory_address="127.0.0.1:$inventory_port")
  if [[ $scenario == additem-* ]]; then
    schemas+=("bench_cart_$suffix")
    if ! start_server cart "$cart_server" --schema="bench_cart_$suffix" \
         --pool_size="$cart_pool" \
         --inventory_address="127.0.0.1:$inventory_port"; then
      failed=1
      stop_servers
      return
    fi
    cart_port=$port
    watch+=",cart=${server_pids[-1]}"
    addresses+=(--cart_address="127.0.0.1:$cart_port")
  fi
  quiesce
  if ! line=$("$shop_load" --scenario="$scenario" --concurrency="$c" \
              --duration_s="$duration" "${addresses[@]}" \
              --watch_cpu="$watch,postgres=$postmaster+" --count_xacts \
              "${load_flags[@]}"); then
    failed=1
  fi
  stop_servers
  log "round $round: $line"
  [[ -z $line ]] && return
  throughput["$scenario|$c|$round"]=$(field throughput_ops_s)
  record "$scenario|$c" "$(field throughput_ops_s)" "$(field p50_ms)" \
    "$(field p99_ms)" "$(field client_cpu_us_per_op)" \
    "$(field cpu_inventory_us_per_op)" "$(field cpu_cart_us_per_op)" \
    "$(field cpu_postgres_us_per_op)" "$(field xacts_per_op)" \
    "$(field write_xacts_per_op)" "$(field wal_bytes_per_op)"
}

log "revision $revision, $tree"
log "nproc=$(nproc) max_connections=$max_connections inventory pool=$inventory_pool cart pool=$cart_pool shop_load flags: ${load_flags[*]:-none}"
log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  for c in "${concurrencies[@]}"; do
    wants raw-insert &&
      run_pgbench raw-insert "$c" "$round" "$here/raw_insert_setup.sql" "$here/raw_insert.pgbench"
    wants hot-update &&
      run_pgbench hot-update "$c" "$round" "$here/hot_update_setup.sql" "$here/hot_update.pgbench"
    for scenario in health reserve-many reserve-hot additem-many additem-hot; do
      wants "$scenario" && run_scenario "$scenario" "$c" "$round"
    done
    ratio_of "reserve-many/raw-insert" "$c" reserve-many raw-insert "$round"
    ratio_of "reserve-many/health" "$c" reserve-many health "$round"
    ratio_of "reserve-hot/hot-update" "$c" reserve-hot hot-update "$round"
    ratio_of "additem-many/reserve-many" "$c" additem-many reserve-many "$round"
    ratio_of "additem-hot/reserve-hot" "$c" additem-hot reserve-hot "$round"
  done
done
log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# The ratio column of a row: against the baseline its issue names.
ratio_cell() {  # workload callers
  case $1 in
    reserve-many) echo "$(ratio_median "reserve-many/raw-insert|$2") raw insert, $(ratio_median "reserve-many/health|$2") health" ;;
    reserve-hot) echo "$(ratio_median "reserve-hot/hot-update|$2") hot UPDATE" ;;
    additem-many) echo "$(ratio_median "additem-many/reserve-many|$2") reserve-many" ;;
    additem-hot) echo "$(ratio_median "additem-hot/reserve-hot|$2") reserve-hot" ;;
    *) echo "-" ;;
  esac
}

fmt() {  # decimals value ("-" stays "-")
  if [[ $2 == "-" ]]; then echo "-"; else printf '%.*f' "$1" "$2"; fi
}

echo "Revision $revision ($tree); $(nproc) CPUs; inventory --pool_size=$inventory_pool, cart --pool_size=$cart_pool; PostgreSQL max_connections=$max_connections."
echo
echo "| workload | callers | ops/s | p50 ms | p99 ms | ratio | client CPU µs/op | inventory CPU µs/op | cart CPU µs/op | postgres CPU µs/op | xacts/op (approx.) | writing xacts/op | WAL bytes/op |"
echo "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in "${concurrencies[@]}"; do
  for name in raw-insert hot-update health reserve-many reserve-hot additem-many additem-hot; do
    key="$name|$c"
    [[ -z ${results[$key]+x} ]] && continue
    label=$name
    [[ $name == raw-insert ]] && label="pgbench raw insert"
    [[ $name == hot-update ]] && label="pgbench hot-row UPDATE"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
      "$label" "$c" "$(fmt 0 "$(median "$key" 1)")" \
      "$(fmt 2 "$(median "$key" 2)")" "$(fmt 2 "$(median "$key" 3)")" \
      "$(ratio_cell "$name" "$c")" "$(fmt 0 "$(median "$key" 4)")" \
      "$(fmt 0 "$(median "$key" 5)")" "$(fmt 0 "$(median "$key" 6)")" \
      "$(fmt 0 "$(median "$key" 7)")" "$(fmt 2 "$(median "$key" 8)")" \
      "$(fmt 2 "$(median "$key" 9)")" "$(fmt 0 "$(median "$key" 10)")"
  done
done
echo
echo "Medians of $rounds rounds of ${duration} s per workload (after 1 s of warm-up for shop_load); each ratio is the median of the per-round ratios at the same number of callers."
exit "$failed"
