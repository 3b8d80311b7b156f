-- Billing: the catalogue of credit packages users buy, each user's Stripe
-- customer, one purchase row per checkout (ours, made before Stripe hears
-- of it, so its id keys the checkout), and every Stripe event received,
-- kept for audit. Amounts are in the currency's minor unit (cents; yen
-- for zero-decimal currencies), as Stripe counts them.
CREATE TABLE credit_packages (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL CHECK (name <> ''),
    credits         BIGINT NOT NULL CHECK (credits > 0 AND credits <= 1000000000),
    unit_amount     BIGINT NOT NULL CHECK (unit_amount > 0),
    currency        TEXT NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
    sort_order      BIGINT NOT NULL DEFAULT 0,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    -- The Stripe price that sells this package; NULL until it is synced.
    stripe_price_id TEXT UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);

CREATE INDEX credit_packages_order ON credit_packages (sort_order, id) WHERE active;

CREATE TABLE stripe_customers (
    user_id     TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

-- What the user was sold (credits, amount, currency) is copied from the
-- package when the purchase starts. A purchase is granted at most once:
-- its grant's idempotency key is the checkout session's id, and
-- journal_id names the ledger entry.
CREATE TABLE purchases (
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    package_id          TEXT NOT NULL REFERENCES credit_packages (id),
    status              TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'expired', 'refunded')),
    credits             BIGINT NOT NULL CHECK (credits > 0),
    amount              BIGINT NOT NULL CHECK (amount > 0),
    currency            TEXT NOT NULL,
    checkout_session_id TEXT UNIQUE,
    payment_intent_id   TEXT NOT NULL DEFAULT '',
    journal_id          TEXT NOT NULL DEFAULT '',
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    paid_at             TIMESTAMPTZ
);

CREATE INDEX purchases_user ON purchases (user_id, seq);
CREATE INDEX purchases_pending ON purchases (created_at) WHERE status = 'pending';

-- One row per Stripe event, however often it is delivered: processed_at
-- is set only once its work has committed, so a delivery of an event
-- whose work failed is worked again.
CREATE TABLE stripe_events (
    event_id     TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    object_id    TEXT NOT NULL DEFAULT '',
    livemode     BOOLEAN NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ
);

CREATE INDEX stripe_events_received ON stripe_events (received_at);
