#!/usr/bin/env bash
# CTest fixture: installs puppeteer-core into tests/browser/node_modules once
# per package-lock.json (the browser is Debian's chromium, never a download).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v npm >/dev/null || { echo "npm is missing: run deploy/local/setup.sh" >&2; exit 1; }
[[ -x /usr/bin/chromium ]] || { echo "chromium is missing: run deploy/local/setup.sh" >&2; exit 1; }
stamp="$here/node_modules/.installed-from-lock"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
exec 9>"$here/.npm-install.lock"
flock 9
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "installing tests/browser/node_modules (npm ci)" >&2
  (cd "$here" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
echo "ok: tests/browser/node_modules matches package-lock.json"
