#!/bin/bash
# Run once by the postgres image's entrypoint on an empty data directory
# (/docker-entrypoint-initdb.d). Each service gets its own login role and owns
# its own schema; neither can touch the other's. Passwords come from Secrets.
set -euo pipefail

# psql variables (:'name') quote the passwords as literals: no SQL built by hand.
psql -v ON_ERROR_STOP=1 \
  --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB}" \
  -v db="${POSTGRES_DB}" \
  -v inventory_password="${INVENTORY_DB_PASSWORD}" \
  -v cart_password="${CART_DB_PASSWORD}" <<'SQL'
CREATE ROLE inventory LOGIN PASSWORD :'inventory_password';
CREATE ROLE cart LOGIN PASSWORD :'cart_password';

REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO inventory, cart;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA inventory AUTHORIZATION inventory;
CREATE SCHEMA cart AUTHORIZATION cart;
ALTER ROLE inventory IN DATABASE :"db" SET search_path = inventory;
ALTER ROLE cart IN DATABASE :"db" SET search_path = cart;
SQL
