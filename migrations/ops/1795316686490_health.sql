-- Up Migration

-- One row per healthCheck run; `changes` keeps the alert transitions it produced so an activity retry
-- returns the same transitions instead of computing them again against already-updated state.
CREATE TABLE health_runs (
  id bigserial PRIMARY KEY,
  workflow_id text NOT NULL,
  run_id text NOT NULL,
  checked_at timestamptz NOT NULL DEFAULT now(),
  failing int NOT NULL,
  total int NOT NULL,
  changes jsonb NOT NULL DEFAULT '[]',
  UNIQUE (workflow_id, run_id)
);

CREATE TABLE health_results (
  run_id bigint NOT NULL REFERENCES health_runs (id) ON DELETE CASCADE,
  check_key text NOT NULL,
  service text NOT NULL,
  check_name text NOT NULL,
  status text NOT NULL CHECK (status IN ('ok', 'info', 'warning', 'critical', 'unknown')),
  summary text NOT NULL,
  value double precision,
  unit text,
  details jsonb,
  PRIMARY KEY (run_id, check_key)
);
CREATE INDEX health_results_key ON health_results (check_key, run_id DESC);

-- Last alerting state per check: only a change is sent to the alert path, so a steady failure does not spam.
CREATE TABLE health_alert_state (
  check_key text PRIMARY KEY,
  status text NOT NULL CHECK (status IN ('ok', 'warning', 'critical')),
  severity text,
  summary text NOT NULL,
  since timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  workflow_id text NOT NULL
);

CREATE TABLE maintenance_reports (
  id bigserial PRIMARY KEY,
  workflow_id text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('daily', 'weekly', 'monthly', 'quarterly')),
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now(),
  failed_steps int NOT NULL,
  steps jsonb NOT NULL,
  markdown text NOT NULL
);

-- Batched cleanup ledger. A batch is written as `pending` with its transaction id before the target
-- database commits it, so a resumed attempt asks the target (txid_status) whether it committed and
-- counts every deleted row exactly once.
CREATE TABLE maintenance_cleanup_runs (
  run_key text NOT NULL,
  policy text NOT NULL,
  database text NOT NULL,
  table_name text NOT NULL,
  cutoff timestamptz NOT NULL,
  attempt int NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (run_key, policy)
);

CREATE TABLE maintenance_cleanup_batches (
  run_key text NOT NULL,
  policy text NOT NULL,
  batch_no int NOT NULL,
  attempt int NOT NULL,
  xid bigint NOT NULL,
  rows_deleted int NOT NULL,
  last_pk text,
  state text NOT NULL CHECK (state IN ('pending', 'committed', 'aborted')),
  PRIMARY KEY (run_key, policy, batch_no),
  FOREIGN KEY (run_key, policy) REFERENCES maintenance_cleanup_runs (run_key, policy) ON DELETE CASCADE
);

-- Capacity planning: one size per database per day, compared month over month.
CREATE TABLE database_size_history (
  database text NOT NULL,
  measured_on date NOT NULL,
  size_bytes bigint NOT NULL,
  measured_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (database, measured_on)
);

-- Down Migration
DROP TABLE database_size_history;
DROP TABLE maintenance_cleanup_batches;
DROP TABLE maintenance_cleanup_runs;
DROP TABLE maintenance_reports;
DROP TABLE health_alert_state;
DROP TABLE health_results;
DROP TABLE health_runs;
