-- Authorization codes are sealed: each carries what it was issued for
-- under a server MAC, and redeeming one stores its grant under the code's
-- id, so a code is redeemed once and a replay finds the grant to revoke.
-- Codes issued before this version (valid for a minute at most) are no
-- longer accepted.
DROP TABLE authorization_codes;
