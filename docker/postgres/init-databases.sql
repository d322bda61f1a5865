-- Runs once, on an empty volume (the postgres image runs it with psql; `npm run cluster` does the same):
-- the service's role and its two databases next to Temporal's.
CREATE ROLE runbook LOGIN PASSWORD 'runbook' CREATEDB;
CREATE DATABASE ops OWNER runbook;
CREATE DATABASE app OWNER runbook;

-- Backup verification restores into a scratch database of its own (hence CREATEDB) and runs pg_amcheck in
-- it. New databases are copies of template1, so amcheck goes there, with the right to run it.
\connect template1
CREATE SCHEMA IF NOT EXISTS amcheck;
CREATE EXTENSION IF NOT EXISTS amcheck WITH SCHEMA amcheck;
GRANT USAGE ON SCHEMA amcheck TO runbook;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA amcheck TO runbook;
