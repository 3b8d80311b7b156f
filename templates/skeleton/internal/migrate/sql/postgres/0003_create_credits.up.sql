-- Credits: one account per user with a balance that can never go negative,
-- the lots that balance is made of (each with its source, drain priority
-- and optional expiry), the append-only journal of every movement, which
-- lots each debit drained (so a refund restores exactly those), the API keys
-- that spend credits, and the durable job queue for scheduled work.
-- Ids shown to users are random text; numbered columns (seq) only order rows.
CREATE TABLE credit_accounts (
    user_id                TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    balance                BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    low_balance_threshold  BIGINT NOT NULL DEFAULT 0 CHECK (low_balance_threshold >= 0),
    low_balance_notified   BOOLEAN NOT NULL DEFAULT FALSE,
    weekly_summary         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL
);

CREATE TABLE credit_lots (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES credit_accounts (user_id) ON DELETE CASCADE,
    source     TEXT NOT NULL,
    priority   BIGINT NOT NULL,
    amount     BIGINT NOT NULL CHECK (amount > 0),
    remaining  BIGINT NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    expires_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX credit_lots_open ON credit_lots (user_id, priority, seq) WHERE remaining > 0;
CREATE INDEX credit_lots_expiring ON credit_lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;

CREATE TABLE credit_journal (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES credit_accounts (user_id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('purchase', 'grant', 'admin_deduction', 'consumption', 'refund', 'expiry', 'payment_reversal')),
    amount          BIGINT NOT NULL CHECK (amount <> 0),
    balance_after   BIGINT NOT NULL CHECK (balance_after >= 0),
    service         TEXT NOT NULL DEFAULT '',
    reference       TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    actor_id        TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    lot_id          TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (user_id, idempotency_key)
);

CREATE INDEX credit_journal_user ON credit_journal (user_id, seq);
CREATE INDEX credit_journal_created ON credit_journal (created_at);
-- A consumption is refunded at most once, a purchase reversed at most once.
CREATE UNIQUE INDEX credit_journal_refund_once ON credit_journal (reference) WHERE kind IN ('refund', 'payment_reversal');

CREATE TABLE credit_drains (
    journal_id TEXT NOT NULL REFERENCES credit_journal (id) ON DELETE CASCADE,
    lot_id     TEXT NOT NULL REFERENCES credit_lots (id) ON DELETE CASCADE,
    amount     BIGINT NOT NULL CHECK (amount > 0),
    PRIMARY KEY (journal_id, lot_id)
);

-- One row per service run: what was asked, what it cost (the journal entry
-- of the charge) and how it ended. A run whose process died stays 'running'
-- until the recovery job refunds it.
CREATE TABLE service_runs (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    service         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    cost            BIGINT NOT NULL DEFAULT 0,
    journal_id      TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT,
    input           TEXT NOT NULL DEFAULT '{}',
    output          TEXT NOT NULL DEFAULT '{}',
    error           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    UNIQUE (user_id, idempotency_key)
);

CREATE INDEX service_runs_user ON service_runs (user_id, seq);
CREATE INDEX service_runs_running ON service_runs (created_at) WHERE status = 'running';

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);

CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE jobs (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT NOT NULL,
    unique_key    TEXT UNIQUE,
    payload       TEXT NOT NULL DEFAULT '',
    run_at        TIMESTAMPTZ NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    claimed_until TIMESTAMPTZ,
    done_at       TIMESTAMPTZ,
    failed_at     TIMESTAMPTZ,
    last_error    TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL
);

CREATE INDEX jobs_due ON jobs (run_at) WHERE done_at IS NULL AND failed_at IS NULL;
