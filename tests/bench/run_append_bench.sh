#!/usr/bin/env bash
# Append benchmark, in one run: pgbench's raw single-row insert per
# transaction and shop_load's append scenarios at the same concurrencies,
# then a markdown table of events/s, latency and the ratio to pgbench.
#
#   tests/bench/run_append_bench.sh [DURATION_S] [ROUNDS]   (default 5 3)
#
# Each round runs pgbench and then every scenario at one concurrency, so a
# workload and its baseline are measured under nearly the same load; the
# table shows each figure's median over the rounds (the machine is shared).
#
# Environment: BENCH_CONCURRENCY (default "1 16"), BENCH_SCENARIOS (default:
# the four append scenarios, then append-worker-streams with group commit,
# one and two statements in flight; "name:N[:F]" runs a scenario with
# --append_batch=N --append_batches_in_flight=F). Uses the "bench" cluster of deploy/local/pg.sh
# and stops it at the end if it was not running before.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/tests/bench"
duration=${1:-5}
rounds=${2:-3}
read -r -a concurrencies <<<"${BENCH_CONCURRENCY:-1 16}"
read -r -a scenarios <<<"${BENCH_SCENARIOS:-append-one-stream append-one-stream-exact append-many-streams append-worker-streams append-worker-streams:64 append-worker-streams:64:2}"
export PATH="/usr/lib/postgresql/15/bin:$PATH"

log() { echo "run_append_bench: $*" >&2; }

log "building shop_load"
"$repo/deploy/local/build.sh" --target shop_load >/dev/null

# shellcheck source=tests/bench/bench_lib.sh
source "$here/bench_lib.sh"
start_bench_cluster

work=$(mktemp -d)
# shellcheck disable=SC2317  # runs from the trap
cleanup() {
  psql -X -q -c "DROP TABLE IF EXISTS bench_raw_insert" >/dev/null 2>&1 || true
  rm -rf "$work"
  if [[ $started_cluster -eq 1 ]]; then "$repo/deploy/local/pg.sh" stop bench; fi
}
trap cleanup EXIT

# WAL records and bytes written so far (backends report theirs on exit).
wal_stats() { sql "SELECT wal_records || ' ' || wal_bytes FROM pg_stat_wal"; }

# Server CPU µs per operation from a tick delta and an operation count.
per_op_us() {
  awk -v t="$1" -v hz="$ticks_per_s" -v n="$2" \
    'BEGIN {printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0)}'
}

# "records bytes" of WAL per operation between two wal_stats readings.
wal_per_op() {  # before after ops
  local r0 w0 r1 w1
  read -r r0 w0 <<<"$1"
  read -r r1 w1 <<<"$2"
  awk -v r=$((r1 - r0)) -v w=$((w1 - w0)) -v n="$3" \
    'BEGIN {printf "%.1f %.0f", (n > 0 ? r / n : 0), (n > 0 ? w / n : 0)}'
}

# Columns recorded per "workload|writers": ops p50 p99 conflicts client_us
# server_us wal_records wal_bytes ratio.

failed=0
log "nproc=$(nproc) load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$rounds"); do
  for c in "${concurrencies[@]}"; do
    threads=$((c < 2 ? 1 : 2))

    # The database's own limit for one single-row insert per transaction.
    psql -X -q -f "$here/raw_insert_setup.sql" >/dev/null 2>&1
    quiesce
    before=$(server_ticks)
    wal_before=$(wal_stats)
    rm -f "$work"/pgbench.*
    TIMEFORMAT='%U %S'
    cpu=$( { time pgbench -n -M prepared -f "$here/raw_insert.pgbench" \
               -c "$c" -j "$threads" -T "$duration" \
               -l --log-prefix="$work/pgbench" >"$work/out" 2>&1; } 2>&1)
    settle
    after=$(server_ticks)
    wal_after=$(wal_stats)
    tps=$(awk '/^tps = / {print $3}' "$work/out")
    txns=$(awk '/actually processed/ {print $NF}' "$work/out")
    read -r p50 p99 < <(percentiles "$work"/pgbench.[0-9]*)
    client_us=$(awk -v u="${cpu% *}" -v s="${cpu#* }" -v n="$txns" \
      'BEGIN {printf "%.1f", (u + s) * 1e6 / n}')
    log "round $round: pgbench c=$c tps=$tps p50_ms=$p50 p99_ms=$p99"
    record "pgbench raw insert|$c" "$tps" "$p50" "$p99" 0 "$client_us" \
      "$(per_op_us $((after - before)) "$txns")" \
      "$(wal_per_op "$wal_before" "$wal_after" "$txns")" 1

    for entry in "${scenarios[@]}"; do
      IFS=: read -r scenario batch in_flight <<<"$entry"
      batch=${batch:-1}
      in_flight=${in_flight:-1}
      label=$scenario
      if [[ $batch != 1 ]]; then label="$scenario, group commit $batch"; fi
      if [[ $in_flight != 1 ]]; then label="$label, $in_flight in flight"; fi
      quiesce
      before=$(server_ticks)
      wal_before=$(wal_stats)
      if ! line=$("$repo/build/tests/bench/shop_load" --scenario="$scenario" \
                  --concurrency="$c" --duration_s="$duration" \
                  --append_batch="$batch" \
                  --append_batches_in_flight="$in_flight"); then
        failed=1
      fi
      settle
      after=$(server_ticks)
      wal_after=$(wal_stats)
      log "round $round: $line"
      [[ -z $line ]] && continue
      # Server figures cover warm-up too: divided by every operation.
      record "$label|$c" "$(field throughput_ops_s)" "$(field p50_ms)" \
        "$(field p99_ms)" "$(field conflicts)" "$(field client_cpu_us_per_op)" \
        "$(per_op_us $((after - before)) "$(field total_ops)")" \
        "$(wal_per_op "$wal_before" "$wal_after" "$(field total_ops)")" \
        "$(awk -v a="$(field throughput_ops_s)" -v b="$tps" 'BEGIN {print a / b}')"
    done
  done
done
log "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "| workload | writers | events/s | p50 ms | p99 ms | x pgbench | conflicts/s | client CPU µs/op | server CPU µs/op | WAL records/op | WAL bytes/op |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for key in "${order[@]}"; do
  IFS='|' read -r name c <<<"$key"
  ops=$(median "$key" 1)
  conflicts="-"
  [[ $name != pgbench* ]] &&
    conflicts=$(awk -v n="$(median "$key" 4)" -v d="$duration" 'BEGIN {printf "%.0f", n / d}')
  printf '| %s | %s | %.0f | %.2f | %.2f | %.2f | %s | %.0f | %.0f | %.1f | %.0f |\n' \
    "$name" "$c" "$ops" "$(median "$key" 2)" "$(median "$key" 3)" \
    "$(median "$key" 9)" "$conflicts" \
    "$(median "$key" 5)" "$(median "$key" 6)" "$(median "$key" 7)" \
    "$(median "$key" 8)"
done
echo
echo "Medians of $rounds rounds of ${duration} s per workload; x pgbench is the median of each round's ratio to the pgbench run just before it."
exit "$failed"
