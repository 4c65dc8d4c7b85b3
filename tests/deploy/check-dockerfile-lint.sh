#!/usr/bin/env bash
# Lints the Dockerfile offline with two npm linters: dockerfile-utils (syntax and
# instruction semantics, as in the VS Code Docker extension) and dockerfilelint
# (best practices: apt cache cleanup, --no-install-recommends, tags, ports).
# Any finding fails. Usage: check-dockerfile-lint.sh [Dockerfile]
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_node_modules

dockerfile="${1:-${REPO_ROOT}/Dockerfile}"
[[ -f "${dockerfile}" ]] || die "no Dockerfile at ${dockerfile}"
status=0

# dockerfile-utils exits 0 on warnings, so any output counts as a finding.
findings="$("${NODE_MODULES}/.bin/dockerfile-utils" lint "${dockerfile}" 2>&1)" || status=1
if [[ -n "${findings}" ]]; then
  echo "${findings}" >&2
  status=1
fi

# dockerfilelint exits with the number of findings.
if ! "${NODE_MODULES}/.bin/dockerfilelint" --output cli "${dockerfile}" >&2; then
  status=1
fi

if [[ ${status} -ne 0 ]]; then
  echo "FAILED: lint of ${dockerfile}" >&2
  exit 1
fi
echo "ok: ${dockerfile} lints clean (dockerfile-utils, dockerfilelint)"
