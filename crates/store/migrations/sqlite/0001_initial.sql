-- Times are Unix seconds. Ids of credentials are 16-byte, time-ordered row ids;
-- "verifier" columns hold the SHA-256 of the credential, never the credential.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    email         TEXT,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE clients (
    id                         TEXT PRIMARY KEY,
    name                       TEXT NOT NULL,
    description                TEXT NOT NULL DEFAULT '',
    homepage                   TEXT,
    owner_id                   TEXT REFERENCES users (id) ON DELETE CASCADE,
    public                     INTEGER NOT NULL,
    secret_verifier            BLOB,
    previous_secret_verifier   BLOB,
    previous_secret_expires_at INTEGER,
    grant_types                TEXT NOT NULL,
    scopes                     TEXT NOT NULL,
    access_token_ttl           INTEGER,
    refresh_token_ttl          INTEGER,
    refresh_token_idle_ttl     INTEGER,
    created_at                 INTEGER NOT NULL,
    updated_at                 INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX clients_owner_name ON clients (COALESCE(owner_id, ''), name);

CREATE TABLE client_redirect_uris (
    client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    uri       TEXT NOT NULL,
    PRIMARY KEY (client_id, position),
    UNIQUE (client_id, uri)
) STRICT;

CREATE TABLE scopes (
    name            TEXT PRIMARY KEY,
    label           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    required_claims TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE consents (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, client_id)
) STRICT;
CREATE INDEX consents_client ON consents (client_id);

-- A grant is one authorization and everything issued from it (a token family).
CREATE TABLE grants (
    id         BLOB PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    claims     TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX grants_user_client ON grants (user_id, client_id);
CREATE INDEX grants_client ON grants (client_id);

CREATE TABLE authorization_codes (
    id             BLOB PRIMARY KEY,
    verifier       BLOB NOT NULL,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    redirect_uri_given INTEGER NOT NULL,
    scopes         TEXT NOT NULL,
    claims         TEXT NOT NULL DEFAULT '{}',
    code_challenge TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    consumed_at    INTEGER,
    grant_id       BLOB
) STRICT, WITHOUT ROWID;

CREATE TABLE access_tokens (
    id         BLOB PRIMARY KEY,
    verifier   BLOB NOT NULL,
    grant_id   BLOB REFERENCES grants (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id    TEXT REFERENCES users (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    claims     TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    id               BLOB PRIMARY KEY,
    verifier         BLOB NOT NULL,
    grant_id         BLOB NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    client_id        TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id          TEXT REFERENCES users (id) ON DELETE CASCADE,
    scopes           TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    rotated_at       INTEGER,
    successor_id     BLOB,
    successor_access_id BLOB,
    revoked_at       INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

CREATE TABLE device_codes (
    id             BLOB PRIMARY KEY,
    verifier       BLOB NOT NULL,
    user_code      BLOB NOT NULL UNIQUE,
    client_id      TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes         TEXT NOT NULL,
    status         TEXT NOT NULL,
    user_id        TEXT REFERENCES users (id) ON DELETE CASCADE,
    interval_secs  INTEGER NOT NULL,
    last_polled_at INTEGER,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE sessions (
    id           BLOB PRIMARY KEY,
    verifier     BLOB NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

-- No foreign keys: the history outlives what it talks about.
CREATE TABLE audit_events (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    user_id   TEXT,
    client_id TEXT,
    ip        TEXT,
    detail    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_events_at ON audit_events (at);

-- Keys the server generates once and every node shares (for example the
-- key that derives a rotated refresh token's successor).
CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;
