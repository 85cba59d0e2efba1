// A retry after the first attempt died between its commit and its cache invalidation: the retry, possibly on another
// instance, is a replay, and it must drop what the first attempt left cached (the buyer's inventory pages, the
// storefront's stock, the refunded player's inventory), or they stay stale until the cache's TTL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing, fundedPlayer } from './fixtures.js';

let first: TestApp;
let second: TestApp;
beforeAll(async () => {
  // Two instances on one database and one Redis.
  first = await startTestApp({ redis: true });
  second = await startTestApp({ redis: true, databaseUrl: first.config.databaseUrl });
});
afterAll(async () => {
  await second?.close();
  await first?.close();
});

/** Runs `action` on the first instance as if it died right after each commit: nothing is invalidated. */
async function withoutInvalidation<T>(action: () => Promise<T>): Promise<T> {
  const { inventory, catalog } = first.runtime.services;
  const [invalidateUser, invalidateStorefront] = [inventory.invalidateUser, catalog.invalidateStorefront];
  inventory.invalidateUser = async () => undefined;
  catalog.invalidateStorefront = async () => undefined;
  try {
    return await action();
  } finally {
    inventory.invalidateUser = invalidateUser;
    catalog.invalidateStorefront = invalidateStorefront;
  }
}

const inventoryOn = async (app: TestApp, token: string) =>
  (await app.request('GET', '/user/inventory', { token })).body.items.map((i: { itemId: string; quantity: number }) => [i.itemId, i.quantity]);
const stockOn = async (app: TestApp, listingId: string) => (await app.request('GET', `/store/items/${listingId}`)).body.stockRemaining;

describe('a purchase retried after its first attempt died before invalidating', () => {
  it("when the retry is replayed by another instance, then the buyer's inventory and the listing's stock are read fresh", async () => {
    const potion = await createItem(first, { consumable: true, maxStack: 10 });
    const listing = await createListing(first, { price: 5, items: [{ itemId: potion }], stock: 10 });
    const player = await fundedPlayer(first, 100);
    expect(await inventoryOn(second, player.token)).toEqual([]); // cached empty (Redis, and the second's memory)
    expect(await stockOn(second, listing)).toBe(10);

    const headers = { 'idempotency-key': 'buy-once' };
    const body = { listingId: listing, quantity: 2 };
    const bought = await withoutInvalidation(() => first.request('POST', '/store/purchases', { token: player.token, headers, body }));
    expect(bought.status).toBe(201);
    expect(await inventoryOn(second, player.token)).toEqual([]); // stale: nobody invalidated
    expect(await stockOn(second, listing)).toBe(10);

    const retried = await second.request('POST', '/store/purchases', { token: player.token, headers, body });
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body.id).toBe(bought.body.id);
    expect(await inventoryOn(second, player.token)).toEqual([[potion, 2]]);
    expect(await stockOn(second, listing)).toBe(8);
  });
});

describe('a refund retried after its first attempt died before invalidating', () => {
  it("when the retry is replayed by another instance, then the player's inventory and the stock are read fresh", async () => {
    const potion = await createItem(first, { consumable: true, maxStack: 10 });
    const listing = await createListing(first, { price: 5, items: [{ itemId: potion }], stock: 10 });
    const player = await fundedPlayer(first, 100);
    const order = await second.request('POST', '/store/purchases', { token: player.token, headers: { 'idempotency-key': 'to-refund' }, body: { listingId: listing, quantity: 3 } });
    expect(order.status).toBe(201);
    expect(await inventoryOn(second, player.token)).toEqual([[potion, 3]]);
    expect(await stockOn(second, listing)).toBe(7);

    const refund = (app: TestApp) => app.request('POST', `/admin/orders/${order.body.id}/refund`, { token: first.adminToken, headers: { 'idempotency-key': 'refund-once' } });
    expect((await withoutInvalidation(() => refund(first))).status).toBe(200);
    expect(await inventoryOn(second, player.token)).toEqual([[potion, 3]]); // stale
    expect(await stockOn(second, listing)).toBe(7);

    const retried = await refund(second);
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect((await inventoryOn(second, player.token)).filter(([, quantity]: [string, number]) => quantity > 0)).toEqual([]); // the 3 were revoked
    expect(await stockOn(second, listing)).toBe(10);
  });
});

describe('a grant retried after its first attempt died before invalidating', () => {
  it("when the retry is replayed by another instance, then the player's inventory shows the granted items", async () => {
    const potion = await createItem(first, { consumable: true, maxStack: 10 });
    const player = await first.player();
    expect(await inventoryOn(second, player.token)).toEqual([]);

    const grant = (app: TestApp) => app.request('POST', '/service/grants', {
      token: first.serviceToken, headers: { 'idempotency-key': 'grant-once' }, body: { userId: player.id.toUpperCase(), items: [{ itemId: potion, quantity: 4 }], reason: 'tournament' },
    });
    expect((await withoutInvalidation(() => grant(first))).status).toBe(201);
    expect(await inventoryOn(second, player.token)).toEqual([]); // stale

    const retried = await grant(second);
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(await inventoryOn(second, player.token)).toEqual([[potion, 4]]);
  });
});
