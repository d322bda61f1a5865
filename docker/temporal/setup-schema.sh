#!/bin/sh
# Creates Temporal's persistence and visibility databases and brings their schemas up to date. Safe to
# re-run: existing databases are kept, schemas only move forward. Run by the compose file's one-shot
# temporalio/admin-tools container and by `npm run cluster` (scripts/cluster), which set:
#   POSTGRES_SEEDS, DB_PORT, POSTGRES_USER and SQL_PASSWORD (the password) for the PostgreSQL server;
#   TEMPORAL_SCHEMA_DIR (default: the admin-tools image's /etc/temporal/schema/postgresql/v12);
#   TEMPORAL_SQL_TOOL (default: temporal-sql-tool on PATH).
set -eu
host=${POSTGRES_SEEDS:-postgresql}
port=${DB_PORT:-5432}
schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
sql() { "${TEMPORAL_SQL_TOOL:-temporal-sql-tool}" --plugin postgres12 --ep "$host" -p "$port" -u "$POSTGRES_USER" "$@"; }
reachable() {
  if command -v nc >/dev/null 2>&1; then nc -z "$host" "$port"; else pg_isready -q -h "$host" -p "$port"; fi
}

until reachable; do echo "waiting for $host:$port"; sleep 1; done

for db in temporal temporal_visibility; do
  dir=temporal
  [ "$db" = temporal_visibility ] && dir=visibility
  sql --db "$db" create || true          # already there on a restart
  sql --db "$db" setup-schema -v 0.0 || true
  sql --db "$db" update-schema -d "$schema/$dir/versioned"
done
echo 'Temporal schemas are up to date'
