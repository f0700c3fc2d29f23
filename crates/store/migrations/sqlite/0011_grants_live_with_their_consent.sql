-- A code's grant names the consent it was issued under and is live only
-- while that consent stands: revoking an app deletes its consent, and
-- every grant issued under it ends with it. A consent given again after a
-- revocation has a new id, so the grants of the old one stay ended.
-- Finding those grants needed an index of grants by client and user,
-- written at a random place with every code exchange; now only grants
-- that name no consent (those stored before this version) are found that way, and only they are indexed.
-- A consent's last use is kept on the consent alone (the service records
-- its refreshes there every few seconds).
ALTER TABLE consents ADD COLUMN id BLOB;
UPDATE consents SET id = randomblob(16);
-- An approved device code, and a pairing code, remember the consent that
-- gave them, and their grant is issued under that one only.
ALTER TABLE device_codes ADD COLUMN consent_id BLOB;
ALTER TABLE pairing_codes ADD COLUMN consent_id BLOB;
ALTER TABLE grants ADD COLUMN consent_id BLOB;
-- What Connections showed as the last use (the latest rotation of the
-- consent's grants, when later than its own) moves onto the consent.
UPDATE consents SET last_used_at = COALESCE((SELECT MAX(g.rotated_at) FROM grants g
    WHERE g.client_id = consents.client_id AND g.user_id = consents.user_id
    AND g.rotated_at > consents.last_used_at), last_used_at);
DROP INDEX grants_client_user;
CREATE INDEX grants_without_consent ON grants (client_id, user_id) WHERE consent_id IS NULL;
