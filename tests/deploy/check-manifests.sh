#!/usr/bin/env bash
# Renders every kustomize target and checks each document strictly against the
# Kubernetes API types (unknown field, wrong type, missing required field, unknown
# kind all fail), then checks the deployment policy of issue 5 on each overlay.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_node_modules

out="$(mktemp -d)"
trap 'rm -rf "${out}"' EXIT

rendered=()
for target in "${K8S_TARGETS[@]}"; do
  file="${out}/${target//\//-}.yaml"
  render "${target}" >"${file}" || die "kubectl kustomize deploy/k8s/${target} failed"
  rendered+=("${file}")
done

node "${DEPLOY_TESTS_DIR}/lib/validate-k8s.mjs" "${rendered[@]}"
for file in "${rendered[@]}"; do
  node "${DEPLOY_TESTS_DIR}/lib/check-policy.mjs" "${file}"
done
