-- Realistic volume for the EXPLAIN check (test/platform/query-plans.test.ts): enough rows that the planner's
-- choice between an index and a sequential scan is the one it would make in production. Ids are derived from
-- md5 of a name and a number, so rows refer to each other without lookups. FK triggers are off while seeding
-- (the data is consistent by construction); CHECK constraints still apply.
SET session_replication_role = replica;

INSERT INTO games (id, slug, name)
SELECT md5('game' || g)::uuid, 'game-' || g, 'Game ' || g FROM generate_series(1, 3) g;
INSERT INTO game_slots (game_id, slot, position)
SELECT md5('game' || g)::uuid, s.slot, s.position FROM generate_series(1, 3) g, (VALUES ('weapon_skin', 0), ('emote', 1)) s(slot, position);

-- 5,000 item definitions, five kinds in turn: game skins (slotted), platform skins, game items (consumable),
-- vouchers (email) and utilities (functional, consumable).
INSERT INTO item_definitions (id, sku, name, kind, game_id, slot, consumable, max_stack, delivery_type, effect, created_at)
SELECT md5('item' || i)::uuid, 'sku-' || i, 'Item ' || i || ' ' || left(md5(i::text), 8),
       (ARRAY['game_skin', 'platform_skin', 'game_item', 'voucher', 'utility'])[1 + i % 5],
       CASE WHEN i % 5 IN (0, 2) THEN md5('game' || (1 + i % 3))::uuid END,
       CASE WHEN i % 5 = 0 THEN 'weapon_skin' END,
       i % 5 IN (2, 4), CASE WHEN i % 5 IN (2, 4) THEN 99 ELSE 1 END,
       (ARRAY['inventory', 'inventory', 'inventory', 'email', 'functional'])[1 + i % 5],
       CASE WHEN i % 5 = 4 THEN '{"lives": 1}'::jsonb END,
       now() - i * interval '1 minute'
  FROM generate_series(1, 5000) i;

-- 5,000 listings, one per item, with the storefront's denormalized columns filled as the catalog service does;
-- some inactive, ended or not yet started, some featured, some with stock.
INSERT INTO listings (id, title, price, starts_at, ends_at, stock_total, stock_remaining, per_user_limit, tags, featured_rank, active,
                      game_id, delivery_type, kinds, consumable, search_text, created_at)
SELECT md5('listing' || i)::uuid, 'Offer ' || d.name, 10 + (i * 37) % 5000,
       CASE WHEN i % 20 = 1 THEN now() + interval '1 day' END,
       CASE WHEN i % 20 = 2 THEN now() - interval '1 day' WHEN i % 20 = 3 THEN now() + interval '7 days' END,
       CASE WHEN i % 10 = 7 THEN 1000 END, CASE WHEN i % 10 = 7 THEN 500 END,
       CASE WHEN i % 4 = 0 THEN 3 END,
       ARRAY['tag-' || i % 40, 'season-' || i % 4],
       CASE WHEN i % 50 = 0 THEN i / 50 END,
       i % 20 <> 0,
       d.game_id, d.delivery_type, ARRAY[d.kind], d.consumable, lower('Offer ' || d.name),
       now() - i * interval '1 minute'
  FROM generate_series(1, 5000) i JOIN item_definitions d ON d.id = md5('item' || i)::uuid;
INSERT INTO listing_items (listing_id, item_id, quantity)
SELECT md5('listing' || i)::uuid, md5('item' || i)::uuid, 1 FROM generate_series(1, 5000) i;

-- 20,000 users, each with a wallet and a platform-wide character.
INSERT INTO users (id, email, name) SELECT md5('user' || u)::uuid, 'u' || u || '@players.test', 'Player ' || u FROM generate_series(1, 20000) u;
INSERT INTO ledger_accounts (id, kind, user_id, balance)
SELECT md5('account' || u)::uuid, 'user_wallet', md5('user' || u)::uuid, 1000 FROM generate_series(1, 20000) u;
INSERT INTO characters (id, user_id, name) SELECT md5('character' || u)::uuid, md5('user' || u)::uuid, 'Hero ' || u FROM generate_series(1, 20000) u;

-- 200,000 inventory rows: ten distinct items per user.
INSERT INTO inventory_items (id, user_id, item_id, quantity, consumable, max_stack, source, acquired_at)
SELECT md5('inventory' || u || '-' || k)::uuid, md5('user' || u)::uuid, d.id, 1, d.consumable, d.max_stack, 'purchase',
       now() - (u * 10 + k) * interval '1 second'
  FROM generate_series(1, 20000) u, generate_series(0, 9) k
  JOIN LATERAL (SELECT id, consumable, max_stack FROM item_definitions WHERE id = md5('item' || (1 + (u * 7 + k * 500) % 5000))::uuid) d ON true;
INSERT INTO character_equipment (character_id, slot, inventory_item_id)
SELECT md5('character' || u)::uuid, 'weapon_skin', md5('inventory' || u || '-0')::uuid FROM generate_series(1, 20000) u;

-- 100,000 transfers, 200,000 entries: each a purchase from a user wallet into store revenue.
INSERT INTO ledger_transfers (id, reason, amount, reference_type, reference_id, created_at)
SELECT md5('transfer' || t)::uuid, 'purchase', 10, 'order', md5('order' || t)::uuid::text, now() - t * interval '1 second'
  FROM generate_series(1, 100000) t;
INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, created_at)
SELECT md5('transfer' || t)::uuid, md5('account' || (1 + t % 20000))::uuid, -10, 990, now() - t * interval '1 second'
  FROM generate_series(1, 100000) t;
INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, created_at)
SELECT md5('transfer' || t)::uuid, (SELECT id FROM ledger_accounts WHERE kind = 'store_revenue'), 10, NULL, now() - t * interval '1 second'
  FROM generate_series(1, 100000) t;

-- 50,000 orders with one line and one fulfillment each (and its first event).
INSERT INTO orders (id, user_id, listing_id, quantity, unit_price, total_price, idempotency_key, created_at)
SELECT md5('order' || o)::uuid, md5('user' || (1 + o % 20000))::uuid, md5('listing' || (1 + o % 5000))::uuid, 1, 10, 10, 'key-' || o,
       now() - o * interval '1 second'
  FROM generate_series(1, 50000) o;
INSERT INTO order_lines (id, order_id, item_id, quantity, delivery_type)
SELECT md5('line' || o)::uuid, md5('order' || o)::uuid, md5('item' || (1 + o % 5000))::uuid, 1,
       (ARRAY['inventory', 'inventory', 'inventory', 'email', 'functional'])[1 + (1 + o % 5000) % 5]
  FROM generate_series(1, 50000) o;
INSERT INTO fulfillments (id, order_id, order_line_id, user_id, delivery_type, status, created_at)
SELECT md5('fulfillment' || o)::uuid, md5('order' || o)::uuid, md5('line' || o)::uuid, md5('user' || (1 + o % 20000))::uuid,
       (ARRAY['inventory', 'inventory', 'inventory', 'email', 'functional'])[1 + (1 + o % 5000) % 5],
       CASE WHEN o % 100 = 0 THEN 'failed' WHEN o % 50 = 1 THEN 'pending' ELSE 'delivered' END,
       now() - o * interval '1 second'
  FROM generate_series(1, 50000) o;
INSERT INTO fulfillment_events (fulfillment_id, status, created_at)
SELECT md5('fulfillment' || o)::uuid, 'delivered', now() - o * interval '1 second' FROM generate_series(1, 50000) o;

-- 20,000 voucher codes over the 1,000 voucher items, half of them already mailed.
INSERT INTO voucher_codes (item_id, code, claimed_at, created_at)
SELECT md5('item' || (5 * v + 3))::uuid, 'CODE-' || v || '-' || c, CASE WHEN c % 2 = 0 THEN now() END, now() - c * interval '1 second'
  FROM generate_series(0, 999) v, generate_series(1, 20) c;

SET session_replication_role = DEFAULT;
ANALYZE;
