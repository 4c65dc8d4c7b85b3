#!/usr/bin/env bash
# Renders every kustomize target and checks each document strictly against the
# Kubernetes API types (unknown field, wrong type, missing required field, unknown
# kind all fail), then checks the deployment policy of issue 5 on each overlay,
# and that each serves the transport it should (plaintext or TLS).
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
# Each target against its transport (K8S_TARGETS/K8S_TRANSPORT in lib/common.sh):
# local stays plaintext with grpc probes; production serves TLS from the Secrets
# inventory-tls and cart-tls (whole-directory, read-only mounts), inventory with
# mutual TLS, probes over HTTP on the admin ports with the base's timings.
for target in "${K8S_TARGETS[@]}"; do
  check_policy "${target}" "${out}/${target//\//-}.yaml" "${out}/base.yaml"
done
