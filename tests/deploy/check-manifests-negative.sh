#!/usr/bin/env bash
# Proves the manifest checks fail when they should: each case breaks one thing
# in a known-good manifest (or in the real rendered overlay) and expects the
# check to reject it with the matching message.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
ensure_node_modules

out="$(mktemp -d)"
trap 'rm -rf "${out}"' EXIT
validate=(node "${DEPLOY_TESTS_DIR}/lib/validate-k8s.mjs")
good="${DEPLOY_TESTS_DIR}/fixtures/good-deployment.yaml"
failures=0

# A validator that rejects everything would pass every case below.
"${validate[@]}" "${good}" >/dev/null || die "the validator rejects the known-good fixture"

# Each case applies one edit; all cases are type-checked in one run (one tsc
# start), and each must be rejected with its own message on its own file.
cases=()
# broken NAME SED_EXPRESSION PATTERN [SOURCE]
broken() {
  local name="$1" edit="$2" pattern="$3" source="${4:-${good}}"
  sed -e "${edit}" "${source}" >"${out}/${name}.yaml"
  cmp -s "${source}" "${out}/${name}.yaml" && die "case ${name}: the edit changed nothing"
  cases+=("${name}|${pattern}")
}

broken misspelled-field 's/^  replicas: 2/  replica: 2/' \
  "'\"?replica\"?' does not exist in type 'DeploymentSpec'"
broken wrong-type 's/^  replicas: 2/  replicas: "two"/' \
  "Type 'string' is not assignable to type 'number'"
broken missing-required-field '/^        - name: example$/d; s/^          image: example:1/        - image: example:1/' \
  "Property 'name' is missing"
broken nested-typo 's/service: example.v1.Example/serivce: example.v1.Example/' \
  "'\"?serivce\"?' does not exist in type 'GRPCAction'"
broken wrong-quantity-type 's/memory: 64Mi/memory: 64/' \
  "Type 'number' is not assignable to type 'string'"
broken unknown-kind 's/^kind: Deployment/kind: Deploymnet/' \
  "has no exported member named 'Deploymnet'"
broken wrong-api-version 's|^apiVersion: apps/v1|apiVersion: extensions/v1beta1|' \
  "Cannot find module 'kubernetes-types/extensions/v1beta1'"
# The same misspelling in the real rendered local overlay.
render overlays/local >"${out}/local.yaml"
broken rendered-overlay-misspelled-field 's/^  replicas: 2/  replica: 2/' \
  "does not exist in type 'DeploymentSpec'" "${out}/local.yaml"

files=()
for c in "${cases[@]}"; do files+=("${out}/${c%%|*}.yaml"); done
status=0
report="$("${validate[@]}" "${files[@]}" 2>&1)" || status=$?
if [[ ${status} -eq 0 ]]; then
  echo "${report}" >&2
  die "the type check accepted every broken manifest"
fi
for c in "${cases[@]}"; do
  name="${c%%|*}" pattern="${c#*|}"
  # tsc names the generated file after its source: NNN-<case>.yaml-<Kind>-<name>.ts
  if grep -E -- "[0-9]{3}-${name}\.yaml-[A-Za-z]+-" <<<"${report}" | grep -qE -- "${pattern}"; then
    echo "ok   ${name}: rejected (/${pattern}/)"
  else
    echo "FAIL ${name}: no error matching /${pattern}/ for this case" >&2
    failures=$((failures + 1))
  fi
done
if [[ ${failures} -ne 0 ]]; then echo "${report}" >&2; fi

# Valid types, broken policy: the policy check must catch what types cannot.
# Each case edits a real render and runs the check as check-manifests.sh does
# for that target (its transport, the base's probe timings).
render base >"${out}/base.yaml"
render overlays/production >"${out}/production.yaml"
# target_case TARGET RENDERED NAME SED_EXPRESSION PATTERN
target_case() {
  local target="$1" source="$2" name="$3" edit="$4" pattern="$5"
  sed -e "${edit}" "${source}" >"${out}/${name}.yaml"
  cmp -s "${source}" "${out}/${name}.yaml" && die "case ${name}: the edit changed nothing"
  expect_failure "${name}" "${pattern}" check_policy "${target}" "${out}/${name}.yaml" "${out}/base.yaml" \
    || failures=$((failures + 1))
}
policy_case() { target_case overlays/local "${out}/local.yaml" "$@"; }
tls_case() { target_case overlays/production "${out}/production.yaml" "$@"; }

# The unedited renders pass, so each rejection below is the edit's.
for target in overlays/local overlays/production; do
  check_policy "${target}" "${out}/${target#overlays/}.yaml" "${out}/base.yaml" >/dev/null \
    || die "the policy check rejects the unedited ${target} render"
done
policy_case writable-root-filesystem 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' \
  "readOnlyRootFilesystem must be true"
policy_case readiness-on-empty-service 's/service: inventory.v1.InventoryService/service: ""/' \
  "readinessProbe must be a grpc probe"
policy_case grace-too-short 's/terminationGracePeriodSeconds: 35/terminationGracePeriodSeconds: 10/' \
  "must exceed preStop"
policy_case inventory-open-to-all '/^kind: NetworkPolicy$/,/^---$/{s/app.kubernetes.io\/name: cart$/app.kubernetes.io\/part-of: shop/}' \
  "ingress to inventory must come only from cart"
policy_case metrics-not-announced '0,/prometheus.io\/scrape: "true"/s//prometheus.io\/scrape: "false"/' \
  "prometheus.io/scrape"
policy_case metrics-on-loopback 's/METRICS_LISTEN: 0.0.0.0:9464/METRICS_LISTEN: 127.0.0.1:9464/' \
  "METRICS_LISTEN is 127.0.0.1:9464"
policy_case console-in-cluster 's/CONSOLE_LISTEN: 127.0.0.1:9474/CONSOLE_LISTEN: 0.0.0.0:9474/' \
  "CONSOLE_LISTEN is 0.0.0.0:9474"
policy_case console-on-admin-port 's/CONSOLE_LISTEN: 127.0.0.1:9474/CONSOLE_LISTEN: admin/' \
  "CONSOLE_LISTEN is admin"
policy_case literal-password 's|postgresql://inventory@|postgresql://inventory:hunter2@|' \
  "carries a password"
# Split ownership: the serving container never gets the owner's role or Secret.
policy_case serving-as-owner 's|INVENTORY_DATABASE_URL: postgresql://inventory_app@|INVENTORY_DATABASE_URL: postgresql://inventory@|' \
  "must name the serving role"
owner_secret=$(grep -o -m1 'name: inventory-db-[a-z0-9]*$' "${out}/local.yaml" | cut -d' ' -f2)
policy_case serving-with-owner-secret "s/name: inventory-app-db-[a-z0-9]*\$/name: ${owner_secret}/" \
  "must not use the owner's Secret"
policy_case no-migrate-init-container 's/^        - migrate$/        - projections/' \
  "needs an init container running"
# Local stays plaintext: no TLS setting creeps in, the probes stay kubelet's grpc ones.
policy_case local-with-tls-setting 's|^  INVENTORY_LISTEN: 0.0.0.0:50051$|&\n  INVENTORY_TLS_CERT_FILE: /etc/shop/tls/tls.crt|' \
  "INVENTORY_TLS_CERT_FILE is set, but this target serves plaintext gRPC"
policy_case local-liveness-over-http '/livenessProbe:/,/service: ""/{s/grpc:/httpGet:/; s/port: 50051/port: 9464/; s/port: 50052/port: 9465/; s|service: ""|path: /livez|}' \
  "livenessProbe must stay kubelet's grpc probe"

# Production serves TLS from its Secrets, inventory with mutual TLS.
tls_case tls-grpc-probe '/readinessProbe:/,/scheme: HTTP/{s/httpGet:/grpc:/; /path: \/readyz/d; /scheme: HTTP/d}' \
  "kubelet's grpc probes cannot do TLS"
tls_case tls-probe-on-grpc-port 's/^\( *\)port: 9464$/\1port: 50051/' \
  "startupProbe must be an httpGet of /readyz on the admin port 9464"
tls_case tls-liveness-on-readyz 's|path: /livez|path: /readyz|' \
  "livenessProbe must be an httpGet of /livez"
tls_case tls-probe-timings-changed '0,/failureThreshold: 150/s//failureThreshold: 30/' \
  "startupProbe.failureThreshold is 30, the base has 150"
tls_case tls-subpath 's|^\( *\)- mountPath: /etc/shop/tls$|&\n\1  subPath: tls.crt|' \
  "mounted with subPath"
tls_case tls-mount-writable 's/readOnly: true/readOnly: false/' \
  "must be read-only"
tls_case tls-wrong-secret 's/secretName: inventory-tls$/secretName: inventory-tls-old/' \
  "must come from Secret inventory-tls, not inventory-tls-old"
tls_case tls-key-world-readable 's/defaultMode: 288$/defaultMode: 420/' \
  "private key is world-readable"
tls_case tls-cert-and-key-swapped 's|INVENTORY_TLS_KEY_FILE: /etc/shop/tls/tls.key|INVENTORY_TLS_KEY_FILE: /etc/shop/tls/tls.crt|' \
  "must be key tls.key of the kubernetes.io/tls Secret"
tls_case tls-migrate-without-mount '/^      initContainers:/,/^      securityContext:/{/- mountPath: \/etc\/shop\/tls$/,/readOnly: true/d}' \
  "container migrate: INVENTORY_TLS_CERT_FILE=/etc/shop/tls/tls.crt is not under any of its volumeMounts"
tls_case tls-inventory-without-client-ca '/INVENTORY_TLS_CLIENT_CA_FILE:/d' \
  "must require client certificates"
tls_case tls-delegating-peers-wide 's/INVENTORY_DELEGATING_PEERS: cart$/INVENTORY_DELEGATING_PEERS: cart,ops/' \
  'INVENTORY_DELEGATING_PEERS is "cart,ops", want "cart"'
tls_case tls-cart-not-verifying-inventory '/CART_INVENTORY_TLS_CA_FILE:/d' \
  "set CART_INVENTORY_TLS_CA_FILE to verify it"
tls_case tls-cart-without-client-certificate '/CART_INVENTORY_TLS_\(CERT\|KEY\)_FILE:/d' \
  "inventory requires a client certificate"
tls_case tls-cart-requires-client-certificates 's|^  CART_TLS_CERT_FILE: .*|&\n  CART_TLS_CLIENT_CA_FILE: /etc/shop/tls/ca.crt|' \
  "cart must not require client certificates"
tls_case tls-cart-plaintext '/^  CART_TLS_\(CERT\|KEY\)_FILE:/d' \
  "CART_TLS_CERT_FILE is not set, but this target serves TLS"
tls_case tls-service-says-h2c 's|^  - name: grpc$|  - appProtocol: kubernetes.io/h2c\n    name: grpc|' \
  "appProtocol kubernetes.io/h2c says cleartext HTTP/2"

if [[ ${failures} -ne 0 ]]; then
  echo "FAILED: ${failures} broken manifests were not rejected as expected" >&2
  exit 1
fi
echo "ok: every broken manifest was rejected"
