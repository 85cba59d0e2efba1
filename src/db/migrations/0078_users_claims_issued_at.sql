-- The users row follows the email/name claims of the tokens its player sends (just-in-time provisioning,
-- users.repository.ts), and each instance remembers which claims it last stored so a hot player costs no write.
-- With several instances, an older token still in use (its session not yet refreshed) hitting an instance that had
-- not seen the player wrote the old email back, and the instance holding the new token's memo never wrote again:
-- the record stayed on the old address, and voucher mail went there (test/users/claims-order.test.ts). The iat of
-- the token whose claims the row holds is kept here, and a token issued before it no longer changes them. NULL:
-- no token with an iat has written the row yet (a grant's bare user, rows from before this migration, tokens
-- without iat), so the next token's claims are taken as before.
ALTER TABLE users ADD COLUMN claims_issued_at timestamptz;

COMMENT ON COLUMN users.claims_issued_at IS 'iat of the newest token whose claims were applied; older tokens do not change email/name';
