-- Up Migration
-- Security incident evidence: tables whose rows the maintenance cleanup must not delete while an incident holds them.
CREATE TABLE evidence_holds (
  hold_id text NOT NULL,
  database text NOT NULL,
  -- as PostgreSQL prints the table (to_regclass(...)::text on the app database)
  table_name text NOT NULL,
  incident_id text,
  reason text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  released_at timestamptz,
  PRIMARY KEY (hold_id, database, table_name)
);
CREATE INDEX evidence_holds_open_idx ON evidence_holds (database, table_name) WHERE released_at IS NULL;

-- Down Migration
DROP TABLE evidence_holds;
