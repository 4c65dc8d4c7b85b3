#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts the local
# PostgreSQL, applies migrations and runs both services in the foreground.
# Ctrl-C stops everything this script started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin="$repo/build/services"

"$here/setup.sh"
"$here/build.sh" --target inventory-server cart-server

"$here/pg.sh" start run
eval "$("$here/pg.sh" env run)"

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  "$here/pg.sh" stop run
}
trap cleanup EXIT INT TERM

"$bin/inventory/inventory-server" migrate
"$bin/cart/cart-server" migrate

"$bin/inventory/inventory-server" "$@" &
pids+=($!)
"$bin/cart/cart-server" &
pids+=($!)
echo "run.sh: inventory on ${INVENTORY_LISTEN:-127.0.0.1:50051}, cart on ${CART_LISTEN:-127.0.0.1:50052}; Ctrl-C stops both" >&2
wait -n "${pids[@]}"
