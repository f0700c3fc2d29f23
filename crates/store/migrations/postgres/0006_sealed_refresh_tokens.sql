-- Refresh tokens are sealed: each names its grant and the grant's
-- generation, and rotating one moves the grant to the next generation in
-- one conditional update. The grant is the only row; tokens issued before
-- this version are no longer accepted (their users sign in again).
ALTER TABLE grants ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE grants ADD COLUMN rotated_at BIGINT;
DROP TABLE refresh_tokens;
