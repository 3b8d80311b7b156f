CREATE TABLE rate_events_old (
    bucket TEXT NOT NULL,
    at     TIMESTAMP NOT NULL
);
INSERT INTO rate_events_old (bucket, at) SELECT bucket, at FROM rate_events;
DROP TABLE rate_events;
ALTER TABLE rate_events_old RENAME TO rate_events;
CREATE INDEX rate_events_bucket_at ON rate_events (bucket, at);
