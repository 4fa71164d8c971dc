#!/bin/sh
# Creates Temporal's two databases and brings their schemas to the version shipped in this admin-tools image.
# Runs in the temporal-admin-tools one-shot (see docker-compose.yml). Safe to re-run: `create` ignores an
# existing database, `setup-schema -v 0.0` keeps a newer version, `update-schema` applies only what is missing.
# Based on temporalio/samples-server compose/scripts/setup-postgres.sh.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required (temporal-sql-tool reads the password from it)}"
DB_PORT=${DB_PORT:-5432}
MAX_ATTEMPTS=${SETUP_MAX_ATTEMPTS:-30}
SLEEP_SECONDS=${SETUP_SLEEP_SECONDS:-2}
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}..."
attempt=1
until nc -z -w 10 "$POSTGRES_SEEDS" "$DB_PORT"; do
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    echo "PostgreSQL did not open its port after $MAX_ATTEMPTS attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$DB_PORT" "$@"
}

for db in temporal temporal_visibility; do
  if [ "$db" = temporal ]; then
    versioned="$SCHEMA_DIR/temporal/versioned"
  else
    versioned="$SCHEMA_DIR/visibility/versioned"
  fi
  echo "Setting up database '$db' from $versioned..."
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "$versioned"
done

echo 'PostgreSQL schema setup complete'
