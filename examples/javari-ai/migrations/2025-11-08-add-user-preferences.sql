-- The runbook's own example migration (Database Operations → Running Migrations).
-- gen_random_uuid() is built into PostgreSQL 13+, so this does not need the uuid-ossp extension.
CREATE TABLE javari_user_preferences (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID REFERENCES auth.users(id),
  preferences JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ DEFAULT NOW(),
  updated_at TIMESTAMPTZ DEFAULT NOW()
);

ALTER TABLE javari_user_preferences ENABLE ROW LEVEL SECURITY;

CREATE POLICY "Users can manage own preferences"
  ON javari_user_preferences
  FOR ALL
  USING (auth.uid() = user_id);
