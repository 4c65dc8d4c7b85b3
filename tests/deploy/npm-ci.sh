#!/usr/bin/env bash
# CTest fixture: install the checkers once before the deploy checks run.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_node_modules
echo "ok: tests/deploy/node_modules matches package-lock.json"
