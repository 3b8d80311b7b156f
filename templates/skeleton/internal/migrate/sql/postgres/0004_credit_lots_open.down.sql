DROP INDEX credit_lots_open;
DROP INDEX credit_lots_expiring;
ALTER TABLE credit_lots DROP COLUMN open;
CREATE INDEX credit_lots_open ON credit_lots (user_id, priority, seq) WHERE remaining > 0;
CREATE INDEX credit_lots_expiring ON credit_lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;
