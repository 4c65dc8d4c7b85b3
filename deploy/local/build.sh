#!/usr/bin/env bash
# Configures (once) and builds the project in build/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
build="$repo/build"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j "$(nproc)" "$@"
