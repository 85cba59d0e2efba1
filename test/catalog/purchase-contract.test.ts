// The catalog functions the purchase flow calls inside its transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let listingId: string;
let unlimitedId: string;
let itemId: string;
let gameId: string;

beforeAll(async () => {
  t = await startTestApp();
  const db = t.runtime.deps.db;
  gameId = (await db.query<{ id: string }>(`INSERT INTO games (slug, name) VALUES ('g1', 'Game One') RETURNING id`)).rows[0]!.id;
  const platform = (await db.query<{ id: string }>(
    `INSERT INTO item_definitions (sku, name, kind, delivery_type) VALUES ('ps-1', 'Platform Skin', 'platform_skin', 'inventory') RETURNING id`,
  )).rows[0]!.id;
  await db.query('INSERT INTO item_compatible_games (item_id, game_id) VALUES ($1, $2)', [platform, gameId]);
  itemId = platform;
  listingId = (await db.query<{ id: string }>(
    `INSERT INTO listings (title, price, stock_total, stock_remaining, delivery_type) VALUES ('Limited', 100, 3, 3, 'inventory') RETURNING id`,
  )).rows[0]!.id;
  unlimitedId = (await db.query<{ id: string }>(
    `INSERT INTO listings (title, price, delivery_type) VALUES ('Unlimited', 50, 'inventory') RETURNING id`,
  )).rows[0]!.id;
  for (const id of [listingId, unlimitedId]) await db.query('INSERT INTO listing_items (listing_id, item_id, quantity) VALUES ($1, $2, 2)', [id, platform]);
});
afterAll(async () => t?.close());

/** The purchase's stock step on its own: true when taken (or unlimited), false when its out-of-stock failure comes back. */
const take = (id: string, quantity: number) => {
  const { catalog } = t.runtime.services;
  return t.runtime.deps.db.withTx((tx) => catalog.takeStockWithCommitInTx(tx, id, quantity)).then(
    () => true,
    (error: unknown) => {
      if (catalog.isOutOfStockFailure(error)) return false;
      throw error;
    },
  );
};

const stockOf = async (id: string) =>
  (await t.runtime.deps.db.query<{ stock_remaining: number | null }>('SELECT stock_remaining FROM listings WHERE id = $1', [id])).rows[0]!.stock_remaining;

describe('catalog purchase contract', () => {
  it('when a listing is read for purchase, then it carries its items with compatible games and quantities', async () => {
    const listing = await t.runtime.services.catalog.getListingForPurchaseInTx(t.runtime.deps.db, listingId);
    expect(listing).toMatchObject({ id: listingId, price: 100, active: true, stockRemaining: 3, perUserLimit: null });
    expect(listing!.items).toEqual([expect.objectContaining({ id: itemId, quantity: 2, kind: 'platform_skin', compatibleGameIds: [gameId] })]);
    expect(await t.runtime.services.catalog.getListingForPurchaseInTx(t.runtime.deps.db, crypto.randomUUID())).toBeUndefined();
  });

  it('when more units are reserved than remain, then false and the stock is unchanged', async () => {
    expect(await take(listingId, 2)).toBe(true);
    expect(await take(listingId, 2)).toBe(false);
    expect(await stockOf(listingId)).toBe(1);
  });

  it('when units are restored beyond the total, then the stock stops at stock_total', async () => {
    const { catalog } = t.runtime.services;
    await t.runtime.deps.db.withTx((tx) => catalog.restoreStockInTx(tx, listingId, 10));
    expect(await stockOf(listingId)).toBe(3);
  });

  it('when an unlimited listing is reserved, then true without touching the row', async () => {
    expect(await take(unlimitedId, 50)).toBe(true);
    expect(await stockOf(unlimitedId)).toBeNull();
    expect(await take(crypto.randomUUID(), 1)).toBe(false);
  });

  it('when twenty buyers race for five units, then exactly five reservations succeed and stock ends at zero', async () => {
    const db = t.runtime.deps.db;
    const drop = (await db.query<{ id: string }>(
      `INSERT INTO listings (title, price, stock_total, stock_remaining, delivery_type) VALUES ('Drop', 10, 5, 5, 'inventory') RETURNING id`,
    )).rows[0]!.id;
    const results = await Promise.all(Array.from({ length: 20 }, () => take(drop, 1)));
    expect(results.filter(Boolean)).toHaveLength(5);
    expect(await stockOf(drop)).toBe(0);
  });

  it('when items are fetched by id, then unknown ids are skipped and platform compatibility is included', async () => {
    const items = await t.runtime.services.catalog.getItemsInTx(t.runtime.deps.db, [itemId, crypto.randomUUID(), itemId]);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ sku: 'ps-1', compatibleGameIds: [gameId], maxStack: 1, attributes: {} });
  });
});
