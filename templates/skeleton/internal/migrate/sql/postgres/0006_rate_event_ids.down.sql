ALTER TABLE rate_events DROP COLUMN id;
