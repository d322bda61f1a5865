#!/bin/sh
# One-shot (temporalio/admin-tools): create Temporal's persistence and visibility databases and bring
# their schemas up to date. Safe to re-run: existing databases are kept, schemas only move forward.
set -eu
# The password comes from SQL_PASSWORD in the environment.
sql() { temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u "$POSTGRES_USER" "$@"; }
schema=/etc/temporal/schema/postgresql/v12

until nc -z postgresql 5432; do echo 'waiting for postgresql:5432'; sleep 1; done

for db in temporal temporal_visibility; do
  dir=temporal
  [ "$db" = temporal_visibility ] && dir=visibility
  sql --db "$db" create || true          # already there on a restart
  sql --db "$db" setup-schema -v 0.0 || true
  sql --db "$db" update-schema -d "$schema/$dir/versioned"
done
echo 'Temporal schemas are up to date'
