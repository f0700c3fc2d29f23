-- Sealed (self-validating) access tokens have no row; revoking one before
-- it expires puts its id here, and every node keeps this list in memory.
CREATE TABLE revoked_access_tokens (
    id         BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX revoked_access_tokens_revoked ON revoked_access_tokens (revoked_at);
CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens (expires_at);
