-- Conversations with the assistant, kept per account and member (they are people's, not the
-- business's: nobody else reads them). The gateway writes a turn for each call that names a
-- conversation (`AI-Credits-Conversation`), once the call is charged: the person's message,
-- the reply, and what the call's entry cost. Times in the core's UTC format.
CREATE TABLE conversations (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    member TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    turns BIGINT NOT NULL,
    credits BIGINT NOT NULL,
    PRIMARY KEY (account_id, member, id)
);
CREATE INDEX conversations_recent ON conversations (account_id, member, updated_at);

-- One row per call: `entry_id` is the call's entry in the ledger (one turn per entry).
-- `credits` is the entry's cost (0 when billed to the business's own key); the tokens are the
-- entry's (`estimated`: the core's estimate, the provider reported none).
CREATE TABLE conversation_turns (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    entry_id TEXT NOT NULL,
    member TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    at TEXT NOT NULL,
    model TEXT NOT NULL,
    feature TEXT,
    message TEXT NOT NULL,
    reply TEXT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    credits BIGINT NOT NULL,
    billed_to TEXT NOT NULL,
    estimated BIGINT NOT NULL,
    PRIMARY KEY (account_id, entry_id)
);
CREATE INDEX conversation_turns_of ON conversation_turns (account_id, member, conversation_id, at);
