# Shared by the tests/deploy check scripts; source it, do not run it.
# shellcheck shell=bash

DEPLOY_TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "${DEPLOY_TESTS_DIR}/../.." && pwd)"
NODE_MODULES="${DEPLOY_TESTS_DIR}/node_modules"
# Every overlay an operator may apply, plus the base on its own.
# shellcheck disable=SC2034  # used by the scripts that source this file
K8S_TARGETS=(base overlays/local overlays/production)
# What each target serves on the gRPC ports: plaintext (kubelet's grpc probes) or
# tls (certificates from Secrets, mutual TLS to inventory, probes on the admin ports).
# shellcheck disable=SC2034
declare -A K8S_TRANSPORT=([base]=plaintext [overlays/local]=plaintext [overlays/production]=tls)

die() {
  echo "error: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"
}

# Installs tests/deploy/node_modules from package-lock.json when it is missing
# or was installed from another lock file. Later runs need no network. The
# lock makes concurrent CTest jobs wait for one install instead of racing.
ensure_node_modules() {
  need node "apt-get install nodejs npm"
  need npm "apt-get install nodejs npm"
  local stamp="${NODE_MODULES}/.installed-from-lock"
  local want
  want="$(sha256sum "${DEPLOY_TESTS_DIR}/package-lock.json" | cut -d' ' -f1)"
  exec 9>"${DEPLOY_TESTS_DIR}/.npm-install.lock"
  flock 9
  if [[ ! -f "${stamp}" || "$(cat "${stamp}")" != "${want}" ]]; then
    echo "installing tests/deploy/node_modules (npm ci)" >&2
    (cd "${DEPLOY_TESTS_DIR}" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
      || die "npm ci failed in tests/deploy: the npm registry must be reachable once"
    echo "${want}" >"${stamp}"
  fi
  flock -u 9
  exec 9>&-
}

# Renders one kustomize target (relative to deploy/k8s) to stdout.
render() {
  need kubectl "kubectl kustomize renders the manifests"
  kubectl kustomize "${REPO_ROOT}/deploy/k8s/$1"
}

# The policy check of one rendered target, as check-manifests.sh runs it: the
# target's transport, and for an overlay the base's probe timings.
# check_policy TARGET RENDERED.yaml [RENDERED-BASE.yaml]
check_policy() {
  local target="$1" file="$2" base="${3:-}"
  local transport="${K8S_TRANSPORT[${target}]:-}"
  [[ -n "${transport}" ]] || die "K8S_TRANSPORT in tests/deploy/lib/common.sh names no transport for ${target}"
  local args=("--transport=${transport}")
  if [[ "${target}" != base && -n "${base}" ]]; then args+=("--probe-timings-from=${base}"); fi
  node "${DEPLOY_TESTS_DIR}/lib/check-policy.mjs" "${file}" "${args[@]}"
}

# Runs a command that must fail and must print a line matching a pattern, so a
# negative test passes only for the reason it names.
expect_failure() {
  local label="$1" pattern="$2"
  shift 2
  local out status=0
  out="$("$@" 2>&1)" || status=$?
  if [[ ${status} -eq 0 ]]; then
    echo "FAIL ${label}: the check accepted it" >&2
    echo "${out}" >&2
    return 1
  fi
  if ! grep -qE -- "${pattern}" <<<"${out}"; then
    echo "FAIL ${label}: the check failed, but not with /${pattern}/" >&2
    echo "${out}" >&2
    return 1
  fi
  echo "ok   ${label}: rejected (/${pattern}/)"
}
