-- The backend's tables, in SQL that SQLite and PostgreSQL both read.
-- Times are RFC 3339 text in UTC (the core's format); events and entries are SPEC §4 JSON.

-- One row per account; the row is what a writer locks. `version` moves whenever the account
-- changes (an accepted event, or `now_at` moving for an event refused after its time check),
-- so an in-process ledger cache keyed by (id, version) is never trusted over this row.
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    plan TEXT NOT NULL,
    cycle_anchor TEXT NOT NULL,
    now_at TEXT,
    version BIGINT NOT NULL DEFAULT 0,
    event_count BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

-- Accepted events, in order (seq = 1, 2, …), as the core wrote them back (`Event::to_json`);
-- `entry` is the entry the event produced, so a retry and the entries feed return the original.
CREATE TABLE events (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    seq BIGINT NOT NULL,
    idem_id TEXT,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    entry TEXT,
    PRIMARY KEY (account_id, seq)
);
-- Idempotency ids are unique per account (NULLs, for kinds without an id, are distinct).
CREATE UNIQUE INDEX events_idem_id ON events (account_id, idem_id);

-- Bearer tokens of an account, stored as the SHA-256 of the token (hex); the token is shown once.
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    member TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Pack purchases the payment processor accepted, written in the same transaction as the
-- purchase event: a retried purchase finds its charge and is never charged twice.
CREATE TABLE charges (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    idem_id TEXT NOT NULL,
    pack TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    member TEXT NOT NULL,
    charged_at TEXT NOT NULL,
    processor_charge_id TEXT NOT NULL,
    PRIMARY KEY (account_id, idem_id)
);
