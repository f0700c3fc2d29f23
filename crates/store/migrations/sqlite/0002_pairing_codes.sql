-- One-time codes a signed-in user obtains for an app (the "get-access"
-- flow) and types into a device, which exchanges it at the token endpoint.
-- "lookup" is a keyed hash of the normalised code, never the code.
CREATE TABLE pairing_codes (
    id          BLOB PRIMARY KEY,
    lookup      BLOB NOT NULL UNIQUE,
    client_id   TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX device_codes_expires ON device_codes (expires_at);
CREATE INDEX pairing_codes_expires ON pairing_codes (expires_at);
