#!/usr/bin/env bash
# deploy/local/pg.sh promises: start twice, stop twice, start after a crash.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
pg="$repo/deploy/local/pg.sh"
name="selftest-$$"

cleanup() {
  "$pg" stop "$name" >/dev/null 2>&1 || true
  rm -rf "$repo/.pgdata/$name" "${TMPDIR:-/tmp}"/shop-pg-*-"$name"
}
trap cleanup EXIT

query() {
  eval "$("$pg" env "$name")"
  psql -X -qAt -h 127.0.0.1 -U postgres -d shop -c "$1"
}

"$pg" start "$name"
"$pg" start "$name"
[[ $(query "SELECT 1") == 1 ]]
[[ $(query "SELECT count(*) FROM pg_namespace WHERE nspname IN ('inventory', 'cart')") == 2 ]]
# Owners own the schemas; the serving roles exist and own nothing there.
[[ $(query "SELECT string_agg(nspname || ':' || pg_get_userbyid(nspowner), ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('inventory', 'cart')") == cart:cart,inventory:inventory ]]
[[ $(query "SELECT count(*) FROM pg_roles WHERE rolname IN ('inventory_app', 'cart_app') AND rolcanlogin AND NOT rolsuper") == 2 ]]

# A crash: the postmaster dies without cleaning up; start must recover.
data=$(query "SHOW data_directory")
kill -9 "$(head -1 "$data/postmaster.pid")"
"$pg" start "$name"
"$pg" status "$name"
[[ $(query "SELECT 1") == 1 ]]

"$pg" stop "$name"
"$pg" stop "$name"
if "$pg" status "$name"; then
  echo "still running after stop" >&2
  exit 1
fi
echo "pg.sh: start twice, crash recovery and stop twice all work"
