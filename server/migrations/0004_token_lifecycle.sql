-- Tokens become things an operator can list, expire and revoke: each has a public id (the
-- hash stays the secret's only trace), an optional expiry, and when it was last used (kept to
-- the minute, so using a token does not write on every request).
ALTER TABLE tokens ADD COLUMN id TEXT;
ALTER TABLE tokens ADD COLUMN expires_at TEXT;
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
UPDATE tokens SET id = 'tok_' || substr(hash, 1, 24) WHERE id IS NULL;
CREATE UNIQUE INDEX tokens_id ON tokens (id);
CREATE INDEX tokens_account ON tokens (account_id);

-- Settings of the deployment the database belongs to; `data_key_fingerprint` says which data
-- key sealed the stored provider keys, so a server started with another key refuses to start.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
