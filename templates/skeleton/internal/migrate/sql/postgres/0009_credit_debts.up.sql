-- Payment reversals (refunds, lost disputes) take back the credits paid
-- for, down to a zero balance and never below it; what could not be taken
-- is a debt, paid first from the next credits in. One claim (a charge's
-- refunds, one dispute) may take credits back in steps, so the journal's
-- one-reversal-per-reference index keeps to consumption refunds, and the
-- claims' entries get an index of their own: a reversal sums them under
-- the account's lock to take back only what its claim has not yet taken.
DROP INDEX credit_journal_refund_once;
CREATE UNIQUE INDEX credit_journal_refund_once ON credit_journal (reference) WHERE kind = 'refund';
CREATE INDEX credit_journal_claims ON credit_journal (user_id, reference) WHERE kind IN ('payment_reversal', 'purchase');

-- A debt is the shortfall of one reversal; remaining falls as it is paid.
CREATE TABLE credit_debts (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES credit_accounts (user_id) ON DELETE CASCADE,
    reference  TEXT NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount > 0),
    remaining  BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    -- The reversal entry that took what the balance held; '' when it held nothing.
    journal_id TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX credit_debts_user ON credit_debts (user_id, reference);
CREATE INDEX credit_debts_open ON credit_debts (user_id, seq) WHERE remaining > 0;

-- Which journal entry paid how much of which debt.
CREATE TABLE credit_debt_payments (
    journal_id TEXT NOT NULL REFERENCES credit_journal (id) ON DELETE CASCADE,
    debt_id    TEXT NOT NULL REFERENCES credit_debts (id) ON DELETE CASCADE,
    amount     BIGINT NOT NULL CHECK (amount > 0),
    PRIMARY KEY (journal_id, debt_id)
);

CREATE INDEX credit_debt_payments_debt ON credit_debt_payments (debt_id);

-- What Stripe says was refunded of a purchase, cumulative, as charge.refunded reports it.
ALTER TABLE purchases ADD COLUMN amount_refunded BIGINT NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0);
CREATE INDEX purchases_payment_intent ON purchases (payment_intent_id) WHERE payment_intent_id <> '';

-- The catalogue in Stripe: each package's product, and the price a changed
-- amount or currency made obsolete, which the next "stripe sync"
-- deactivates (Stripe cannot change a price's amount: a new one is made).
ALTER TABLE credit_packages ADD COLUMN stripe_product_id TEXT;
ALTER TABLE credit_packages ADD COLUMN stale_price_id TEXT;

-- Every Stripe price the sync made for a package, so that a checkout
-- paid at a price since replaced still leads to its package.
CREATE TABLE credit_package_prices (
    price_id   TEXT PRIMARY KEY,
    package_id TEXT NOT NULL REFERENCES credit_packages (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL
);
