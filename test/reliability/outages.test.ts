// Outages of the two servers the service depends on, on private instances (the machine's shared Redis and
// PostgreSQL are never touched). Redis down: reads and purchases go on, cache and limits in-process. PostgreSQL
// restarted: /readyz says 503 while it is gone, the pool reconnects by itself, and no request waits forever.
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { startPrivateRedis, type PrivateRedis } from '../../tools/chaos/redis.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../tools/chaos/postgres.js';
import { freePort } from '../../tools/chaos/processes.js';
import { call, sleep, type Reply } from '../../tools/chaos/client.js';
import { verifyLedger } from '../../src/modules/wallet/ledger-verifier.js';
import { buildWorld, key } from '../security/fixtures.js';

const apps: TestApp[] = [];
let redis: PrivateRedis | undefined;
let postgres: PrivatePostgres | undefined;

afterAll(async () => {
  for (const app of apps) await app.close().catch(() => undefined);
  await redis?.kill();
  await postgres?.destroy();
});

/** Every request in these tests has a deadline: status 0 would mean it hung (or the connection died). */
const BOUND_MS = 15_000;

async function tradeAndRead(t: TestApp, world: Awaited<ReturnType<typeof buildWorld>>): Promise<Reply[]> {
  const { alice } = world;
  return [
    await call(t.baseUrl, 'GET', '/store/items?limit=10', { timeoutMs: BOUND_MS }),
    await call(t.baseUrl, 'GET', `/store/items/${world.listings.potion}`, { timeoutMs: BOUND_MS }),
    await call(t.baseUrl, 'GET', '/user/inventory', { token: alice.token, timeoutMs: BOUND_MS }),
    await call(t.baseUrl, 'GET', `/user/characters/${alice.characterId}`, { token: alice.token, timeoutMs: BOUND_MS }),
    await call(t.baseUrl, 'POST', '/store/purchases', { token: alice.token, body: { listingId: world.listings.potion, quantity: 1 }, headers: key(), timeoutMs: BOUND_MS }),
    await call(t.baseUrl, 'POST', `/user/inventory/${alice.inventory.potion}/use`, { token: alice.token, body: { quantity: 1 }, headers: key(), timeoutMs: BOUND_MS }),
    await call(t.baseUrl, 'GET', '/user/wallet', { token: alice.token, timeoutMs: BOUND_MS }),
  ];
}

describe('Redis outage', () => {
  it('when Redis is killed under a running service, then reads, purchases and uses keep working in-process and the cache rejoins Redis when it is back', async () => {
    redis = await startPrivateRedis();
    const t = await startTestApp({ env: { REDIS_URL: redis.url, RATE_LIMIT_ENABLED: 'true' } });
    apps.push(t);
    const world = await buildWorld(t);
    expect((await call(t.baseUrl, 'GET', '/readyz')).body.checks.cache).toBe('redis');
    expect((await tradeAndRead(t, world)).map((r) => r.status)).toEqual([200, 200, 200, 200, 201, 200, 200]);

    await redis.kill();
    const during = await tradeAndRead(t, world);
    expect(during.map((r) => r.status)).toEqual([200, 200, 200, 200, 201, 200, 200]);
    // The inventory read after the use reflects it: invalidation still works inside the process.
    const inventory = await call(t.baseUrl, 'GET', '/user/inventory', { token: world.alice.token });
    expect(inventory.body.items.find((e: { id: string }) => e.id === world.alice.inventory.potion).quantity).toBe(3 + 2 - 2);
    const ready = await call(t.baseUrl, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.cache).toBe('in-process');

    await redis.start();
    const deadline = Date.now() + 20_000;
    while ((await call(t.baseUrl, 'GET', '/readyz')).body.checks.cache !== 'redis') {
      if (Date.now() > deadline) throw new Error('the cache did not reconnect to Redis');
      await sleep(200);
    }
    expect((await tradeAndRead(t, world)).map((r) => r.status)).toEqual([200, 200, 200, 200, 201, 200, 200]);
    expect((await verifyLedger(t.runtime.deps.db)).ok).toBe(true);
  });

  it('when REDIS_URL points at a port where nothing listens, then the service starts and serves reads and purchases', async () => {
    const t = await startTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, RATE_LIMIT_ENABLED: 'true' } });
    apps.push(t);
    const world = await buildWorld(t);
    expect((await tradeAndRead(t, world)).map((r) => r.status)).toEqual([200, 200, 200, 200, 201, 200, 200]);
    expect((await call(t.baseUrl, 'GET', '/readyz')).body).toMatchObject({ status: 'ready', checks: { database: 'ok', cache: 'in-process' } });
  });
});

describe('PostgreSQL restart', () => {
  it('when PostgreSQL stops and comes back, then /readyz goes 503 then 200, requests fail fast while it is down and succeed after, and nothing is half-written', async () => {
    postgres = await startPrivatePostgres();
    const t = await startTestApp({ databaseUrl: postgres.url('postgres') });
    apps.push(t);
    const world = await buildWorld(t);
    expect((await call(t.baseUrl, 'GET', '/readyz')).status).toBe(200);

    // Purchases in flight when the server goes down end one way or the other, never half.
    const inFlight = Promise.all(Array.from({ length: 6 }, () =>
      call(t.baseUrl, 'POST', '/store/purchases', { token: world.mallory.token, body: { listingId: world.listings.potion, quantity: 1 }, headers: key(), timeoutMs: BOUND_MS })));
    await postgres.stop('fast');
    const duringPurchases = await inFlight;
    expect(duringPurchases.every((r) => r.status !== 0)).toBe(true);

    const ready = await call(t.baseUrl, 'GET', '/readyz', { timeoutMs: BOUND_MS });
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not_ready', checks: { database: 'unreachable' } });
    const down = await tradeAndRead(t, world);
    // Every request is answered (none hangs). Writes need the database: 503 with Retry-After, a problem without
    // internals. Cached reads (storefront, inventory, characters) may still be served.
    expect(down.every((reply) => reply.status !== 0)).toBe(true);
    for (const reply of [down[4]!, down[5]!]) {
      expect(reply.status).toBe(503);
      expect(reply.body.code).toBe('service_unavailable');
      expect(reply.headers?.get('retry-after')).toBeTruthy();
      expect(JSON.stringify(reply.body)).not.toMatch(/ECONNREFUSED|terminat|postgres|SELECT/i);
    }
    const outageStatuses = down.map((r) => r.status);

    await postgres.start();
    const deadline = Date.now() + 30_000;
    while ((await call(t.baseUrl, 'GET', '/readyz', { timeoutMs: BOUND_MS })).status !== 200) {
      if (Date.now() > deadline) throw new Error('/readyz did not recover after PostgreSQL came back');
      await sleep(200);
    }
    const after = await tradeAndRead(t, world);
    expect(after.map((r) => r.status)).toEqual([200, 200, 200, 200, 201, 200, 200]);

    // Every purchase that answered 201 before the stop exists; none is half-written.
    const { rows } = await t.runtime.deps.db.query<{ id: string }>('SELECT id FROM orders WHERE user_id = $1', [world.mallory.id]);
    for (const reply of duringPurchases.filter((r) => r.status === 201)) expect(rows.map((r) => r.id)).toContain(reply.body.id);
    const report = await verifyLedger(t.runtime.deps.db);
    expect(report.violations).toEqual([]);
    console.log(`PostgreSQL restart: in-flight purchases answered ${duringPurchases.map((r) => r.status).join(',')}; during the outage ${outageStatuses.join(',')}`);
  });
});
