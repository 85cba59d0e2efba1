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
// Every process warning of the file's run: statements must reach PGlite's single connection one at a time
// (pg deprecates queuing on a busy client, and pg 9 removes it).
const warnings: string[] = [];
const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
process.on('warning', onWarning);

beforeAll(async () => {
  runtime = await createRuntime(loadConfig({ LOG_LEVEL: 'silent', WORKERS: 'false', RATE_LIMIT_ENABLED: 'false' }), { logger: pino({ level: 'silent' }) });
}, 120_000);
afterAll(async () => {
  process.off('warning', onWarning);
  await runtime?.close();
});

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

// API.md, method by method (the contract lives outside this repository; keep this list in step with it).
// `:param` there is `{param}` in OpenAPI.
const CONTRACT = {
  public: ['GET /games', 'GET /store/items', 'GET /store/items/{id}'],
  player: [
    'POST /store/purchases', 'GET /user/purchases', 'GET /user/purchases/{id}', 'GET /user/wallet', 'GET /user/wallet/transactions',
    'GET /user/inventory', 'POST /user/inventory/{id}/use', 'GET /user/characters', 'POST /user/characters', 'GET /user/characters/{id}',
    'PATCH /user/characters/{id}', 'DELETE /user/characters/{id}', 'PUT /user/characters/{id}/equipment/{slot}',
    'DELETE /user/characters/{id}/equipment/{slot}',
  ],
  service: ['POST /service/grants', 'POST /service/users/{userId}/inventory/{id}/consume', 'POST /service/loadouts'],
  admin: [
    ...['games', 'items', 'listings'].flatMap((r) => [`GET /admin/${r}`, `POST /admin/${r}`, `GET /admin/${r}/{id}`, `PATCH /admin/${r}/{id}`, `DELETE /admin/${r}/{id}`]),
    'POST /admin/items/{id}/vouchers', 'GET /admin/orders', 'GET /admin/fulfillments', 'POST /admin/fulfillments/{id}/retry',
    'POST /admin/orders/{id}/refund', 'POST /admin/users/{userId}/wallet/adjustments',
  ],
  webhooks: ['POST /webhooks/shopify', 'POST /webhooks/payments'],
  operations: ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json'],
};
// "Every POST that changes money, stock or inventory requires Idempotency-Key"; missing key → 400.
const IDEMPOTENT = [
  'POST /store/purchases', 'POST /user/inventory/{id}/use', 'POST /service/grants', 'POST /service/users/{userId}/inventory/{id}/consume',
  'POST /admin/users/{userId}/wallet/adjustments', 'POST /admin/orders/{id}/refund',
];
// Operations that take a JSON body (the rest take none).
const WITH_BODY = [
  'POST /store/purchases', 'POST /user/inventory/{id}/use', 'POST /user/characters', 'PATCH /user/characters/{id}',
  'PUT /user/characters/{id}/equipment/{slot}', 'POST /service/grants', 'POST /service/users/{userId}/inventory/{id}/consume',
  'POST /service/loadouts', 'POST /admin/games', 'PATCH /admin/games/{id}', 'POST /admin/items', 'PATCH /admin/items/{id}',
  'POST /admin/listings', 'PATCH /admin/listings/{id}', 'POST /admin/items/{id}/vouchers', 'POST /admin/users/{userId}/wallet/adjustments',
  'POST /webhooks/payments', 'POST /webhooks/shopify',
];

describe('the OpenAPI document (API.md: it describes all of the contract)', () => {
  let doc: any;
  const operation = (route: string) => {
    const [method, path] = route.split(' ') as [string, string];
    return doc.paths?.[path]?.[method.toLowerCase()];
  };
  beforeAll(async () => {
    doc = (await get('/openapi.json')).body;
  });

  it('when every method and path of API.md is looked up, then none is missing', () => {
    const missing = Object.values(CONTRACT).flat().filter((route) => operation(route) === undefined);
    expect(missing).toEqual([]);
  });

  it('then every operation has a summary, a 2xx response with a schema, and every body-taking one its request body', () => {
    // The operations endpoints (text, HTML, the document itself) are only required to be present.
    const { operations: _operations, ...business } = CONTRACT;
    const routes = Object.values(business).flat();
    expect(routes.filter((route) => !operation(route)?.summary)).toEqual([]);
    const without2xx = routes.filter((route) => {
      const responses = Object.entries(operation(route)?.responses ?? {}).filter(([status]) => status.startsWith('2'));
      return !responses.some(([status, response]: [string, any]) => status === '204' || response.content !== undefined);
    });
    expect(without2xx).toEqual([]);
    expect(WITH_BODY.filter((route) => !operation(route)?.requestBody?.content?.['application/json']?.schema)).toEqual([]);
  });

  it('then the bearer scheme guards the player, service and admin routes, and the public ones need no token', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const requiresBearer = (route: string) => {
      const security = operation(route)?.security ?? doc.security ?? [];
      return security.some((requirement: object) => 'bearer' in requirement);
    };
    const guarded = [...CONTRACT.player, ...CONTRACT.service, ...CONTRACT.admin];
    expect(guarded.filter((route) => !requiresBearer(route))).toEqual([]);
    expect(CONTRACT.public.filter(requiresBearer)).toEqual([]);
    expect(CONTRACT.webhooks.filter(requiresBearer)).toEqual([]);
    // Guarded routes document 401 and 403, and every route with input documents 400, as problem details.
    const problem = (route: string, status: string) => operation(route)?.responses?.[status]?.content?.['application/json']?.schema;
    expect(guarded.filter((route) => !problem(route, '401') || !problem(route, '403'))).toEqual([]);
    const takesInput = (route: string) => (operation(route)?.parameters ?? []).length > 0 || operation(route)?.requestBody !== undefined;
    expect([...guarded, ...CONTRACT.public].filter((route) => takesInput(route) && !problem(route, '400'))).toEqual([]);
  });

  it('then Idempotency-Key is a required header wherever API.md requires it, with 409 and 422 documented', () => {
    const header = (route: string) => (operation(route)?.parameters ?? []).find((p: any) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key');
    expect(IDEMPOTENT.filter((route) => header(route)?.required !== true)).toEqual([]);
    expect(IDEMPOTENT.filter((route) => !operation(route)?.responses?.['409'] || !operation(route)?.responses?.['422'])).toEqual([]);
  });

  it('when the key is left out, then the answer is still 400 validation_failed and nothing is bought', async () => {
    const userId = randomUUID();
    const token = await signToken(runtime.config.jwtSecret, { sub: userId, role: 'player' }, '1h');
    const { body: page } = await get('/store/items?q=dragon');
    const response = await runtime.app.inject({
      method: 'POST', url: '/store/purchases', payload: { listingId: page.items[0].id },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'validation_failed' });
    const orders = await runtime.app.inject({ method: 'GET', url: '/user/purchases', headers: { authorization: `Bearer ${token}` } });
    expect(orders.json().items).toEqual([]);
  });
});

describe('embedded mode under concurrency (PGlite is one connection: everything queues on it)', () => {
  it('when 40 purchases, 25 replays of one key, admin writes and a new player\'s first requests arrive at once, then no 5xx, one order per key and a sound ledger', async () => {
    const userId = randomUUID();
    const [player, service, admin] = await Promise.all([
      signToken(runtime.config.jwtSecret, { sub: userId, role: 'player' }, '1h'),
      signToken(runtime.config.jwtSecret, { sub: randomUUID(), role: 'service' }, '1h'),
      signToken(runtime.config.jwtSecret, { sub: randomUUID(), role: 'admin' }, '1h'),
    ]);
    const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, token: string, payload?: object, key?: string) => {
      const response = await runtime.app.inject({ method, url, payload, headers: { authorization: `Bearer ${token}`, ...(key ? { 'idempotency-key': key } : {}) } });
      return { status: response.statusCode, body: response.json(), replayed: response.headers['idempotent-replayed'] };
    };
    const life = (await get('/store/items?limit=100')).body.items.find((l: any) => l.title === 'Extra Life');
    expect(life).toMatchObject({ perUserLimit: null, stockRemaining: null });

    // The player's first requests, all at once: one user, one wallet.
    const first = await Promise.all(Array.from({ length: 10 }, (_, i) => call('GET', i % 2 ? '/user/wallet' : '/user/inventory', player)));
    expect(first.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect((await call('POST', '/service/grants', service, { userId, gems: 10_000, reason: 'embedded stress' }, `stress-${userId}`)).status).toBe(201);

    const [buys, sameKey, creates, patches] = await Promise.all([
      Promise.all(Array.from({ length: 40 }, (_, i) => call('POST', '/store/purchases', player, { listingId: life.id }, `buy-${i}-${userId}`))),
      Promise.all(Array.from({ length: 25 }, () => call('POST', '/store/purchases', player, { listingId: life.id, quantity: 2 }, `same-${userId}`))),
      Promise.all(Array.from({ length: 10 }, (_, i) => call('POST', '/admin/games', admin, { slug: `stress-${i}-${userId.slice(0, 8)}`, name: `Stress ${i}`, slots: ['hat'] }))),
      Promise.all(Array.from({ length: 10 }, (_, i) => call('PATCH', `/admin/listings/${life.id}`, admin, { tags: ['utility', `stress-${i % 2}`] }))),
    ]);
    expect(buys.map((r) => r.status)).toEqual(Array(40).fill(201));
    // One key: one order; the others are its replay or, while it runs, 409 idempotency_in_progress.
    const created = sameKey.filter((r) => r.status === 201);
    expect(sameKey.every((r) => r.status === 201 || (r.status === 409 && r.body.code === 'idempotency_in_progress'))).toBe(true);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    expect(created.filter((r) => r.replayed !== 'true')).toHaveLength(1);
    expect(creates.map((r) => r.status)).toEqual(Array(10).fill(201));
    expect(patches.map((r) => r.status)).toEqual(Array(10).fill(200));

    const bought = 40 + 2;
    expect((await call('GET', '/user/wallet', player)).body.balance).toBe(10_000 - bought * life.price);
    const lives = (await call('GET', '/user/inventory', player)).body.items.filter((i: any) => i.name === 'Extra Life');
    expect(lives.reduce((sum: number, i: any) => sum + i.quantity, 0)).toBe(bought);
    const report = await verifyLedger(runtime.deps.db);
    expect(report.violations).toEqual([]);
  }, 60_000);
});

describe('operator deletes of rows still in use (PGlite is PostgreSQL 18: RESTRICT foreign keys fail with 23001)', () => {
  it('when a game, an item or a slot still in use is removed, then 409 conflict as on PostgreSQL, and a listing with orders is deactivated', async () => {
    const admin = await signToken(runtime.config.jwtSecret, { sub: randomUUID(), role: 'admin' }, '1h');
    const call = async (method: 'DELETE' | 'PATCH', url: string, payload?: object) => {
      const response = await runtime.app.inject({ method, url, payload, headers: { authorization: `Bearer ${admin}` } });
      return { status: response.statusCode, body: response.body ? response.json() : undefined };
    };
    const skyfall = (await get('/games')).body.items.find((g: any) => g.slug === 'skyfall-royale');
    const rifle = (await get('/store/items?q=dragon')).body.items.find((l: any) => l.title === 'Dragon Fang Rifle'); // ordered above

    expect(await call('DELETE', `/admin/games/${skyfall.id}`)).toMatchObject({ status: 409, body: { code: 'conflict' } });
    expect(await call('PATCH', `/admin/games/${skyfall.id}`, { slots: ['character_skin', 'emote', 'glider'] })).toMatchObject({ status: 409, body: { code: 'conflict' } });
    expect(await call('DELETE', `/admin/items/${rifle.items[0].itemId}`)).toMatchObject({ status: 409, body: { code: 'conflict' } });
    const del = await call('DELETE', `/admin/listings/${rifle.id}`);
    expect(del).toMatchObject({ status: 204 });
    expect((await get(`/store/items/${rifle.id}`)).status).toBe(404);
    const { rows } = await runtime.deps.db.query<{ active: boolean }>('SELECT active FROM listings WHERE id = $1', [rifle.id]);
    expect(rows).toEqual([{ active: false }]);
  });
});

describe('statements on the single embedded connection', () => {
  it('when idempotent writes and purchases ran above, then no statement was queued on a busy client', () => {
    expect(warnings.filter((w) => w.includes('already executing a query'))).toEqual([]);
  });
});
