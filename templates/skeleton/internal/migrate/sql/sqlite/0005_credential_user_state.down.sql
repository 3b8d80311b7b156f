ALTER TABLE sessions DROP COLUMN user_state;
ALTER TABLE email_tokens DROP COLUMN user_state;
