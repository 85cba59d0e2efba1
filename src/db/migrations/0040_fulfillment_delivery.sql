-- Fulfillment delivery: leases for workers, several voucher codes per email line, one Shopify order per order.

-- An email line of quantity 3 holds three codes, so a fulfillment may own several codes (was UNIQUE).
ALTER TABLE voucher_codes DROP CONSTRAINT voucher_codes_fulfillment_id_key;
CREATE INDEX voucher_codes_fulfillment_idx ON voucher_codes (fulfillment_id) WHERE fulfillment_id IS NOT NULL;

-- All Shopify lines of one order travel in one Shopify order (one parcel), so they share its GID (was UNIQUE).
DROP INDEX fulfillments_external_idx;
CREATE INDEX fulfillments_external_idx ON fulfillments (external_id) WHERE external_id IS NOT NULL;

-- A worker leases a fulfillment before its outside call, so two runs of one job never deliver concurrently.
-- The lease names the pg-boss job: the same job retried after a crash takes its own lease back at once.
ALTER TABLE fulfillments
  ADD COLUMN lease_owner text,
  ADD COLUMN lease_expires_at timestamptz;

-- Every change and every webhook lands in the history; the admin list pages by (status, created_at, id).
CREATE INDEX fulfillments_created_idx ON fulfillments (created_at, id);
