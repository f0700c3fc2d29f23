-- One index on grants fewer: every code exchange stores a grant, and each
-- index is one more B-tree written per exchange. A grant is looked up by
-- client and user together (revoking an app, the last use of a consent,
-- a developer's usage figures) or by client alone (deleting a client);
-- one index on (client_id, user_id) serves both. Users are disabled, not
-- deleted, so nothing looks up a user's grants without the client.
DROP INDEX grants_user_client;
DROP INDEX grants_client;
CREATE INDEX grants_client_user ON grants (client_id, user_id);
