-- Tokens a user creates to script the developer API without a browser.
CREATE TABLE personal_access_tokens (
    id           BYTEA PRIMARY KEY,
    verifier     BYTEA NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX personal_access_tokens_user ON personal_access_tokens (user_id);
