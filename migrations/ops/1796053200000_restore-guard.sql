-- Up Migration

-- The restore guard: the plan shown before the confirmation (backup, its age, its verification), whether a
-- failed or never-verified backup was accepted on purpose (the reason is in `reason`), and the point-in-time
-- request's fate, written before the request goes out so a retry never sends a second one.
ALTER TABLE restores
  ADD COLUMN plan jsonb,
  ADD COLUMN allow_unverified boolean NOT NULL DEFAULT false,
  ADD COLUMN pitr_request text CHECK (pitr_request IN ('sent', 'accepted', 'refused')),
  ADD COLUMN pitr_requested_at timestamptz;

-- Down Migration
ALTER TABLE restores DROP COLUMN pitr_requested_at, DROP COLUMN pitr_request, DROP COLUMN allow_unverified, DROP COLUMN plan;
