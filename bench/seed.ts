// The benchmark's dataset, written straight into the tables with generate_series: games, thousands of listings
// (single items, bundles, timed, limited, featured), users with wallets funded through the ledger, ~10 inventory
// entries each, a character with equipment, and one past order each with its ledger transfer and fulfillment.
//
// Ids are md5(name || n)::uuid, so rows refer to each other without lookups and the load generator derives the
// same ids in JavaScript (userId below). FK triggers are off while seeding (the data is consistent by
// construction); CHECK and UNIQUE constraints still apply, and the run ends with the ledger verifier.
import { createHash } from 'node:crypto';
import pg from 'pg';
import type { BenchConfig } from './config.js';
import { openDatabase } from '../src/platform/db.js';
import { migrate } from '../src/db/migrate.js';

/** Gems each seeded wallet was granted: enough that no benchmark purchase ever fails for lack of funds. */
export const STARTING_GEMS = 1_000_000;
export const BENCH_POTION_PRICE = 5;

export interface Fixtures {
  /** An unlimited consumable listing: every benchmark purchase buys it, so stock and ownership never refuse. */
  purchaseListingId: string;
  gameIds: string[];
  /** Active single-item listings, for GET /store/items/:id. */
  listingIds: string[];
  tags: string[];
}

export function md5Uuid(text: string): string {
  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const userId = (n: number) => md5Uuid(`user${n}`);
export const userClaims = (n: number) => ({ sub: userId(n), email: `u${n}@bench.test`, name: `Player ${n}` });

/** Drops and recreates the benchmark database (refusing any database whose name does not say "bench"). */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/bench/i.test(name) || !/^[A-Za-z0-9_]+$/.test(name)) {
    throw new Error(`refusing to drop "${name}": the benchmark database's name must contain "bench" (letters, digits, _)`);
  }
  await withMaintenanceClient(databaseUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${name}`);
  });
}

export async function dropDatabase(databaseUrl: string, name: string): Promise<void> {
  await withMaintenanceClient(databaseUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export async function withMaintenanceClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const db = await openDatabase({ url: databaseUrl, poolSize: 2 });
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
}

interface SeedShape {
  users: number;
  items: number;
  /** Items 1..inventoryItems are delivered to the inventory (skins, emotes, consumables); the rest are not. */
  inventoryItems: number;
  games: number;
  bundles: number;
}

function shapeOf(config: BenchConfig): SeedShape {
  const items = config.listings;
  const inventoryItems = Math.floor((items * 2) / 3);
  if (Math.floor(inventoryItems / 4) < 2 * config.games) throw new Error(`BENCH_LISTINGS=${items} is too few for ${config.games} games (need ≥ ${12 * config.games})`);
  return { users: config.users, items, inventoryItems, games: config.games, bundles: Math.floor(items / 20) };
}

// Item n's class: within 1..inventoryItems, n % 4 → weapon skin, platform outfit, consumable boost, emote;
// beyond, n % 3 → voucher (email), extra life (functional), T-shirt (Shopify). Its game is 1 + (n / 4) % games.
function steps(s: SeedShape): Array<[string, string]> {
  const { users: U, items: N, inventoryItems: M, games: G, bundles: B } = s;
  const T = Math.floor(M / 4);
  const S = Math.floor(T / G) - 1;
  const pickStep = Math.floor(M / 10);
  const cls = (n: string) => `(CASE WHEN ${n} <= ${M} THEN ${n} % 4 ELSE 4 + ${n} % 3 END)`;
  const game = (n: string) => `md5('game' || (1 + (${n} / 4) % ${G}))::uuid`;
  const price = (n: string) => `(10 + (${n} * 37) % 5000)`;
  // The weapon skin of the user's own game that the user owns, wears, and once bought (their past order).
  const ownSkin = (u: string) => `(4 * (${G} * (1 + (${u} / ${G}) % ${S}) + (${u} % ${G})))`;
  const words = (n: string) =>
    `(ARRAY['Crimson','Golden','Shadow','Frost','Neon','Ancient','Cyber','Royal','Toxic','Solar','Lunar','Storm'])[1 + ${n} % 12]
     || ' ' || (ARRAY['Blade','Helmet','Dragon','Phoenix','Rifle','Cape','Wings','Mask','Hammer','Aura'])[1 + (${n} / 12) % 10]
     || ' #' || ${n}`;

  return [
    ['games and slots', `
      INSERT INTO games (id, slug, name) SELECT md5('game' || g)::uuid, 'game-' || g, 'Game ' || g FROM generate_series(1, ${G}) g;
      INSERT INTO game_slots (game_id, slot, position)
      SELECT md5('game' || g)::uuid, s.slot, s.position FROM generate_series(1, ${G}) g, (VALUES ('weapon_skin', 0), ('emote', 1)) s(slot, position);`],

    ['item definitions', `
      INSERT INTO item_definitions (id, sku, name, description, kind, game_id, slot, consumable, max_stack, delivery_type, effect, shopify_variant_id, attributes, created_at)
      SELECT md5('item' || n)::uuid, 'sku-' || n, ${words('n')}, 'Benchmark item ' || n,
             (ARRAY['game_skin','platform_skin','game_item','game_item','voucher','utility','merch'])[1 + c],
             CASE WHEN c IN (0, 2, 3) THEN ${game('n')} END,
             (ARRAY['weapon_skin','outfit',NULL,'emote',NULL,NULL,NULL])[1 + c],
             c IN (2, 5), CASE WHEN c IN (2, 5) THEN 99 ELSE 1 END,
             (ARRAY['inventory','inventory','inventory','inventory','email','functional','shopify'])[1 + c],
             CASE WHEN c = 5 THEN '{"lives": 1}'::jsonb END,
             CASE WHEN c = 6 THEN 'gid://shopify/ProductVariant/' || n END,
             CASE WHEN n % 30 = 0 THEN jsonb_build_object('collab', 'brand-' || n % 7, 'rarity', 'legendary') ELSE '{}'::jsonb END,
             now() - n * interval '7 minutes'
        FROM (SELECT n, ${cls('n')} AS c FROM generate_series(1, ${N}) n) x;
      INSERT INTO item_definitions (id, sku, name, kind, game_id, consumable, max_stack, delivery_type)
      VALUES (md5('item-bench-potion')::uuid, 'bench-potion', 'Bench Potion', 'game_item', md5('game1')::uuid, true, 1000000000, 'inventory');
      -- Some platform outfits work in two games only.
      INSERT INTO item_compatible_games (item_id, game_id)
      SELECT md5('item' || n)::uuid, md5('game' || (1 + (n + k) % ${G}))::uuid
        FROM generate_series(1, ${M}) n, generate_series(0, 1) k WHERE n % 8 = 5 AND ${G} > 1;`],

    ['listings', `
      INSERT INTO listings (id, title, price, starts_at, ends_at, stock_total, stock_remaining, per_user_limit, tags, featured_rank, active,
                            game_id, delivery_type, kinds, consumable, search_text, created_at)
      SELECT md5('listing' || n)::uuid, 'Offer: ' || d.name, ${price('n')},
             CASE WHEN n % 40 = 1 THEN now() + interval '1 day' END,
             CASE WHEN n % 40 = 2 THEN now() - interval '1 day' WHEN n % 40 = 3 THEN now() + interval '30 days' END,
             CASE WHEN c = 6 THEN 1000 END, CASE WHEN c = 6 THEN 1000 - n % 500 END,
             CASE WHEN c = 6 THEN 2 WHEN c = 2 AND n % 8 = 6 THEN 10 END,
             ARRAY['tag-' || n % 40, 'season-' || n % 4] || CASE WHEN c IN (0, 1) THEN ARRAY['skins'] ELSE '{}' END,
             CASE WHEN n % 50 = 0 THEN n / 50 END,
             n % 25 <> 0,
             d.game_id, d.delivery_type, ARRAY[d.kind], d.consumable, lower('Offer: ' || d.name || ' ' || d.name),
             now() - n * interval '7 minutes'
        FROM (SELECT n, ${cls('n')} AS c FROM generate_series(1, ${N}) n) x
        JOIN item_definitions d ON d.id = md5('item' || n)::uuid;
      INSERT INTO listing_items (listing_id, item_id, quantity) SELECT md5('listing' || n)::uuid, md5('item' || n)::uuid, 1 FROM generate_series(1, ${N}) n;
      INSERT INTO listings (id, title, price, tags, active, game_id, delivery_type, kinds, consumable, search_text)
      VALUES (md5('listing-bench-potion')::uuid, 'Bench Potion', ${BENCH_POTION_PRICE}, ARRAY['bench'], true, md5('game1')::uuid, 'inventory',
              ARRAY['game_item'], true, 'bench potion bench potion');
      INSERT INTO listing_items (listing_id, item_id, quantity) VALUES (md5('listing-bench-potion')::uuid, md5('item-bench-potion')::uuid, 1);`],

    // A bundle is a skin, a consumable and an emote of one game: items 4t, 4t+2 and 4t+3 share game 1 + t % games.
    ['bundles', `
      INSERT INTO listings (id, title, price, tags, featured_rank, active, game_id, delivery_type, kinds, consumable, search_text, created_at)
      SELECT md5('bundle' || b)::uuid, 'Bundle #' || b, (${price('(4 * t)')} + ${price('(4 * t + 2)')} + ${price('(4 * t + 3)')}) * 4 / 5,
             ARRAY['bundle', 'tag-' || b % 40], CASE WHEN b % 10 = 0 THEN b / 10 END, true,
             ${game('(4 * t)')}, 'inventory', ARRAY['game_item', 'game_skin'], false,
             lower('Bundle #' || b || ' ' || (SELECT string_agg(d.name, ' ' ORDER BY o) FROM unnest(ARRAY[0, 2, 3]) o
                                               JOIN item_definitions d ON d.id = md5('item' || (4 * t + o))::uuid)),
             now() - b * interval '1 hour'
        FROM (SELECT b, 1 + (b * 7) % (${T} - 1) AS t FROM generate_series(1, ${B}) b) x;
      INSERT INTO listing_items (listing_id, item_id, quantity, position)
      SELECT md5('bundle' || b)::uuid, md5('item' || (4 * t + o))::uuid, CASE WHEN o = 2 THEN 5 ELSE 1 END, p
        FROM (SELECT b, 1 + (b * 7) % (${T} - 1) AS t FROM generate_series(1, ${B}) b) x,
             (VALUES (0, 0), (2, 1), (3, 2)) line(o, p);`],

    ['voucher codes', `
      INSERT INTO voucher_codes (item_id, code, created_at)
      SELECT md5('item' || n)::uuid, 'CODE-' || n || '-' || k, now() - k * interval '1 second'
        FROM generate_series(${M + 1}, ${N}) n, generate_series(1, 20) k WHERE n % 3 = 0;`],

    ['users and wallets', `
      INSERT INTO users (id, email, name, created_at)
      SELECT md5('user' || u)::uuid, 'u' || u || '@bench.test', 'Player ' || u, now() - u * interval '1 minute' FROM generate_series(1, ${U}) u;
      INSERT INTO ledger_accounts (id, kind, user_id, balance)
      SELECT md5('wallet' || u)::uuid, 'user_wallet', md5('user' || u)::uuid, ${STARTING_GEMS} - ${price(ownSkin('u'))} FROM generate_series(1, ${U}) u;`],

    // Every wallet was funded by a grant (issuance → wallet), then paid for one order (wallet → store revenue):
    // the entries sum to the stored balance and the latest running balance equals it, as the verifier demands.
    ['ledger', `
      INSERT INTO grants (id, user_id, gems, reason, granted_by, created_at)
      SELECT md5('grant' || u)::uuid, md5('user' || u)::uuid, ${STARTING_GEMS}, 'benchmark seed', 'bench', now() - interval '400 days' FROM generate_series(1, ${U}) u;
      INSERT INTO ledger_transfers (id, reason, amount, reference_type, reference_id, memo, created_at)
      SELECT md5('grant-transfer' || u)::uuid, 'grant', ${STARTING_GEMS}, 'grant', md5('grant' || u)::uuid::text, 'benchmark seed', now() - interval '400 days'
        FROM generate_series(1, ${U}) u;
      INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, created_at)
      SELECT md5('grant-transfer' || u)::uuid, a.id, -${STARTING_GEMS}, NULL, now() - interval '400 days'
        FROM generate_series(1, ${U}) u, (SELECT id FROM ledger_accounts WHERE kind = 'issuance') a;
      INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, created_at)
      SELECT md5('grant-transfer' || u)::uuid, md5('wallet' || u)::uuid, ${STARTING_GEMS}, ${STARTING_GEMS}, now() - interval '400 days'
        FROM generate_series(1, ${U}) u;
      INSERT INTO ledger_transfers (id, reason, amount, reference_type, reference_id, created_at)
      SELECT md5('purchase-transfer' || u)::uuid, 'purchase', ${price(ownSkin('u'))}, 'order', md5('order' || u)::uuid::text, now() - u * interval '13 seconds'
        FROM generate_series(1, ${U}) u;
      INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, created_at)
      SELECT md5('purchase-transfer' || u)::uuid, md5('wallet' || u)::uuid, -${price(ownSkin('u'))}, ${STARTING_GEMS} - ${price(ownSkin('u'))}, now() - u * interval '13 seconds'
        FROM generate_series(1, ${U}) u;
      INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after, created_at)
      SELECT md5('purchase-transfer' || u)::uuid, a.id, ${price(ownSkin('u'))}, NULL, now() - u * interval '13 seconds'
        FROM generate_series(1, ${U}) u, (SELECT id FROM ledger_accounts WHERE kind = 'store_revenue') a;`],

    ['orders and fulfillments', `
      INSERT INTO orders (id, user_id, listing_id, quantity, unit_price, total_price, idempotency_key, created_at)
      SELECT md5('order' || u)::uuid, md5('user' || u)::uuid, md5('listing' || ${ownSkin('u')})::uuid, 1, ${price(ownSkin('u'))}, ${price(ownSkin('u'))},
             'seed-' || u, now() - u * interval '13 seconds'
        FROM generate_series(1, ${U}) u;
      INSERT INTO order_lines (id, order_id, item_id, quantity, delivery_type)
      SELECT md5('line' || u)::uuid, md5('order' || u)::uuid, md5('item' || ${ownSkin('u')})::uuid, 1, 'inventory' FROM generate_series(1, ${U}) u;
      INSERT INTO fulfillments (id, order_id, order_line_id, user_id, delivery_type, status, created_at, updated_at)
      SELECT md5('fulfillment' || u)::uuid, md5('order' || u)::uuid, md5('line' || u)::uuid, md5('user' || u)::uuid, 'inventory', 'delivered',
             now() - u * interval '13 seconds', now() - u * interval '13 seconds'
        FROM generate_series(1, ${U}) u;
      INSERT INTO fulfillment_events (fulfillment_id, status, detail, created_at)
      SELECT md5('fulfillment' || u)::uuid, 'delivered', 'granted to the inventory', now() - u * interval '13 seconds' FROM generate_series(1, ${U}) u;`],

    // Ten entries each: the bought skin, then nine picks spread over the inventory items (a pick that repeats the
    // skin is skipped, so a few users own nine).
    ['inventory', `
      INSERT INTO inventory_items (id, user_id, item_id, quantity, consumable, max_stack, source, source_ref, acquired_at)
      SELECT md5('inv' || u || '-0')::uuid, md5('user' || u)::uuid, md5('item' || ${ownSkin('u')})::uuid, 1, false, 1, 'purchase',
             md5('order' || u)::uuid::text, now() - u * interval '13 seconds'
        FROM generate_series(1, ${U}) u;
      INSERT INTO inventory_items (id, user_id, item_id, quantity, consumable, max_stack, source, source_ref, acquired_at)
      SELECT md5('inv' || u || '-' || k)::uuid, md5('user' || u)::uuid, md5('item' || n)::uuid,
             CASE WHEN n % 4 = 2 THEN 1 + (u + k) % 5 ELSE 1 END, n % 4 = 2, CASE WHEN n % 4 = 2 THEN 99 ELSE 1 END,
             'grant', md5('grant' || u)::uuid::text, now() - u * interval '13 seconds' - k * interval '1 day'
        FROM (SELECT u, k, 1 + (u * 7 + k * ${pickStep}) % ${M} AS n FROM generate_series(1, ${U}) u, generate_series(1, 9) k) x
      ON CONFLICT (user_id, item_id) DO NOTHING;`],

    ['characters and equipment', `
      INSERT INTO characters (id, user_id, game_id, name, created_at)
      SELECT md5('character' || u)::uuid, md5('user' || u)::uuid, md5('game' || (1 + u % ${G}))::uuid, 'Hero ' || u, now() - u * interval '1 minute'
        FROM generate_series(1, ${U}) u;
      INSERT INTO character_equipment (character_id, slot, inventory_item_id)
      SELECT md5('character' || u)::uuid, 'weapon_skin', md5('inv' || u || '-0')::uuid FROM generate_series(1, ${U}) u WHERE u % 2 = 0;`],
  ];
}

export async function seed(config: BenchConfig, log: (line: string) => void): Promise<Fixtures> {
  const shape = shapeOf(config);
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    try {
      await client.query('SET session_replication_role = replica');
    } catch {
      log('  (not a superuser: seeding with foreign-key triggers on, which is slower)');
    }
    for (const [name, sql] of steps(shape)) {
      const started = Date.now();
      await client.query(sql);
      log(`  ${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    await client.query('SET session_replication_role = DEFAULT');
    // VACUUM sets the visibility map (index-only scans) and ANALYZE the statistics, as a live database would
    // have them; without it autovacuum (if enabled) would start on these tables in the middle of a scenario.
    const started = Date.now();
    await client.query('VACUUM (ANALYZE)');
    log(`  vacuum and analyze: ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const { rows: listingRows } = await client.query<{ id: string }>(
      `SELECT id FROM listings WHERE active AND starts_at IS NULL AND ends_at IS NULL ORDER BY created_at DESC LIMIT 2000`,
    );
    return {
      purchaseListingId: md5Uuid('listing-bench-potion'),
      gameIds: Array.from({ length: shape.games }, (_, g) => md5Uuid(`game${g + 1}`)),
      listingIds: listingRows.map((row) => row.id),
      tags: Array.from({ length: 40 }, (_, t) => `tag-${t}`),
    };
  } finally {
    await client.end();
  }
}

export async function countRows(databaseUrl: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = ['users', 'listings', 'item_definitions', 'inventory_items', 'ledger_entries', 'orders', 'characters'];
    const counts: Record<string, number> = {};
    for (const table of tables) {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      counts[table] = Number(rows[0]?.n ?? 0);
    }
    return counts;
  } finally {
    await client.end();
  }
}
