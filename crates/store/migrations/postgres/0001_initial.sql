-- Times are Unix seconds. Ids of credentials are 16-byte, time-ordered row ids;
-- "verifier" columns hold the SHA-256 of the credential, never the credential.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE clients (
    id                         TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    description                TEXT NOT NULL DEFAULT '',
    homepage                   TEXT,
    owner_id                   TEXT REFERENCES users (id) ON DELETE CASCADE,
    public                     BOOLEAN NOT NULL,
    secret_verifier            BYTEA,
    previous_secret_verifier   BYTEA,
    previous_secret_expires_at BIGINT,
    grant_types                TEXT NOT NULL,
    scopes                     TEXT NOT NULL,
    access_token_ttl           BIGINT,
    refresh_token_ttl          BIGINT,
    refresh_token_idle_ttl     BIGINT,
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL
);
CREATE UNIQUE INDEX clients_owner_name ON clients (COALESCE(owner_id, ''), name);

CREATE TABLE client_redirect_uris (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    uri       TEXT NOT NULL,
    PRIMARY KEY (client_id, position),
    UNIQUE (client_id, uri)
);

CREATE TABLE scopes (
    name            TEXT PRIMARY KEY,
    label           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    required_claims TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);

CREATE TABLE consents (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client ON consents (client_id);

-- A grant is one authorization and everything issued from it (a token family).
CREATE TABLE grants (
    id         BYTEA PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    claims     TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX grants_user_client ON grants (user_id, client_id);
CREATE INDEX grants_client ON grants (client_id);

CREATE TABLE authorization_codes (
    id             BYTEA PRIMARY KEY,
    verifier       BYTEA NOT NULL,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    redirect_uri_given BOOLEAN NOT NULL,
    scopes         TEXT NOT NULL,
    claims         TEXT NOT NULL DEFAULT '{}',
    code_challenge TEXT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT,
    grant_id       BYTEA
);

CREATE TABLE access_tokens (
    id         BYTEA PRIMARY KEY,
    verifier   BYTEA NOT NULL,
    grant_id   BYTEA REFERENCES grants (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    claims     TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    id               BYTEA PRIMARY KEY,
    verifier         BYTEA NOT NULL,
    grant_id         BYTEA NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id        TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id          TEXT REFERENCES users (id) ON DELETE CASCADE,
    scopes           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    rotated_at       BIGINT,
    successor_id     BYTEA,
    successor_access_id BYTEA,
    revoked_at       BIGINT
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE device_codes (
    id             BYTEA PRIMARY KEY,
    verifier       BYTEA NOT NULL,
    user_code      BYTEA NOT NULL UNIQUE,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes         TEXT NOT NULL,
    status         TEXT NOT NULL,
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    interval_secs  BIGINT NOT NULL,
    last_polled_at BIGINT,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);

CREATE TABLE sessions (
    id           BYTEA PRIMARY KEY,
    verifier     BYTEA NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- No foreign keys: the history outlives what it talks about.
CREATE TABLE audit_events (
    id        BIGSERIAL PRIMARY KEY,
    at        BIGINT NOT NULL,
    kind      TEXT NOT NULL,
    user_id   TEXT,
    client_id TEXT,
    ip        TEXT,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events (at);

-- Keys the server generates once and every node shares (for example the
-- key that derives a rotated refresh token's successor).
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
