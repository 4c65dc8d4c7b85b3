#!/bin/bash
# Run once by the postgres image's entrypoint on an empty data directory
# (/docker-entrypoint-initdb.d). Each service gets an owner role that owns its
# schema and runs `migrate`, and a serving role that only gets what `migrate`
# grants it (read and append history, keep read models current), so the
# serving process cannot alter history. Neither service can touch the other's
# schema. Passwords come from Secrets.
set -euo pipefail

# psql variables (:'name') quote the passwords as literals: no SQL built by hand.
psql -v ON_ERROR_STOP=1 \
  --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB}" \
  -v db="${POSTGRES_DB}" \
  -v inventory_password="${INVENTORY_DB_PASSWORD}" \
  -v cart_password="${CART_DB_PASSWORD}" \
  -v inventory_app_password="${INVENTORY_APP_DB_PASSWORD}" \
  -v cart_app_password="${CART_APP_DB_PASSWORD}" <<'SQL'
CREATE ROLE inventory LOGIN PASSWORD :'inventory_password';
CREATE ROLE cart LOGIN PASSWORD :'cart_password';
CREATE ROLE inventory_app LOGIN PASSWORD :'inventory_app_password';
CREATE ROLE cart_app LOGIN PASSWORD :'cart_app_password';

REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO inventory, cart;
GRANT CONNECT ON DATABASE :"db" TO inventory_app, cart_app;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

CREATE SCHEMA inventory AUTHORIZATION inventory;
CREATE SCHEMA cart AUTHORIZATION cart;
-- Where `projections rebuild` builds a read model anew.
CREATE SCHEMA inventory_rebuild AUTHORIZATION inventory;
CREATE SCHEMA cart_rebuild AUTHORIZATION cart;
ALTER ROLE inventory IN DATABASE :"db" SET search_path = inventory;
ALTER ROLE cart IN DATABASE :"db" SET search_path = cart;
ALTER ROLE inventory_app IN DATABASE :"db" SET search_path = inventory;
ALTER ROLE cart_app IN DATABASE :"db" SET search_path = cart;
SQL
