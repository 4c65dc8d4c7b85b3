#!/usr/bin/env bash
# Builds the image with podman (or docker) and runs both servers from it against
# a throwaway local PostgreSQL. Not part of the default test command: it needs a
# container engine and compiles the whole project inside the image.
#
# Usage: deploy/image/build-and-run.sh [build|run|smoke|all]
#   build  build the image only
#   run    start PostgreSQL and both containers, follow their logs until Ctrl-C
#   smoke  like run, but stop everything once both servers answer
#   all    build, then run (the default)
#
# Environment:
#   IMAGE=localhost/shop-services:dev   image name (the local overlay's name)
#   ENGINE=podman|docker                default: podman if installed
#   PG_PORT=N                           loopback port of the throwaway PostgreSQL
#                                       (default: the first free one from 55433)
#   INVENTORY_PORT=50051 CART_PORT=50052
#   BUILD_JOBS=2                        parallel compile jobs inside the build
#   DEBIAN_MIRROR=URL                   only to make a base image with debootstrap
#                                       when debian:bookworm-slim cannot be pulled
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
IMAGE="${IMAGE:-localhost/shop-services:dev}"
BASE_IMAGE="docker.io/library/debian:bookworm-slim"
PG_PORT="${PG_PORT:-}"
INVENTORY_PORT="${INVENTORY_PORT:-50051}"
CART_PORT="${CART_PORT:-50052}"
BUILD_JOBS="${BUILD_JOBS:-2}"
# Same dev-only passwords as the local overlay; this database lives in /tmp.
# Owners (migrate) and serving roles (the servers), as in deploy/README.md.
INVENTORY_DB_PASSWORD="dev-only-inventory-not-secret"
CART_DB_PASSWORD="dev-only-cart-not-secret"
INVENTORY_APP_DB_PASSWORD="dev-only-inventory-app-not-secret"
CART_APP_DB_PASSWORD="dev-only-cart-app-not-secret"

die() {
  echo "error: $*" >&2
  exit 1
}
log() { echo "==> $*" >&2; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [[ -z "${ENGINE:-}" ]]; then
  if command -v podman >/dev/null; then ENGINE=podman; elif command -v docker >/dev/null; then ENGINE=docker; else
    die "no container engine: install podman (apt-get install podman) or docker"
  fi
fi
engine=("${ENGINE}")

# Some sandboxes (nested VMs, hybrid cgroups, no CAP_SYS_RESOURCE) reject podman's
# default OCI runtime or its default rlimits; fall back to runc with the host's limits.
probe_engine() {
  local err
  if err="$("${engine[@]}" run --rm "${BASE_IMAGE}" true 2>&1)"; then return 0; fi
  if [[ "${ENGINE}" == podman ]] && ! command -v runc >/dev/null; then
    # The fallback's one package; Debian's podman recommends crun instead.
    if [[ ${EUID} -eq 0 ]] && command -v apt-get >/dev/null; then
      log "the default runtime failed (${err##*: }); installing runc for the fallback"
      DEBIAN_FRONTEND=noninteractive apt-get install -y runc >/dev/null ||
        die "${ENGINE} cannot start a container here (${err}), and apt-get install runc failed"
    else
      die "${ENGINE} cannot start a container here: ${err}
  The fallback runtime is missing: install it (sudo apt-get install runc) and run this again."
    fi
  fi
  if [[ "${ENGINE}" == podman ]] && command -v runc >/dev/null; then
    local conf
    conf="$(mktemp)"
    printf '[containers]\ndefault_ulimits = []\n' >"${conf}"
    export CONTAINERS_CONF="${conf}"
    engine=(podman --runtime runc)
    if "${engine[@]}" run --rm "${BASE_IMAGE}" true >/dev/null 2>&1; then
      log "using podman --runtime runc (the default runtime failed: ${err##*: })"
      return 0
    fi
  fi
  die "${ENGINE} cannot start a container here: ${err}"
}

# The Dockerfile starts FROM debian:bookworm-slim. Pull it; where no registry is
# reachable, make an equivalent minimal Debian 12 with debootstrap and import it.
ensure_base_image() {
  if "${engine[@]}" image exists "${BASE_IMAGE}" 2>/dev/null \
    || "${engine[@]}" image inspect "${BASE_IMAGE}" >/dev/null 2>&1; then
    return 0
  fi
  if "${engine[@]}" pull "${BASE_IMAGE}" >/dev/null 2>&1; then return 0; fi
  command -v debootstrap >/dev/null || die "cannot pull ${BASE_IMAGE} and debootstrap is missing (apt-get install debootstrap)"
  [[ ${EUID} -eq 0 ]] || die "debootstrap needs root to make ${BASE_IMAGE}"
  local mirror="${DEBIAN_MIRROR:-}"
  if [[ -z "${mirror}" ]]; then
    # The mirror this machine already uses for bookworm.
    mirror="$(grep -hs '^URIs:' /etc/apt/sources.list.d/debian.sources | head -n1 | awk '{print $2}')"
    [[ -n "${mirror}" ]] || mirror="$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
  fi
  [[ -n "${mirror}" ]] || die "set DEBIAN_MIRROR to a Debian mirror URL"
  local rootfs
  rootfs="$(mktemp -d)"
  log "making ${BASE_IMAGE} with debootstrap from ${mirror} (about a minute)"
  debootstrap --variant=minbase bookworm "${rootfs}" "${mirror}" >/dev/null
  rm -rf "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/var/cache/apt/*.bin
  tar -C "${rootfs}" -c . | "${engine[@]}" import --change 'CMD ["bash"]' - "${BASE_IMAGE}" >/dev/null
  rm -rf "${rootfs}"
}

build_image() {
  ensure_base_image
  log "building ${IMAGE} (Release, ${BUILD_JOBS} jobs)"
  local format=()
  [[ "${ENGINE}" == podman ]] && format=(--format docker)
  "${engine[@]}" build "${format[@]}" --pull=never --build-arg "BUILD_JOBS=${BUILD_JOBS}" \
    -t "${IMAGE}" -f "${REPO_ROOT}/Dockerfile" "${REPO_ROOT}"
}

# --- throwaway PostgreSQL on loopback, set up like the local overlay's -------
pg_dir=""
pg_bin=""
as_pg=()
start_postgres() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do pg_bin="${dir}"; done # usually exactly one
  [[ -x "${pg_bin}/initdb" ]] || die "PostgreSQL server not installed (apt-get install postgresql)"
  if [[ -z "${PG_PORT}" ]]; then
    PG_PORT=55433
    while port_in_use "${PG_PORT}"; do PG_PORT=$((PG_PORT + 1)); done
  fi
  pg_dir="$(mktemp -d)"
  # initdb refuses to run as root.
  if [[ ${EUID} -eq 0 ]]; then
    chown postgres: "${pg_dir}"
    as_pg=(runuser -u postgres --)
  fi
  log "starting PostgreSQL on 127.0.0.1:${PG_PORT} in ${pg_dir}"
  "${as_pg[@]}" "${pg_bin}/initdb" -D "${pg_dir}/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 >/dev/null
  "${as_pg[@]}" "${pg_bin}/pg_ctl" -D "${pg_dir}/data" -l "${pg_dir}/postgres.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=${PG_PORT} -c unix_socket_directories=${pg_dir}" start >/dev/null
  "${as_pg[@]}" env PGHOST="${pg_dir}" PGPORT="${PG_PORT}" psql -U postgres -qc 'CREATE DATABASE shop'
  # The same init script the local cluster's PostgreSQL runs: roles and schemas.
  "${as_pg[@]}" env PGHOST="${pg_dir}" PGPORT="${PG_PORT}" POSTGRES_USER=postgres POSTGRES_DB=shop \
    INVENTORY_DB_PASSWORD="${INVENTORY_DB_PASSWORD}" CART_DB_PASSWORD="${CART_DB_PASSWORD}" \
    INVENTORY_APP_DB_PASSWORD="${INVENTORY_APP_DB_PASSWORD}" CART_APP_DB_PASSWORD="${CART_APP_DB_PASSWORD}" \
    bash "${REPO_ROOT}/deploy/k8s/overlays/local/postgres-init.sh" >/dev/null
}

stop_postgres() {
  [[ -n "${pg_dir}" ]] || return 0
  "${as_pg[@]}" "${pg_bin}/pg_ctl" -D "${pg_dir}/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "${pg_dir}"
}

# --- both servers from the image, hardened as in Kubernetes ----------------
containers=()
run_server() {
  # password: the owner's for `migrate`, the serving role's otherwise.
  local name="$1" prefix="$2" port="$3" password="$4"
  shift 4
  "${engine[@]}" run "$@" --network host --read-only --tmpfs /tmp \
    --cap-drop ALL --security-opt no-new-privileges --user 10001:10001 \
    -e "${prefix}_LISTEN=127.0.0.1:${port}" \
    -e "${prefix}_DATABASE_URL=postgresql://${name}_app@127.0.0.1:${PG_PORT}/shop?application_name=${name}-server" \
    -e "${prefix}_MIGRATE_DATABASE_URL=postgresql://${name}@127.0.0.1:${PG_PORT}/shop?application_name=${name}-migrate" \
    -e "PGPASSWORD=${password}" \
    "${extra_env[@]}" "${IMAGE}" "${name}-server" "${server_args[@]}"
}

wait_for_port() {
  local name="$1" port="$2" deadline=$((SECONDS + 120))
  until port_in_use "${port}"; do
    if [[ "$("${engine[@]}" inspect -f '{{.State.Running}}' "shop-${name}" 2>/dev/null)" != true ]]; then
      "${engine[@]}" logs "shop-${name}" >&2 || true
      die "${name}-server exited"
    fi
    [[ ${SECONDS} -lt ${deadline} ]] || die "${name}-server did not listen on ${port} within 120s"
    sleep 0.5
  done
}

cleanup() {
  for c in "${containers[@]}"; do
    "${engine[@]}" stop -t 30 "${c}" >/dev/null 2>&1 || true
    "${engine[@]}" rm -f "${c}" >/dev/null 2>&1 || true
  done
  stop_postgres
}

run_servers() {
  local mode="$1"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  local port
  for port in "${INVENTORY_PORT}" "${CART_PORT}"; do
    ! port_in_use "${port}" || die "127.0.0.1:${port} is taken; set INVENTORY_PORT / CART_PORT"
  done
  start_postgres

  extra_env=() server_args=(migrate)
  log "applying migrations (migrate subcommand)"
  run_server inventory INVENTORY "${INVENTORY_PORT}" "${INVENTORY_DB_PASSWORD}" --rm
  run_server cart CART "${CART_PORT}" "${CART_DB_PASSWORD}" --rm

  server_args=()
  log "starting inventory-server on 127.0.0.1:${INVENTORY_PORT}"
  containers+=(shop-inventory)
  run_server inventory INVENTORY "${INVENTORY_PORT}" "${INVENTORY_APP_DB_PASSWORD}" -d --name shop-inventory >/dev/null
  wait_for_port inventory "${INVENTORY_PORT}"

  log "starting cart-server on 127.0.0.1:${CART_PORT}"
  extra_env=(-e "CART_INVENTORY_ADDRESS=127.0.0.1:${INVENTORY_PORT}")
  containers+=(shop-cart)
  run_server cart CART "${CART_PORT}" "${CART_APP_DB_PASSWORD}" -d --name shop-cart >/dev/null
  wait_for_port cart "${CART_PORT}"

  if command -v grpcurl >/dev/null; then
    grpcurl -plaintext -d '{"service":"inventory.v1.InventoryService"}' \
      "127.0.0.1:${INVENTORY_PORT}" grpc.health.v1.Health/Check
    grpcurl -plaintext -d '{"service":"cart.v1.CartService"}' \
      "127.0.0.1:${CART_PORT}" grpc.health.v1.Health/Check
  fi
  log "both servers are up: inventory 127.0.0.1:${INVENTORY_PORT}, cart 127.0.0.1:${CART_PORT}"

  if [[ "${mode}" == smoke ]]; then
    # SIGTERM must drain and exit 0, as Kubernetes expects on every rollout.
    local c code
    for c in "${containers[@]}"; do
      "${engine[@]}" stop -t 30 "${c}" >/dev/null
      code="$("${engine[@]}" inspect -f '{{.State.ExitCode}}' "${c}")"
      [[ "${code}" == 0 ]] || die "${c} exited ${code} after SIGTERM"
    done
    log "smoke run passed: both servers served and exited 0 on SIGTERM"
    return 0
  fi
  log "try: grpcurl -plaintext 127.0.0.1:${INVENTORY_PORT} list   (Ctrl-C stops everything)"
  "${engine[@]}" logs -f shop-inventory &
  "${engine[@]}" logs -f shop-cart &
  wait
}

mode="${1:-all}"
[[ "${mode}" =~ ^(build|run|smoke|all)$ ]] || die "usage: $0 [build|run|smoke|all]"

# The probe needs the base image; making the base needs no running container.
ensure_base_image
probe_engine
case "${mode}" in
  build) build_image ;;
  run | smoke) run_servers "${mode}" ;;
  all)
    build_image
    run_servers run
    ;;
esac
