-- Up Migration
-- An incident's side effect (page, chat post, status page update) is claimed before it is made, so an
-- overlapping attempt waits instead of making it too, and a crash between the call and its record leaves
-- a pending claim (done_at NULL) that the next attempt resolves instead of repeating the call blindly.
ALTER TABLE incident_side_effects
  ALTER COLUMN done_at DROP NOT NULL,
  ALTER COLUMN done_at DROP DEFAULT,
  ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN claim text,
  ADD COLUMN outcome text NOT NULL DEFAULT 'done' CHECK (outcome IN ('done', 'uncertain'));

-- Down Migration
DELETE FROM incident_side_effects WHERE done_at IS NULL;
ALTER TABLE incident_side_effects
  DROP COLUMN outcome,
  DROP COLUMN claim,
  DROP COLUMN claimed_at,
  ALTER COLUMN done_at SET DEFAULT now(),
  ALTER COLUMN done_at SET NOT NULL;
