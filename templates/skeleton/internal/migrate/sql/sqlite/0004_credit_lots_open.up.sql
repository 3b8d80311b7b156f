-- The same column and indexes as on PostgreSQL, where naming remaining in
-- the open lots' index predicates made every debit's lot update rewrite
-- each index; SQLite has no such cost, but the queries are shared.
ALTER TABLE credit_lots ADD COLUMN open BOOLEAN GENERATED ALWAYS AS (remaining > 0) VIRTUAL;

DROP INDEX credit_lots_open;
DROP INDEX credit_lots_expiring;
CREATE INDEX credit_lots_open ON credit_lots (user_id, priority, seq) WHERE open;
CREATE INDEX credit_lots_expiring ON credit_lots (expires_at) WHERE open AND expires_at IS NOT NULL;
