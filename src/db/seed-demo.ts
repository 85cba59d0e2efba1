// Demo catalog for the embedded start: a few games with slots and one of every kind of item and listing, so a
// fresh `npm start` has a storefront to browse. Written through the catalog services, so it obeys the same
// rules as the admin API, which means one transaction per game, item and listing, not one for the whole catalog.
// A seed that stops half-way (Ctrl-C during the first start with PGLITE_DATA_DIR) is therefore resumed at the next
// start: each game, item and listing is looked up by its slug, SKU or title and created only when missing, and
// the catalog counts as seeded only once a marker row is written after the last listing. From then on nothing
// happens, so what an operator deletes from the demo catalog stays deleted.
import type { Logger } from 'pino';
import type { Database } from '../platform/db.js';
import type { Services } from '../services.js';
import type { CreateItemInput } from '../modules/catalog/catalog.schemas.js';

export const DEMO_GAME_SLUGS = ['skyfall-royale', 'neon-drift', 'dungeon-tactics'] as const;
export const DEMO_TSHIRT_VARIANT = 'gid://shopify/ProductVariant/1001';
const DEMO_VOUCHER_CODES = 20;
const HOUR_MS = 3_600_000;
// Written after the last listing: a row in schema_migrations, which already records what was applied to this
// database (readiness counts only the migration files' names, so the row changes nothing else).
export const DEMO_SEED_MARKER = 'seed:demo-catalog';

export async function seedDemoCatalog(services: Services, db: Database, logger: Logger): Promise<void> {
  const marked = await db.query('SELECT 1 FROM schema_migrations WHERE name = $1', [DEMO_SEED_MARKER]);
  if (marked.rowCount > 0) {
    logger.debug('demo catalog already present');
    return;
  }
  const { games } = services;
  const { items, listings } = services.catalog;
  const idOf = async (sql: string, key: string) => (await db.query<{ id: string }>(sql, [key])).rows[0]?.id;

  const game = async (input: { slug: string; name: string; slots: string[] }) =>
    (await idOf('SELECT id FROM games WHERE slug = $1', input.slug)) ?? (await games.create(input)).id;
  const skyfall = { id: await game({ slug: 'skyfall-royale', name: 'Skyfall Royale', slots: ['weapon_skin', 'character_skin', 'emote', 'glider'] }) };
  const neon = { id: await game({ slug: 'neon-drift', name: 'Neon Drift', slots: ['car_skin', 'emote', 'banner'] }) };
  const dungeon = { id: await game({ slug: 'dungeon-tactics', name: 'Dungeon Tactics', slots: ['character_skin', 'weapon_skin', 'pet'] }) };

  const item = async (input: CreateItemInput) =>
    (await idOf('SELECT id FROM item_definitions WHERE sku = $1', input.sku)) ?? (await items.create(input)).id;
  const dragonRifle = await item({ sku: 'SKY-WEAPON-DRAGON', name: 'Dragon Fang Rifle', kind: 'game_skin', deliveryType: 'inventory', gameId: skyfall.id, slot: 'weapon_skin', attributes: { rarity: 'legendary' } });
  const arctic = await item({ sku: 'SKY-CHAR-ARCTIC', name: 'Arctic Commando', kind: 'game_skin', deliveryType: 'inventory', gameId: skyfall.id, slot: 'character_skin', attributes: { rarity: 'epic' } });
  const floss = await item({ sku: 'SKY-EMOTE-FLOSS', name: 'Victory Floss', kind: 'game_item', deliveryType: 'inventory', gameId: skyfall.id, slot: 'emote' });
  const glider = await item({ sku: 'SKY-GLIDER-KITE', name: 'Paper Kite Glider', kind: 'game_item', deliveryType: 'inventory', gameId: skyfall.id, slot: 'glider' });
  const vaporwave = await item({ sku: 'NEON-CAR-VAPOR', name: 'Vaporwave Chassis', kind: 'game_skin', deliveryType: 'inventory', gameId: neon.id, slot: 'car_skin', attributes: { rarity: 'rare' } });
  const donut = await item({ sku: 'NEON-EMOTE-DONUT', name: 'Donut Spin', kind: 'game_item', deliveryType: 'inventory', gameId: neon.id, slot: 'emote' });
  const wyrm = await item({ sku: 'DT-PET-WYRM', name: 'Baby Wyrm', kind: 'game_item', deliveryType: 'inventory', gameId: dungeon.id, slot: 'pet' });
  const phoenix = await item({
    sku: 'PLAT-CHAR-PHOENIX', name: 'Phoenix Avatar', kind: 'platform_skin', deliveryType: 'inventory', slot: 'character_skin',
    compatibleGameIds: [skyfall.id, dungeon.id], attributes: { collab: { brand: 'Phoenix Esports', season: 1 } },
  });
  const goldFrame = await item({ sku: 'PLAT-FRAME-GOLD', name: 'Golden Profile Frame', kind: 'platform_skin', deliveryType: 'inventory' });
  const coffee = await item({
    sku: 'VOUCHER-COFFEE-5', name: 'Coffee Shop $5 Voucher', kind: 'voucher', deliveryType: 'email',
    description: 'A code for a $5 drink at partner coffee shops, sent by email.', attributes: { partner: 'Bean There', valueCents: 500 },
  });
  const tshirt = await item({
    sku: 'MERCH-TSHIRT-LOGO', name: 'BattleBucks Logo T-Shirt', kind: 'merch', deliveryType: 'shopify', shopifyVariantId: DEMO_TSHIRT_VARIANT,
    attributes: { sizes: ['S', 'M', 'L', 'XL'] },
  });
  const nameChange = await item({ sku: 'UTIL-NAME-CHANGE', name: 'Name Change Card', kind: 'utility', deliveryType: 'inventory', consumable: true, maxStack: 5, effect: { nameChange: 1 } });
  const extraLife = await item({ sku: 'UTIL-EXTRA-LIFE', name: 'Extra Life', kind: 'utility', deliveryType: 'inventory', consumable: true, maxStack: 99, effect: { lives: 1 } });
  const gemChest = await item({ sku: 'GEMS-CHEST-500', name: 'Gem Chest', kind: 'gem_pack', deliveryType: 'functional', effect: { gems: 500 } });

  await db.query(
    `INSERT INTO voucher_codes (item_id, code)
     SELECT $1, 'BB-COFFEE-' || lpad(n::text, 4, '0') FROM generate_series(1, $2::int) AS n
     ON CONFLICT (item_id, code) DO NOTHING`,
    [coffee, DEMO_VOUCHER_CODES],
  );

  const now = Date.now();
  const offer = async (title: string, price: number, lines: Array<[string, number]>, extra: Record<string, unknown> = {}) => {
    if (await idOf('SELECT id FROM listings WHERE title = $1 LIMIT 1', title)) return;
    await listings.create({ title, price, items: lines.map(([itemId, quantity]) => ({ itemId, quantity })), ...extra });
  };
  await offer('Skyfall Starter Bundle', 1800, [[dragonRifle, 1], [arctic, 1], [floss, 1], [extraLife, 3]], { featuredRank: 1, tags: ['bundle', 'skyfall'] });
  await offer('Dragon Fang Rifle', 1200, [[dragonRifle, 1]], { featuredRank: 2, tags: ['legendary', 'skyfall'] });
  await offer('Phoenix Avatar', 1500, [[phoenix, 1]], { featuredRank: 3, tags: ['collab', 'platform'] });
  await offer('Arctic Commando', 800, [[arctic, 1]], { tags: ['skyfall'] });
  await offer('Victory Floss', 300, [[floss, 1]], { tags: ['emote', 'skyfall'] });
  await offer('Paper Kite Glider', 450, [[glider, 1]], { tags: ['skyfall'] });
  await offer('Vaporwave Chassis', 900, [[vaporwave, 1]], { tags: ['neon-drift'] });
  await offer('Neon Weekend: Donut Spin', 150, [[donut, 1]], {
    tags: ['sale', 'neon-drift'], startsAt: new Date(now - HOUR_MS).toISOString(), endsAt: new Date(now + 72 * HOUR_MS).toISOString(),
  });
  await offer('Coming Soon: Baby Wyrm Preview', 700, [[wyrm, 1]], { tags: ['dungeon-tactics'], startsAt: new Date(now + 7 * 24 * HOUR_MS).toISOString() });
  await offer('Baby Wyrm (Founders Drop)', 600, [[wyrm, 1]], { stock: 25, perUserLimit: 1, tags: ['limited', 'dungeon-tactics'] });
  await offer('Golden Profile Frame', 400, [[goldFrame, 1]], { tags: ['platform'] });
  await offer('Coffee Shop $5 Voucher', 500, [[coffee, 1]], { tags: ['voucher'], perUserLimit: 3 });
  await offer('BattleBucks Logo T-Shirt', 2500, [[tshirt, 1]], { stock: 50, perUserLimit: 2, tags: ['merch', 'limited'] });
  await offer('Name Change Card', 200, [[nameChange, 1]], { tags: ['utility'] });
  await offer('Extra Life', 50, [[extraLife, 1]], { tags: ['utility'] });
  await offer('Extra Life ×10', 400, [[extraLife, 10]], { tags: ['utility', 'value'] });
  await offer('Gem Chest', 500, [[gemChest, 1]], { tags: ['gems'] });

  await db.query('INSERT INTO schema_migrations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [DEMO_SEED_MARKER]);
  logger.info({ games: DEMO_GAME_SLUGS.length }, 'demo catalog seeded');
}
