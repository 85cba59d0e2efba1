-- What-if only (run.sh, docs/purchases.md § Eighth round): the work of one benchmark purchase as one PL/pgSQL function, the
-- same statements the service sends for an unlimited consumable listing, without the branches other listings need.
CREATE OR REPLACE FUNCTION whatif_purchase(p_user uuid, p_key text, p_listing uuid, p_hash text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  v_scope text := 'player:' || p_user::text;
  v_locked boolean;
  v_existing record;
  v_listing record;
  v_order uuid := uuid_generate_v7();
  v_line uuid := uuid_generate_v7();
  v_ful uuid := uuid_generate_v7();
  v_transfer uuid;
  v_balance bigint;
  v_created timestamptz;
  v_body jsonb;
  v_n int;
BEGIN
  v_locked := pg_try_advisory_xact_lock(7658, hashtext(v_scope || E'\n' || p_key));
  IF NOT v_locked THEN RAISE EXCEPTION 'in progress'; END IF;
  SELECT request_hash, status, response_status, response_body, created_at < now() - make_interval(hours => 24) AS expired INTO v_existing
    FROM idempotency_keys WHERE scope = v_scope AND key = p_key;
  IF FOUND THEN RETURN v_existing.response_body; END IF;
  SELECT l.id AS listing_id, l.title AS listing_title, l.price AS listing_price, l.active AS listing_active, l.starts_at AS listing_starts_at, l.ends_at AS listing_ends_at, l.stock_remaining AS listing_stock_remaining, l.per_user_limit AS listing_per_user_limit, li.quantity AS item_quantity, d.id, d.sku, d.name, d.kind, d.game_id, d.slot, d.consumable, d.max_stack, d.delivery_type, d.effect, d.attributes, d.shopify_variant_id, coalesce((SELECT array_agg(c.game_id ORDER BY c.game_id) FROM item_compatible_games c WHERE c.item_id = d.id), '{}') AS compatible_game_ids, (SELECT (s.title, s.price, s.active, s.starts_at, s.ends_at, s.per_user_limit) FROM listings s WHERE s.id = l.id) IS NOT DISTINCT FROM (l.title, l.price, l.active, l.starts_at, l.ends_at, l.per_user_limit) AS listing_as_read, (SELECT count(*) FROM (SELECT 1 FROM item_definitions k WHERE k.id = li.item_id FOR KEY SHARE) kept)::int AS item_kept
    INTO v_listing
    FROM listings l LEFT JOIN listing_items li ON li.listing_id = l.id LEFT JOIN item_definitions d ON d.id = li.item_id WHERE l.id = p_listing ORDER BY li.position, li.item_id FOR KEY SHARE OF l;
  IF NOT FOUND OR NOT v_listing.listing_active THEN RAISE EXCEPTION 'not_available'; END IF;
  WITH acct AS ( UPDATE ledger_accounts SET balance = balance - v_listing.listing_price, updated_at = now() WHERE user_id = p_user AND balance >= v_listing.listing_price RETURNING id, balance ),
    t AS ( INSERT INTO ledger_transfers (reason, amount, reference_type, reference_id, memo) SELECT 'purchase', v_listing.listing_price, 'order', v_order::text, v_listing.listing_title FROM acct RETURNING id ),
    e AS ( INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after) SELECT t.id, acct.id, -v_listing.listing_price, acct.balance FROM t, acct UNION ALL SELECT t.id, (SELECT id FROM ledger_accounts WHERE kind = 'store_revenue' AND kind <> 'user_wallet'), v_listing.listing_price, NULL FROM t )
    SELECT t.id, acct.balance INTO v_transfer, v_balance FROM t, acct;
  IF v_transfer IS NULL THEN RAISE EXCEPTION 'insufficient_funds'; END IF;
  WITH o AS ( INSERT INTO orders (id, user_id, listing_id, quantity, unit_price, total_price, idempotency_key, shipping_address) VALUES (v_order, p_user, p_listing, 1, v_listing.listing_price, v_listing.listing_price, p_key, NULL::jsonb) RETURNING created_at ),
    l AS ( INSERT INTO order_lines (id, order_id, item_id, quantity, delivery_type) SELECT x.id, v_order, x.item_id, x.quantity, x.delivery_type FROM unnest(ARRAY[v_line], ARRAY[v_listing.id], ARRAY[1], ARRAY['inventory']) AS x(id, item_id, quantity, delivery_type) )
    SELECT created_at INTO v_created FROM o;
  WITH input AS ( SELECT * FROM unnest(ARRAY[v_ful], ARRAY[v_line], ARRAY['inventory'], ARRAY['delivered'], ARRAY['granted 1 to the inventory']) WITH ORDINALITY AS t(id, line, type, status, detail, ord) ),
    created AS ( INSERT INTO fulfillments (id, order_id, order_line_id, user_id, delivery_type, status) SELECT id, v_order, line, p_user, type, status FROM input )
    INSERT INTO fulfillment_events (fulfillment_id, status, detail) SELECT id, status, detail FROM input ORDER BY ord;
  WITH input AS ( SELECT * FROM unnest(ARRAY[v_listing.id], ARRAY[1], ARRAY[v_listing.consumable], ARRAY[v_listing.max_stack]) AS t(item_id, quantity, consumable, max_stack) ),
    upserted AS ( INSERT INTO inventory_items AS e (user_id, item_id, quantity, consumable, max_stack, source, source_ref) SELECT p_user, item_id, quantity, consumable, max_stack, 'purchase', v_order::text FROM input ORDER BY item_id ON CONFLICT (user_id, item_id) DO UPDATE SET quantity = e.quantity + EXCLUDED.quantity, max_stack = EXCLUDED.max_stack, updated_at = now() WHERE e.consumable AND e.quantity + EXCLUDED.quantity <= EXCLUDED.max_stack RETURNING e.id, e.item_id, e.quantity ),
    events AS ( INSERT INTO inventory_events (user_id, item_id, inventory_item_id, delta, reason, reference, actor) SELECT p_user, u.item_id, u.id, i.quantity, 'purchase', v_order::text, 'order:' || v_order::text FROM upserted u JOIN input i ON i.item_id = u.item_id )
    SELECT count(*) INTO v_n FROM upserted;
  IF v_n <> 1 THEN RAISE EXCEPTION 'stack'; END IF;
  v_body := jsonb_build_object('id', v_order, 'status', 'completed', 'listingId', p_listing, 'quantity', 1, 'unitPrice', v_listing.listing_price, 'totalPrice', v_listing.listing_price, 'balanceAfter', v_balance,
    'lines', jsonb_build_array(jsonb_build_object('id', v_line, 'itemId', v_listing.id, 'quantity', 1, 'deliveryType', 'inventory', 'fulfillment', jsonb_build_object('id', v_ful, 'status', 'delivered'))), 'createdAt', v_created);
  INSERT INTO idempotency_keys AS k (scope, key, request_hash, status, lock_token, response_status, response_body) VALUES (v_scope, p_key, p_hash, 'completed', gen_random_uuid(), 201, v_body);
  RETURN v_body;
END $$;
