-- Refuse, before changing anything, when the journal holds what the old
-- unique index forbids.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM credit_journal WHERE kind IN ('refund', 'payment_reversal') GROUP BY reference HAVING COUNT(*) > 1) THEN
        RAISE EXCEPTION 'cannot revert migration 0009: the credit journal holds several refund or payment_reversal entries of one reference (a charge refunded in parts), which the unique index this step restores forbids; keep 0009, or restore a backup taken before it';
    END IF;
END $$;
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
