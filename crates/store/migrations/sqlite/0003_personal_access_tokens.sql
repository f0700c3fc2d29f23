-- Tokens a user creates to script the developer API without a browser.
CREATE TABLE personal_access_tokens (
    id           BLOB PRIMARY KEY,
    verifier     BLOB NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX personal_access_tokens_user ON personal_access_tokens (user_id);
