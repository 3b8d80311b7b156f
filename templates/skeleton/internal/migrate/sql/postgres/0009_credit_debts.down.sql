ALTER TABLE credit_packages DROP COLUMN stale_price_id;
ALTER TABLE credit_packages DROP COLUMN stripe_product_id;
DROP INDEX purchases_payment_intent;
ALTER TABLE purchases DROP COLUMN amount_refunded;
DROP TABLE credit_debt_payments;
DROP TABLE credit_debts;
DROP INDEX credit_journal_claims;
DROP INDEX credit_journal_refund_once;
CREATE UNIQUE INDEX credit_journal_refund_once ON credit_journal (reference) WHERE kind IN ('refund', 'payment_reversal');
