-- Provider keys (SPEC §3 rule 7) and the audit log of their changes.

-- One row per account and provider. The key itself is only ever here encrypted: AES-256-GCM
-- ciphertext (with its tag) and its random nonce, in hex, bound to "account/provider".
-- `state` is `connected` or `rejected` (as tested when saved) or `invalid` (refused later by
-- the provider, as the host app reported); `reason` says why in a short code.
CREATE TABLE provider_keys (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    provider TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    nonce TEXT NOT NULL,
    last4 TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    tested_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, provider)
);

-- Every change to an account's keys and the model selections they forced: who, when, what.
-- Never the key. `seq` orders entries (microseconds, strictly increasing within a process).
CREATE TABLE audit (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    member TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    provider TEXT,
    detail TEXT
);
CREATE INDEX audit_account ON audit (account_id, seq);
