-- Rollback of 2025-11-01-initial-schema.sql: drops the application tables, dependants first.
DROP TABLE IF EXISTS javari_logs;
DROP TABLE IF EXISTS api_logs;
DROP TABLE IF EXISTS javari_task_queue;
DROP TABLE IF EXISTS javari_health_checks;
DROP TABLE IF EXISTS javari_messages;
DROP TABLE IF EXISTS javari_conversation_summaries;
DROP TABLE IF EXISTS javari_conversations;
DROP TABLE IF EXISTS users;
