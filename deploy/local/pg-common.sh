# shellcheck shell=bash disable=SC2154
# Shared by pg.sh (one throwaway cluster) and ha.sh (a pg_auto_failover
# cluster): sourced, not run. Expects $repo (the repository) to be set.

export PATH="/usr/lib/postgresql/15/bin:$PATH"

# initdb, pg_ctl and pg_autoctl refuse root: run them as postgres.
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A folder for cluster NAME ($1); the same answer every time for the same
# repository: .pgdata/NAME, or a temporary folder when the postgres user
# cannot reach the repository.
cluster_dir() {
  local name=$1
  local preferred="$repo/.pgdata/$name"
  if [[ $(id -u) -ne 0 ]]; then
    echo "$preferred"
    return
  fi
  if mkdir -p "$preferred" 2>/dev/null && chown postgres: "$preferred" &&
     runuser -u postgres -- test -w "$preferred"; then
    echo "$preferred"
    return
  fi
  rmdir "$preferred" 2>/dev/null || true
  echo "${TMPDIR:-/tmp}/shop-pg-$(echo "$repo" | md5sum | cut -c1-12)-$name"
}

# psql as the superuser on 127.0.0.1:PORT ($1); the rest goes to psql. A
# port held by something that is not postgres fails it, not hangs it.
psql_at() {
  local port=$1
  shift
  PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10} PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}

# The shape the services expect, on the (primary) server at PORT ($1):
# database shop and, per service, an owner role that owns its schema (it
# runs `migrate`) and a serving role that gets only the grants `migrate`
# gives it (see deploy/README.md, "The roles").
bootstrap_shop() {
  local port=$1
  if [[ -z $(psql_at "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'shop'") ]]; then
    psql_at "$port" -d postgres -c "CREATE DATABASE shop"
  fi
  psql_at "$port" -d shop <<'SQL'
DO $$
DECLARE
  role text;
BEGIN
  FOREACH role IN ARRAY ARRAY['inventory', 'inventory_app', 'cart', 'cart_app'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role) THEN
      EXECUTE format('CREATE ROLE %I LOGIN', role);
    END IF;
  END LOOP;
END $$;
CREATE SCHEMA IF NOT EXISTS inventory AUTHORIZATION inventory;
CREATE SCHEMA IF NOT EXISTS cart AUTHORIZATION cart;
-- Where `projections rebuild` builds a read model anew.
CREATE SCHEMA IF NOT EXISTS inventory_rebuild AUTHORIZATION inventory;
CREATE SCHEMA IF NOT EXISTS cart_rebuild AUTHORIZATION cart;
ALTER ROLE inventory_app IN DATABASE shop SET search_path = inventory;
ALTER ROLE cart_app IN DATABASE shop SET search_path = cart;
SQL
}
