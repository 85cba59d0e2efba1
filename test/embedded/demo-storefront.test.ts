// The embedded start: no DATABASE_URL, so PGlite in memory, migrations applied and the demo catalog seeded.
// One file only: PGlite takes seconds and hundreds of MB to start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { seedDemoCatalog, DEMO_TSHIRT_VARIANT } from '../../src/db/seed-demo.js';
import { randomUUID } from 'node:crypto';
import { signToken } from '../../src/platform/auth.js';
import { verifyLedger } from '../../src/modules/wallet/ledger-verifier.js';

let runtime: Runtime;

beforeAll(async () => {
  runtime = await createRuntime(loadConfig({ LOG_LEVEL: 'silent', WORKERS: 'false', RATE_LIMIT_ENABLED: 'false' }), { logger: pino({ level: 'silent' }) });
}, 120_000);
afterAll(async () => runtime?.close());

const get = async (url: string) => {
  const response = await runtime.app.inject({ method: 'GET', url });
  return { status: response.statusCode, body: response.json(), headers: response.headers };
};

describe('embedded start with the demo catalog', () => {
  it('when started without DATABASE_URL, then it runs on PGlite with SEED_DEMO on by default', () => {
    expect(runtime.deps.db.engine).toBe('pglite');
    expect(runtime.config.seedDemo).toBe(true);
  });

  it('then /games lists the demo games with their slots', async () => {
    const { status, body } = await get('/games');
    expect(status).toBe(200);
    expect(body.items.map((g: any) => g.slug).sort()).toEqual(['dungeon-tactics', 'neon-drift', 'skyfall-royale']);
    expect(body.items.find((g: any) => g.slug === 'skyfall-royale').slots).toEqual(['weapon_skin', 'character_skin', 'emote', 'glider']);
  });

  it('then /store/items serves every kind: skins, emotes, voucher, merch, utility, gem chest, a bundle, limited stock', async () => {
    const { status, body, headers } = await get('/store/items?limit=100');
    expect(status).toBe(200);
    expect(headers.etag).toBeDefined();
    const byTitle = new Map(body.items.map((l: any) => [l.title, l]));
    const kinds = new Set(body.items.flatMap((l: any) => l.items.map((i: any) => i.kind)));
    expect([...kinds].sort()).toEqual(['game_item', 'game_skin', 'gem_pack', 'merch', 'platform_skin', 'utility', 'voucher']);
    expect(byTitle.get('Skyfall Starter Bundle')).toMatchObject({ featuredRank: 1, deliveryType: 'inventory' });
    expect((byTitle.get('Skyfall Starter Bundle') as any).items).toHaveLength(4);
    expect(byTitle.get('BattleBucks Logo T-Shirt')).toMatchObject({ stockRemaining: 50, perUserLimit: 2, deliveryType: 'shopify' });
    expect(byTitle.get('Coffee Shop $5 Voucher')).toMatchObject({ stockRemaining: 20, deliveryType: 'email' });
    expect(byTitle.get('Gem Chest')).toMatchObject({ deliveryType: 'functional' });
    expect(byTitle.get('Neon Weekend: Donut Spin')).toMatchObject({ endsAt: expect.any(String) });
    expect(byTitle.has('Coming Soon: Baby Wyrm Preview')).toBe(false); // starts next week
    expect(body.items[0].title).toBe('Skyfall Starter Bundle'); // featured first
  });

  it('then filters and pagination work on PGlite too (no trigram index there)', async () => {
    const search = await get('/store/items?q=wyrm');
    expect(search.body.items.map((l: any) => l.title)).toEqual(['Baby Wyrm (Founders Drop)']);
    const skyfall = (await get('/games')).body.items.find((g: any) => g.slug === 'skyfall-royale');
    const ofGame = await get(`/store/items?gameId=${skyfall.id}&sort=price_asc`);
    expect(ofGame.body.items.map((l: any) => l.price)).toEqual([300, 450, 800, 1200, 1800]);
    const first = await get('/store/items?limit=5&sort=newest');
    const second = await get(`/store/items?limit=5&sort=newest&cursor=${first.body.nextCursor}`);
    expect(second.status).toBe(200);
    expect(second.body.items.some((l: any) => first.body.items.some((f: any) => f.id === l.id))).toBe(false);
  });

  it('then the merch item carries its Shopify variant and the seed does nothing the second time', async () => {
    const { rows } = await runtime.deps.db.query<{ shopify_variant_id: string }>(`SELECT shopify_variant_id FROM item_definitions WHERE kind = 'merch'`);
    expect(rows).toEqual([{ shopify_variant_id: DEMO_TSHIRT_VARIANT }]);
    const count = async () => (await runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM listings')).rows[0]!.n;
    const before = await count();
    await seedDemoCatalog(runtime.services, runtime.deps.db, pino({ level: 'silent' }));
    expect(await count()).toBe(before);
  });

  it('then a purchase runs end to end on PGlite: granted gems, the order, its replay, a stored refusal and a sound ledger', async () => {
    const userId = randomUUID();
    const sign = (role: 'player' | 'service') => signToken(runtime.config.jwtSecret, { sub: role === 'player' ? userId : randomUUID(), role }, '1h');
    const [player, service] = await Promise.all([sign('player'), sign('service')]);
    const post = async (url: string, token: string, key: string, payload: object) => {
      const response = await runtime.app.inject({
        method: 'POST', url, payload,
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': key },
      });
      return { status: response.statusCode, body: response.json(), replayed: response.headers['idempotent-replayed'] };
    };
    const granted = await post('/service/grants', service, `grant-${userId}`, { userId, gems: 2000, reason: 'embedded test' });
    expect(granted.status).toBe(201);

    const { body: page } = await get('/store/items?q=dragon');
    const rifle = page.items.find((l: any) => l.title === 'Dragon Fang Rifle');
    const bought = await post('/store/purchases', player, `buy-${userId}`, { listingId: rifle.id });
    expect(bought).toMatchObject({ status: 201, body: { totalPrice: rifle.price, balanceAfter: 2000 - rifle.price } });
    const replay = await post('/store/purchases', player, `buy-${userId}`, { listingId: rifle.id });
    expect(replay).toMatchObject({ status: 201, replayed: 'true', body: { id: bought.body.id } });

    const refused = await post('/store/purchases', player, `again-${userId}`, { listingId: rifle.id });
    expect(refused).toMatchObject({ status: 409, body: { code: 'already_owned' } });
    const refusedAgain = await post('/store/purchases', player, `again-${userId}`, { listingId: rifle.id });
    expect(refusedAgain).toMatchObject({ status: 409, replayed: 'true', body: { code: 'already_owned' } });

    const report = await verifyLedger(runtime.deps.db);
    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
