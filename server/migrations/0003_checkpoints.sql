-- Each account's latest checkpoint (SPEC §5.3): the core's own document for the account's
-- first `seq` accepted events, written in the same transaction as the events it covers.
-- Loading a cold account reads it and the events after it, never the whole log.
CREATE TABLE checkpoints (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    seq BIGINT NOT NULL,
    body TEXT NOT NULL
);
