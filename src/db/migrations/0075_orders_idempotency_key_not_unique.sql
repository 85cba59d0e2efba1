-- An Idempotency-Key is kept 24 hours (platform/idempotency.ts): after that, or once the purge deleted it, the
-- same key is a new request. UNIQUE (user_id, idempotency_key) on orders outlived the key: a purchase reusing an
-- expired key ran, hit the constraint, and answered 409 idempotency_in_progress, to every retry, forever.
-- One order per key is already held by the database without it: the key's response is stored in the purchase's
-- own transaction by a fenced upsert on idempotency_keys' primary key that may replace only an expired row, so
-- two transactions of one live key can never both commit. The column stays, as the record of the key used.
ALTER TABLE orders DROP CONSTRAINT orders_user_idempotency_key;
