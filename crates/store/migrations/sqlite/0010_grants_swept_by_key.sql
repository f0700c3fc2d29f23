-- One index on grants fewer: every code exchange stores a grant, and each
-- index is one more B-tree written per exchange. The purge no longer
-- looks grants up by expiry; it sweeps them in key order, a bounded
-- number per pass, going on where the last pass stopped.
DROP INDEX grants_expires;
