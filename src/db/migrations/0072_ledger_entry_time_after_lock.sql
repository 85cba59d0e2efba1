-- GET /user/wallet/transactions lists a wallet's entries newest first by id, and shows each entry's created_at.
-- now() is when the entry's transaction began, but the entry is written only once that transaction holds the
-- wallet's row lock: a purchase that began first and waited for a parallel one got the later id and the earlier
-- time, so the list's createdAt went backwards. clock_timestamp() is read when the row is written, after the
-- lock, so for one wallet (whose writers the lock serializes) time order and id order agree.
ALTER TABLE ledger_entries ALTER COLUMN created_at SET DEFAULT clock_timestamp();
