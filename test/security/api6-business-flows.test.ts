// OWASP API6:2023 Unrestricted Access to Sensitive Business Flows. Buying is the flow worth automating: bursts
// are capped per user (purchase budget and per-user limits that hold under concurrency), and voucher codes — the
// one thing of cash value the API hands out — cannot be guessed, listed or fished for.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { loadRoutes } from '../support/fuzz.js';
import { buildWorld, key, type World } from './fixtures.js';

let t: TestApp;
let world: World;

beforeAll(async () => {
  t = await startTestApp({ env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_PURCHASES: '8', RATE_LIMIT_PER_USER: '1000', RATE_LIMIT_GRANTS: '1000', RATE_LIMIT_ADMIN_WRITES: '1000' } });
  world = await buildWorld(t);
});
afterAll(async () => t?.close());

describe('API6 sensitive business flows', () => {
  it('when a bot fires 20 purchases at once, then at most the purchase budget goes through and the rest get 429', async () => {
    const bot = await t.player();
    await t.request('POST', '/service/grants', { token: t.serviceToken, body: { userId: bot.id, gems: 10_000, reason: 'bot funds' }, headers: key() });
    const burst = await Promise.all(Array.from({ length: 20 }, () =>
      t.request('POST', '/store/purchases', { token: bot.token, body: { listingId: world.listings.potion, quantity: 1 }, headers: key() })));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 201).length).toBeLessThanOrEqual(8);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(12);
    expect(burst.find((r) => r.status === 429)!.body.code).toBe('rate_limited');
  });

  it('when one player races 8 purchases of a listing limited to 2 per user, then exactly the limit is sold', async () => {
    const racer = await t.player();
    await t.request('POST', '/service/grants', { token: t.serviceToken, body: { userId: racer.id, gems: 1000, reason: 'racer funds' }, headers: key() });
    const race = await Promise.all(Array.from({ length: 8 }, () =>
      t.request('POST', '/store/purchases', { token: racer.token, body: { listingId: world.listings.limited, quantity: 1 }, headers: key() })));
    expect(race.filter((r) => r.status === 201)).toHaveLength(2);
    expect(race.filter((r) => r.status !== 201).every((r) => r.body.code === 'purchase_limit_reached')).toBe(true);
  });

  it('when the API surface is read, then no endpoint takes a voucher code as input (there is nothing to guess codes against)', async () => {
    const routes = await loadRoutes(t);
    const takesCode = routes.filter((route) =>
      route.path !== '/admin/items/{id}/vouchers'
      && ([...route.pathParams, ...route.queryParams].some((name) => /code|voucher/i.test(name)) || Object.keys(route.body?.properties ?? {}).some((name) => /code|voucher/i.test(name))));
    expect(takesCode.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it("when anyone but the owner looks — another player, the storefront, the problem bodies — then Alice's voucher code is never in the answer", async () => {
    const { alice, mallory } = world;
    const own = await t.request('GET', `/user/purchases/${alice.orders.voucher}`, { token: alice.token });
    expect(own.status).toBe(200);
    const aliceCode = own.body.lines[0].code as string;
    expect(world.voucherCodes).toContain(aliceCode);

    const looks = [
      await t.request('GET', `/user/purchases/${alice.orders.voucher}`, { token: mallory.token }),
      await t.request('GET', '/user/purchases?limit=100', { token: mallory.token }),
      await t.request('GET', '/user/inventory?limit=100', { token: mallory.token }),
      await t.request('GET', `/store/items/${world.listings.voucher}`),
      await t.request('GET', '/store/items?limit=100'),
      await t.request('GET', `/store/items?q=${encodeURIComponent(aliceCode)}`),
      await t.request('POST', '/store/purchases', { token: mallory.token, body: { listingId: world.listings.voucher, quantity: 1, code: aliceCode }, headers: key() }),
    ];
    for (const response of looks) expect(response.text).not.toContain(aliceCode);
    // Mallory's own code is hers, and it is a different code.
    const hers = await t.request('GET', `/user/purchases/${mallory.orders.voucher}`, { token: mallory.token });
    expect(hers.body.lines[0].code).not.toBe(aliceCode);
  });

  it('when operators list orders and fulfillments, then codes are not shown there either (support never needs to read them)', async () => {
    const own = await t.request('GET', `/user/purchases/${world.alice.orders.voucher}`, { token: world.alice.token });
    const aliceCode = own.body.lines[0].code as string;
    const orders = await t.request('GET', '/admin/orders?limit=100', { token: t.adminToken });
    const fulfillments = await t.request('GET', '/admin/fulfillments?limit=100', { token: t.adminToken });
    const detail = await t.request('GET', `/admin/fulfillments/${own.body.lines[0].fulfillment.id}`, { token: t.adminToken });
    for (const response of [orders, fulfillments, detail]) {
      expect(response.status).toBe(200);
      expect(response.text).not.toContain(aliceCode);
    }
  });

  it('when the id space around a real order is probed, then every guess is a plain 404 (ids are UUIDv7: a time prefix, then 74 random bits, not counters)', async () => {
    const { mallory, alice } = world;
    const real = alice.orders.voucher;
    expect(real).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Knowing when an order was placed gives its first 48 bits; the rest still has to be guessed.
    const sameMillisecond = () => {
      const random = randomUUID();
      return `${real.slice(0, 14)}7${random.slice(15)}`;
    };
    const lastDigit = parseInt(real.slice(-1), 16);
    const neighbours = [(lastDigit + 1) % 16, (lastDigit + 15) % 16].map((digit) => real.slice(0, -1) + digit.toString(16));
    const guesses = [...neighbours, ...Array.from({ length: 10 }, sameMillisecond), ...Array.from({ length: 10 }, () => randomUUID())];
    for (const guess of guesses) {
      const response = await t.request('GET', `/user/purchases/${guess}`, { token: mallory.token });
      expect(response.status, guess).toBe(404);
    }
  });
});
