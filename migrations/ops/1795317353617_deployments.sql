-- Up Migration
-- One row per deploy or rollback workflow: who, what, the checklist gates, the watch and the verdict.
CREATE TABLE deployments (
  workflow_id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('deploy', 'rollback')),
  service text NOT NULL,
  platform text NOT NULL,
  ref text,
  sha text,
  requested_by text NOT NULL,
  hotfix_reason text,
  reason text,
  incident_id text,
  preview_deployment_id text,
  production_deployment_id text,
  previous_deployment_id text,
  gates jsonb NOT NULL DEFAULT '[]',
  migrations jsonb,
  watch jsonb,
  rollback jsonb,
  verdict text NOT NULL,
  verdict_reason text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL
);
CREATE INDEX deployments_service_finished ON deployments (service, finished_at DESC);

-- Down Migration
DROP TABLE deployments;
