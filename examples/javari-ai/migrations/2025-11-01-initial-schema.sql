-- Javari AI: the application schema every query in the operations runbook reads or writes.
-- Applied by `runbook deploy` (deploy.migrationsDir) like any app migration, and by `npm start`
-- on the embedded app database. Rollback: 2025-11-01-initial-schema-rollback.sql.

-- Accounts. Playbook 2 (High Error Rate) sets rate_limit; High AI Costs sets blocked / blocked_reason.
CREATE TABLE users (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  email TEXT NOT NULL UNIQUE,
  full_name TEXT,
  plan TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'team')),
  credits INTEGER NOT NULL DEFAULT 100,
  rate_limit INTEGER NOT NULL DEFAULT 60,            -- requests per minute
  blocked BOOLEAN NOT NULL DEFAULT false,
  blocked_reason TEXT,
  last_sign_in_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE javari_conversations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  title TEXT,
  model TEXT,
  message_count INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX javari_conversations_user_id_idx ON javari_conversations (user_id);

-- Data Cleanup: "Keep only last 90 days".
CREATE TABLE javari_conversation_summaries (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id UUID NOT NULL REFERENCES javari_conversations(id) ON DELETE CASCADE,
  summary TEXT NOT NULL,
  message_count INTEGER NOT NULL DEFAULT 0,
  tokens INTEGER NOT NULL DEFAULT 0,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX javari_conversation_summaries_created_at_idx ON javari_conversation_summaries (created_at);

-- Chat messages with what each AI answer cost (Cost Alert, High AI Costs, Chat Not Responding).
CREATE TABLE javari_messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id UUID NOT NULL REFERENCES javari_conversations(id) ON DELETE CASCADE,
  user_id UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  content TEXT NOT NULL DEFAULT '',
  provider TEXT,                                     -- openai, anthropic, google, mistral
  model TEXT,
  tokens INTEGER NOT NULL DEFAULT 0,
  cost NUMERIC(12, 6) NOT NULL DEFAULT 0,            -- US dollars
  latency_ms INTEGER,
  error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX javari_messages_created_at_idx ON javari_messages (created_at);
CREATE INDEX javari_messages_user_id_created_at_idx ON javari_messages (user_id, created_at);
CREATE INDEX javari_messages_conversation_id_idx ON javari_messages (conversation_id);

-- The app's own health check (every 5 minutes); Data Cleanup: "Keep only last 30 days".
CREATE TABLE javari_health_checks (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('healthy', 'degraded', 'unhealthy')),
  checks JSONB NOT NULL DEFAULT '{}'::jsonb,
  latency_ms INTEGER,
  version TEXT,
  deployment_id TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX javari_health_checks_created_at_idx ON javari_health_checks (created_at);

-- Background tasks; Data Cleanup: "Remove tasks that failed > 7 days ago".
CREATE TABLE javari_task_queue (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id UUID REFERENCES users(id) ON DELETE SET NULL,
  task_type TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  payload JSONB NOT NULL DEFAULT '{}'::jsonb,
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  started_at TIMESTAMPTZ,
  completed_at TIMESTAMPTZ
);
CREATE INDEX javari_task_queue_status_completed_at_idx ON javari_task_queue (status, completed_at);

-- One row per API request (Error Rate Alert: status >= 500 over the last hour).
CREATE TABLE api_logs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  method TEXT NOT NULL DEFAULT 'GET',
  endpoint TEXT NOT NULL,
  status INTEGER NOT NULL,
  latency INTEGER NOT NULL,                          -- milliseconds
  user_id UUID,                                      -- no foreign key: request logs outlive accounts
  deployment_id TEXT,
  error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX api_logs_created_at_idx ON api_logs (created_at);

-- Application log (Search Specific User Logs, Analyze API Performance).
CREATE TABLE javari_logs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id UUID,
  level TEXT NOT NULL DEFAULT 'info' CHECK (level IN ('debug', 'info', 'warn', 'error')),
  action TEXT NOT NULL,
  duration INTEGER,                                  -- milliseconds
  metadata JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX javari_logs_created_at_idx ON javari_logs (created_at);
CREATE INDEX javari_logs_user_id_created_at_idx ON javari_logs (user_id, created_at);
