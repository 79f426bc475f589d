-- Webhooks: where the host app hears of an account's alerts (the core's `alerts`), and the
-- log of deliveries. A webhook's signing secret is kept only sealed with the data key (as
-- provider keys are), bound to "webhook:<account>/<id>".
CREATE TABLE webhooks (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    nonce TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (account_id, id)
);

-- One row per webhook and alert: the primary key is what makes each alert (one per threshold
-- per cycle, or per pack) delivered once, across restarts and several servers. `next_at` and
-- `claimed_until` are Unix milliseconds: a server claims a due delivery by setting
-- `claimed_until`, so two servers never send the same one at once. `state`: pending,
-- delivered, or failed (given up after the last retry, or its webhook removed).
CREATE TABLE webhook_deliveries (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    webhook_id TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    claimed_until BIGINT,
    last_status BIGINT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    PRIMARY KEY (account_id, webhook_id, alert_id)
);
CREATE UNIQUE INDEX webhook_deliveries_id ON webhook_deliveries (id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);
