-- What-if data for run.sh: one game, the bench potion (an unlimited consumable listing, price 5) and 2,000 funded players.
INSERT INTO games (id, slug, name) VALUES (md5('game1')::uuid, 'game-1', 'Game 1');
INSERT INTO item_definitions (id, sku, name, kind, game_id, consumable, max_stack, delivery_type)
VALUES (md5('item-bench-potion')::uuid, 'bench-potion', 'Bench Potion', 'game_item', md5('game1')::uuid, true, 1000000000, 'inventory');
INSERT INTO listings (id, title, price, tags, active, game_id, delivery_type, kinds, consumable, search_text)
VALUES (md5('listing-bench-potion')::uuid, 'Bench Potion', 5, ARRAY['bench'], true, md5('game1')::uuid, 'inventory', ARRAY['game_item'], true, 'bench potion');
INSERT INTO listing_items (listing_id, item_id, quantity) VALUES (md5('listing-bench-potion')::uuid, md5('item-bench-potion')::uuid, 1);
INSERT INTO users (id, email, name) SELECT md5('user' || u)::uuid, 'u' || u || '@bench.test', 'Player ' || u FROM generate_series(1, 2000) u;
INSERT INTO ledger_accounts (id, kind, user_id, balance) SELECT md5('wallet' || u)::uuid, 'user_wallet', md5('user' || u)::uuid, 100000000 FROM generate_series(1, 2000) u;
