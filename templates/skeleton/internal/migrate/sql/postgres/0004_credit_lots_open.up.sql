-- A debit lowers its lots' remaining credits. The indexes of open lots
-- used to name remaining in their predicates, which made every such update
-- write a new entry in each index of the table (no heap-only update) and
-- left a hot account's lots under thousands of dead entries until vacuum.
-- They now name open, which changes only when a lot empties or refills.
ALTER TABLE credit_lots ADD COLUMN open BOOLEAN GENERATED ALWAYS AS (remaining > 0) STORED;

DROP INDEX credit_lots_open;
DROP INDEX credit_lots_expiring;
CREATE INDEX credit_lots_open ON credit_lots (user_id, priority, seq) WHERE open;
CREATE INDEX credit_lots_expiring ON credit_lots (expires_at) WHERE open AND expires_at IS NOT NULL;
