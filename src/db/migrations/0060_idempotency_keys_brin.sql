-- Idempotency keys are written by every purchase, grant, adjustment, refund and use, and read by created_at
-- only by the hourly purge (DELETE … WHERE created_at < now() - 24 h). A B-tree on created_at cost each of those
-- writes one more index insert and WAL record; a BRIN index over the insertion-ordered column serves the purge's
-- range scan for a few pages of summaries and costs an insert nothing until a block range fills.
DROP INDEX idempotency_keys_created_idx;
CREATE INDEX idempotency_keys_created_brin ON idempotency_keys USING brin (created_at);
