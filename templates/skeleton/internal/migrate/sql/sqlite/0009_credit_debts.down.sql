-- Refuse, before changing anything, when the journal holds what the old
-- unique index forbids: SQLite has no procedural block, so a trigger on a
-- scratch table raises the message.
CREATE TEMP TABLE migration_0009_down_guard (shared INTEGER NOT NULL);
CREATE TEMP TRIGGER migration_0009_down_refuses BEFORE INSERT ON migration_0009_down_guard WHEN NEW.shared > 0
BEGIN
    SELECT RAISE(ABORT, 'cannot revert migration 0009: the credit journal holds several refund or payment_reversal entries of one reference (a charge refunded in parts), which the unique index this step restores forbids; keep 0009, or restore a backup taken before it');
END;
INSERT INTO migration_0009_down_guard
    SELECT COUNT(*) FROM (SELECT reference FROM credit_journal WHERE kind IN ('refund', 'payment_reversal') GROUP BY reference HAVING COUNT(*) > 1);
DROP TABLE migration_0009_down_guard;
DROP TABLE credit_package_prices;
ALTER TABLE credit_packages DROP COLUMN stale_price_id;
ALTER TABLE credit_packages DROP COLUMN stripe_product_id;
DROP INDEX purchases_payment_intent;
ALTER TABLE purchases DROP COLUMN amount_refunded;
DROP TABLE credit_debt_payments;
DROP TABLE credit_debts;
DROP INDEX credit_journal_claims;
DROP INDEX credit_journal_refund_once;
CREATE UNIQUE INDEX credit_journal_refund_once ON credit_journal (reference) WHERE kind IN ('refund', 'payment_reversal');
