-- The journal summed by account and kind, kept by a trigger in the
-- transaction of every entry: the admin overview's ledger-wide totals sum
-- these rows (a few per account) instead of every entry ever written,
-- which took over a second at a million entries. An entry is only ever
-- inserted, and an account's deletion cascades to both tables, so the sums
-- stay the journal's; `credits check` verifies they do. The account's row
-- is already locked by the entry's transaction, so the trigger's write
-- waits on nothing new.
CREATE TABLE credit_totals (
    user_id TEXT NOT NULL REFERENCES credit_accounts (user_id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    amount  INTEGER NOT NULL,
    entries INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);

INSERT INTO credit_totals (user_id, kind, amount, entries)
SELECT user_id, kind, SUM(amount), COUNT(*) FROM credit_journal GROUP BY user_id, kind;

CREATE TRIGGER credit_totals_add AFTER INSERT ON credit_journal
BEGIN
    INSERT INTO credit_totals (user_id, kind, amount, entries) VALUES (NEW.user_id, NEW.kind, NEW.amount, 1)
    ON CONFLICT (user_id, kind) DO UPDATE SET amount = amount + excluded.amount, entries = entries + 1;
END;
