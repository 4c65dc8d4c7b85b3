#!/usr/bin/env bash
# The image's runtime stage installs only runtime packages: shared libraries from
# an allow-list, nothing -dev, no compiler or build tool, and copies only the
# two server binaries from the build stage. The build stage installs only
# packages the set-up script lists (deploy/local/packages.txt).
# Usage: check-runtime-packages.sh [Dockerfile]
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_node_modules
setup_list=()
[[ -f "${REPO_ROOT}/deploy/local/packages.txt" ]] && setup_list=("${REPO_ROOT}/deploy/local/packages.txt")
node "${DEPLOY_TESTS_DIR}/lib/check-runtime-packages.mjs" "${1:-${REPO_ROOT}/Dockerfile}" "${setup_list[@]}"
