#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, starts a PostgreSQL
# cluster of its own, runs ctest (unit, integration, e2e, deploy checks),
# stops that cluster, and exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

"$here/setup.sh"
"$here/build.sh"

"$here/pg.sh" start test
trap '"$here/pg.sh" stop test' EXIT
eval "$("$here/pg.sh" env test)"
# Tests that need the database read this and fail (never skip) without it.
export SHOP_TEST_DSN="$SHOP_PG_DSN"

ctest --test-dir "$repo/build" --output-on-failure -j "$(nproc)" --timeout 600 "$@"
