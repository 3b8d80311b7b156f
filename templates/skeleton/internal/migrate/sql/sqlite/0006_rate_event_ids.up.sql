-- Every rate event gets an id, so that a request that took a slot of a
-- failure limit before checking a password can give back exactly its own
-- event once the password proves right. SQLite cannot add a primary key
-- to a table: the table is rebuilt, keeping its events.
CREATE TABLE rate_events_new (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    at     TIMESTAMP NOT NULL
);
INSERT INTO rate_events_new (bucket, at) SELECT bucket, at FROM rate_events;
DROP TABLE rate_events;
ALTER TABLE rate_events_new RENAME TO rate_events;
CREATE INDEX rate_events_bucket_at ON rate_events (bucket, at);
