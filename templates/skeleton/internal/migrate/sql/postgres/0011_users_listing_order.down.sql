DROP INDEX users_created_at;
CREATE INDEX users_created_at ON users (created_at);
