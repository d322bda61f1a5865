-- AI Query Hub: the application schema the production runbook's checks read (Weekly Operations →
-- Security Audit, the Database Performance Check, High Error Rates, High AI Costs).
-- Supabase convention: `npx supabase db push` applies supabase/migrations; the rollback lives in
-- supabase/rollbacks/ under the same name (a -rollback.sql here would itself be pushed).

CREATE TABLE profiles (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  email TEXT NOT NULL UNIQUE,
  display_name TEXT,
  role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  daily_query_limit INTEGER NOT NULL DEFAULT 200,   -- Rate Limiting: per-user limits
  blocked BOOLEAN NOT NULL DEFAULT false,
  blocked_reason TEXT,
  telegram_chat_id TEXT,
  slack_user_id TEXT,
  last_sign_in_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE TABLE conversations (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  channel TEXT NOT NULL DEFAULT 'web' CHECK (channel IN ('web', 'telegram', 'slack')),
  title TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX conversations_user_id_idx ON conversations (user_id);

CREATE TABLE messages (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  conversation_id UUID NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  user_id UUID NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  content TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX messages_conversation_id_idx ON messages (conversation_id);
CREATE INDEX messages_created_at_idx ON messages (created_at);

-- One row per Edge Function call (ai-query, telegram-webhook, slack-webhook): status and latency for
-- "High Response Times" / ">5% error rate in Edge Functions", model tier, tokens and cost for "High AI Costs".
CREATE TABLE ai_query_logs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id UUID,                                      -- no foreign key: request logs outlive accounts
  conversation_id UUID,
  function_name TEXT NOT NULL,
  channel TEXT NOT NULL DEFAULT 'web' CHECK (channel IN ('web', 'telegram', 'slack')),
  provider TEXT,                                     -- anthropic, openrouter
  model TEXT,
  model_tier TEXT CHECK (model_tier IN ('CHEAP', 'FAST', 'SMART')),
  status INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  tokens INTEGER NOT NULL DEFAULT 0,
  cost NUMERIC(12, 6) NOT NULL DEFAULT 0,            -- US dollars
  deployment_id TEXT,
  error TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX ai_query_logs_created_at_idx ON ai_query_logs (created_at);
CREATE INDEX ai_query_logs_user_id_created_at_idx ON ai_query_logs (user_id, created_at);

-- Security Audit and the performance check's "RLS Violations": action_type over created_at.
CREATE TABLE audit_logs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id UUID,
  action_type TEXT NOT NULL,                         -- sign_in, auth_failure, security_violation, suspicious_activity, rls_violation, …
  resource TEXT,
  ip_address INET,
  user_agent TEXT,
  details JSONB NOT NULL DEFAULT '{}'::jsonb,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
CREATE INDEX audit_logs_created_at_action_type_idx ON audit_logs (created_at, action_type);

ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Users read own profile" ON profiles FOR SELECT USING (auth.uid() = id);
CREATE POLICY "Users manage own conversations" ON conversations FOR ALL USING (auth.uid() = user_id);
CREATE POLICY "Users manage own messages" ON messages FOR ALL USING (auth.uid() = user_id);
