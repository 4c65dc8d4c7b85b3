# Shared by run_append_bench.sh and run_service_bench.sh (sourced, not run).
# Expects $repo; after start_bench_cluster the probes below measure the
# "bench" cluster of deploy/local/pg.sh.

sql() { psql -X -q -tA -c "$1"; }

# Starts (or reuses) the bench cluster; started_cluster=1 when this run
# started it, so that the caller's cleanup stops only what it started.
start_bench_cluster() {
  started_cluster=0
  if ! "$repo/deploy/local/pg.sh" status bench; then started_cluster=1; fi
  "$repo/deploy/local/pg.sh" start bench
  eval "$("$repo/deploy/local/pg.sh" env bench)"
  export PGUSER=postgres PGDATABASE=shop
  postmaster=$(head -1 "$(sql 'SHOW data_directory')/postmaster.pid")
  ticks_per_s=$(getconf CLK_TCK)
  children_baseline=$(children)
}

# CPU ticks the server has used: the postmaster, its exited (reaped)
# backends, and the processes still alive under it.
server_ticks() {
  local total child
  total=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$postmaster/stat")
  for child in $(ps -o pid= --ppid "$postmaster"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$child/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

children() { ps -o pid= --ppid "$postmaster" | wc -l; }

# Waits until a run's backends have exited, so their CPU is counted.
settle() {
  for _ in $(seq 100); do
    [[ $(children) -le $children_baseline ]] && return
    sleep 0.05
  done
}

# Starts each run from the same place: no checkpoint debt from the last one.
quiesce() { sql "CHECKPOINT" >/dev/null; }

# Nearest-rank percentiles (ms) of pgbench's per-transaction log (µs in $3),
# the same definition shop_load uses.
percentiles() {
  cat "$@" | awk '{print $3}' | sort -n |
    awk '{v[NR - 1] = $1} END {
      n = NR; i50 = int(0.50 * n); i99 = int(0.99 * n)
      if (i99 >= n) i99 = n - 1
      printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000 }'
}

# Figures per key, one space-separated row of columns per round, in the
# order the keys were first recorded: record KEY VALUES...
declare -A results
order=()
record() {
  local key=$1
  shift
  if [[ -z ${results[$key]+x} ]]; then
    order+=("$key")
    results[$key]=""
  fi
  results[$key]+="$*;"
}

# Median of column $2 (1-based) over the rounds recorded for key $1; "-"
# when the key or the column has no figures.
median() {
  [[ -z ${results[$1]+x} ]] && { echo "-"; return; }
  tr ';' '\n' <<<"${results[$1]}" | awk -v c="$2" 'NF && $c != "-" {print $c}' | sort -g |
    awk '{v[NR] = $1} END {
      if (NR == 0) print "-"
      else print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# The value of key $1 in shop_load's result line $line ("-" if absent).
field() {
  tr ' ' '\n' <<<"$line" | awk -F= -v k="$1" '$1 == k {v = $2} END {print (v == "" ? "-" : v)}'
}
