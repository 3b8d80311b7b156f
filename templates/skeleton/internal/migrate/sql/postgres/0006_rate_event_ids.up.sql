-- Every rate event gets an id, so that a request that took a slot of a
-- failure limit before checking a password can give back exactly its own
-- event once the password proves right.
ALTER TABLE rate_events ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
