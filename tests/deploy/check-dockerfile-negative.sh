#!/usr/bin/env bash
# Proves the Dockerfile checks fail when they should: a runtime stage with build
# packages and a Dockerfile with lint findings must both be rejected.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_node_modules

fixtures="${DEPLOY_TESTS_DIR}/fixtures"
failures=0
expect_failure runtime-stage-with-dev-package "libgrpc\+\+-dev is a build-time package" \
  "${DEPLOY_TESTS_DIR}/check-runtime-packages.sh" "${fixtures}/bad-runtime.Dockerfile" || failures=$((failures + 1))
expect_failure runtime-stage-with-cmake "cmake is a build-time package" \
  "${DEPLOY_TESTS_DIR}/check-runtime-packages.sh" "${fixtures}/bad-runtime.Dockerfile" || failures=$((failures + 1))
expect_failure runtime-stage-copies-headers "copies /usr/include" \
  "${DEPLOY_TESTS_DIR}/check-runtime-packages.sh" "${fixtures}/bad-runtime.Dockerfile" || failures=$((failures + 1))
expect_failure lint-findings "Base images should specify a tag" \
  "${DEPLOY_TESTS_DIR}/check-dockerfile-lint.sh" "${fixtures}/bad-lint.Dockerfile" || failures=$((failures + 1))
expect_failure lint-duplicate-cmd "only be one CMD" \
  "${DEPLOY_TESTS_DIR}/check-dockerfile-lint.sh" "${fixtures}/bad-lint.Dockerfile" || failures=$((failures + 1))

if [[ ${failures} -ne 0 ]]; then
  echo "FAILED: ${failures} broken Dockerfiles were not rejected as expected" >&2
  exit 1
fi
echo "ok: every broken Dockerfile was rejected"
