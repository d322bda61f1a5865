-- Up Migration
CREATE TABLE self_checks (
  id bigserial PRIMARY KEY,
  requested_by text NOT NULL,
  workflow_id text NOT NULL,
  server_version text NOT NULL,
  checked_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE self_checks;
