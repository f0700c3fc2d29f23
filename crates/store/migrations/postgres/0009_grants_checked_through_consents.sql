-- A grant's client and user are no longer foreign keys. Each was checked
-- by a trigger running a query of its own for every grant stored, a
-- quarter of what PostgreSQL spent on a code exchange. What they
-- guaranteed now comes from elsewhere:
-- - a code's grant is stored only while the consent it came from stands
--   (and consents keep their foreign keys), and the statement that stores
--   it locks that consent, so revoking the consent or deleting the client
--   waits for the grant and then ends it;
-- - a device or pairing code's grant is stored by the transaction that
--   spends the code, which a client's deletion also waits for;
-- - deleting a client deletes its grants in the same transaction.
-- Users are disabled, never deleted.
ALTER TABLE grants DROP CONSTRAINT grants_client_id_fkey;
ALTER TABLE grants DROP CONSTRAINT grants_user_id_fkey;
