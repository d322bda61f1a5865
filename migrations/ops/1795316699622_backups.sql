-- Up Migration

-- The backup catalogue. One row per backup, keyed by the id of the workflow that took it, so a retried
-- dump updates its own row. A row reads `completed` only after the archive and its manifest are stored.
CREATE TABLE backups (
  id text PRIMARY KEY,
  database text NOT NULL,
  workflow_id text NOT NULL,
  trigger text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'pre-restore')),
  requested_by text NOT NULL,
  reason text,
  status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'deleted')),
  attempt int NOT NULL DEFAULT 1,
  store text NOT NULL,
  object_key text NOT NULL,
  manifest_key text NOT NULL,
  compression text,
  size_bytes bigint,
  sha256 text,
  server_version text,
  pg_dump_version text,
  started_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  error text,
  manifest jsonb,
  verification_status text CHECK (verification_status IN ('passed', 'failed')),
  verified_at timestamptz,
  verification jsonb,
  deleted_at timestamptz,
  deleted_reason text
);
CREATE INDEX backups_database_started ON backups (database, started_at DESC);

-- Restores from a backup or through Supabase point-in-time recovery, with who confirmed them.
CREATE TABLE restores (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('backup', 'pitr')),
  target text NOT NULL,
  backup_id text REFERENCES backups (id),
  pitr_target timestamptz,
  pre_restore_backup_id text REFERENCES backups (id),
  requested_by text NOT NULL,
  confirmed_by text,
  reason text,
  status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'not-confirmed')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  detail jsonb
);

-- Down Migration
DROP TABLE restores;
DROP TABLE backups;
