-- What-if for bench/purchase-profile.ts (PROFILE_SQL="$(cat bench/what-ifs/drop-integrity.sql)"): drops every foreign key,
-- CHECK and non-unique secondary index of the purchase's tables on the scratch database, as an upper bound of what
-- schema slimming could give (docs/purchases.md § Sixth round). Never run against a real database.
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT conrelid::regclass AS t, conname FROM pg_constraint
           WHERE conrelid::regclass::text IN ('idempotency_keys','ledger_transfers','ledger_entries','orders','order_lines','inventory_items','inventory_events','fulfillments','fulfillment_events','ledger_accounts')
             AND contype IN ('f','c')
  LOOP EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname); END LOOP;
  FOR r IN SELECT indexrelid::regclass AS i FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE indrelid::regclass::text IN ('ledger_transfers','ledger_entries','orders','order_lines','inventory_events','fulfillments','fulfillment_events','idempotency_keys')
             AND NOT indisprimary AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid)
  LOOP EXECUTE format('DROP INDEX %s', r.i); END LOOP;
END $$;
