-- Up Migration
-- One row per incident (a run chain of the `incident` workflow: its id is the first run id, so a later
-- incident under the same workflow id gets its own row), its ordered timeline, and its post-mortem.
CREATE TABLE incidents (
  id text PRIMARY KEY,
  workflow_id text NOT NULL,
  dedup_key text NOT NULL,
  title text NOT NULL,
  severity text NOT NULL CHECK (severity IN ('P0', 'P1', 'P2', 'P3')),
  status text NOT NULL CHECK (status IN ('open', 'acknowledged', 'mitigating', 'resolved', 'postmortem', 'closed')),
  service text NOT NULL,
  customer_facing boolean NOT NULL DEFAULT false,
  commander text,
  opened_at timestamptz NOT NULL,
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_at timestamptz,
  resolved_by text,
  closed_at timestamptz,
  statuspage_id text,
  last_seq integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_workflow_id ON incidents (workflow_id, opened_at DESC);
CREATE INDEX incidents_open ON incidents (opened_at DESC) WHERE status <> 'closed';

CREATE TABLE incident_events (
  incident_id text NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  kind text NOT NULL,
  text text NOT NULL,
  data jsonb,
  PRIMARY KEY (incident_id, seq)
);

CREATE TABLE incident_postmortems (
  incident_id text PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
  markdown text NOT NULL,
  action_items jsonb NOT NULL DEFAULT '[]',
  drafted_at timestamptz NOT NULL DEFAULT now(),
  done_at timestamptz,
  done_by text,
  link text,
  root_cause text
);

-- Outbound side effects already done (a page, a chat post), so a retried activity does not repeat them.
CREATE TABLE incident_side_effects (
  effect_id text PRIMARY KEY,
  incident_id text NOT NULL,
  kind text NOT NULL,
  done_at timestamptz NOT NULL DEFAULT now(),
  result jsonb
);

-- Down Migration
DROP TABLE incident_side_effects;
DROP TABLE incident_postmortems;
DROP TABLE incident_events;
DROP TABLE incidents;
