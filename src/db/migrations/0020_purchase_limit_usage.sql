-- Units of a per-user-limited listing that each user holds in completed orders. The limit is enforced by one
-- conditional upsert on this row (INSERT … ON CONFLICT DO UPDATE … WHERE units + n <= limit): PostgreSQL
-- locks the conflicting row and re-checks the WHERE against its newest version, so parallel purchases by the
-- same user serialize on this row alone and can never exceed the limit. Refunds give the units back.
CREATE TABLE purchase_limit_usage (
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE RESTRICT,
  listing_id  uuid NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  units       int  NOT NULL CHECK (units >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, listing_id)
);
