-- Time-ordered ids (UUIDv7, RFC 9562) for every table whose id the database generates. A random UUID (v4) puts
-- each new key at a random place in its primary key and in every index that carries it as a foreign key (order
-- lines by order, fulfillments by line and order, ledger entries by transfer, transfers by reference), so each
-- insert touches another leaf page. On the benchmark's dataset (docs/performance.md, session 9) that made a
-- purchase read ~5 index pages back into shared_buffers and write 1–5 full-page images to the WAL after each
-- checkpoint. A v7 id starts with its creation time in milliseconds, so new keys land on the same rightmost leaves.
-- The 74 random bits keep ids unguessable; the creation time they reveal is in every answer as createdAt already.
-- The service makes the ids it chooses itself (orders, lines, fulfillments, grants) with the uuid package's v7
-- (src/platform/ids.ts); this function is for the rows whose id comes from the column default. Existing rows keep
-- their ids. PostgreSQL 18 has uuidv7() built in; this one is named after the pg_uuidv7 extension's function.
CREATE OR REPLACE FUNCTION uuid_generate_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
  -- A v4 UUID with its first 48 bits replaced by the Unix time in milliseconds, and its version nibble 4 → 7
  -- (bits 52 and 53 set; the variant bits of the v4 stay).
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

COMMENT ON FUNCTION uuid_generate_v7() IS 'UUIDv7 (RFC 9562): 48-bit Unix time in ms, then random bits; keys of new rows land on the rightmost index leaves';

ALTER TABLE games             ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE item_definitions  ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE listings          ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE reward_campaigns  ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE ledger_accounts   ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE ledger_transfers  ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE orders            ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE order_lines       ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE inventory_items   ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE characters        ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE fulfillments      ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE voucher_codes     ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE webhook_events    ALTER COLUMN id SET DEFAULT uuid_generate_v7();
ALTER TABLE grants            ALTER COLUMN id SET DEFAULT uuid_generate_v7();
