-- Rollback of migrations/20260105090000_initial_schema.sql (policies go with their tables).
DROP TABLE IF EXISTS audit_logs;
DROP TABLE IF EXISTS ai_query_logs;
DROP TABLE IF EXISTS messages;
DROP TABLE IF EXISTS conversations;
DROP TABLE IF EXISTS profiles;
