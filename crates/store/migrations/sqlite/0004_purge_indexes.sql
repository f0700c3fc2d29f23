-- What the background purge looks for: rows that expired, oldest first.
CREATE INDEX grants_expires ON grants (expires_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
-- The codes a grant was issued from go with the grant (a replayed code
-- revokes its grant for as long as the grant exists).
CREATE INDEX authorization_codes_grant ON authorization_codes (grant_id);
-- Codes that issued nothing are kept only until they expire.
CREATE INDEX authorization_codes_unredeemed_expires ON authorization_codes (expires_at)
    WHERE grant_id IS NULL;
-- A refresh token never rotated is dead once it expires; a rotated one is
-- kept until its grant expires, so presenting it again still revokes the
-- family. Only the former are looked up by expiry.
DROP INDEX refresh_tokens_expires;
CREATE INDEX refresh_tokens_unrotated_expires ON refresh_tokens (expires_at)
    WHERE rotated_at IS NULL;
