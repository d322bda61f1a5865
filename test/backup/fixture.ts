/**
 * A schema that exercises what a dump must carry: sequences (owned and standalone), row-level security
 * policies, functions and triggers, jsonb, a view, large rows (TOASTed text and bytea) and a table without
 * a primary key.
 */
export const FIXTURE_SQL = `
CREATE SCHEMA app;
CREATE SEQUENCE app.invoice_number START 1000 INCREMENT 7;
CREATE TABLE app.users (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  profile jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT '2025-01-01T00:00:00Z'
);
CREATE TABLE app.conversations (
  id uuid PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES app.users (id),
  title text,
  messages jsonb NOT NULL,
  invoice bigint NOT NULL DEFAULT nextval('app.invoice_number')
);
CREATE TABLE app.attachments (
  conversation_id uuid NOT NULL REFERENCES app.conversations (id),
  seq int NOT NULL,
  body text NOT NULL,
  blob bytea NOT NULL,
  PRIMARY KEY (conversation_id, seq)
);
CREATE TABLE app.events (kind text NOT NULL, payload jsonb, at timestamptz NOT NULL DEFAULT now());

ALTER TABLE app.conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_conversations ON app.conversations
  USING (user_id = nullif(current_setting('app.user_id', true), '')::bigint);

CREATE FUNCTION app.touch_title() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.title := coalesce(NEW.title, 'untitled');
  RETURN NEW;
END $$;
CREATE TRIGGER conversations_title BEFORE INSERT ON app.conversations FOR EACH ROW EXECUTE FUNCTION app.touch_title();
CREATE FUNCTION app.message_count(c app.conversations) RETURNS int LANGUAGE sql STABLE AS $$ SELECT jsonb_array_length(c.messages) $$;
CREATE VIEW app.conversation_sizes AS SELECT id, app.message_count(c) AS messages FROM app.conversations c;

INSERT INTO app.users (email, profile)
  SELECT 'user' || g || '@example.com', jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g % 7), 'nested', jsonb_build_object('x', g * 1.5))
  FROM generate_series(1, 500) g;
INSERT INTO app.conversations (id, user_id, title, messages)
  SELECT md5('c' || g)::uuid, 1 + g % 500, CASE WHEN g % 3 = 0 THEN NULL ELSE 'chat ' || g END,
         (SELECT jsonb_agg(jsonb_build_object('role', CASE WHEN m % 2 = 0 THEN 'user' ELSE 'assistant' END, 'text', repeat('word ', m))) FROM generate_series(1, 1 + g % 5) m)
  FROM generate_series(1, 1000) g;
INSERT INTO app.attachments
  SELECT md5('c' || g)::uuid, 1, repeat(md5(g::text), 40000), decode(repeat(md5((g * 7)::text), 2000), 'hex')
  FROM generate_series(1, 20) g;
INSERT INTO app.events (kind, payload) SELECT 'k' || (g % 4), jsonb_build_object('g', g) FROM generate_series(1, 2000) g;
SELECT nextval('app.invoice_number') FROM generate_series(1, 5);
`;

/** The rows the fixture holds per table, as the manifest names them. */
export const FIXTURE_COUNTS: Record<string, number> = {
  'app.attachments': 20,
  'app.conversations': 1000,
  'app.events': 2000,
  'app.users': 500,
};
