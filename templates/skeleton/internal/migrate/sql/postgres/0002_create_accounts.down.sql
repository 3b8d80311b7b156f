DROP TABLE audit_log;
DROP TABLE outbox;
DROP TABLE rate_events;
DROP TABLE sessions;
DROP TABLE email_tokens;
DROP TABLE users;
