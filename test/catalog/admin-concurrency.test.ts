// Concurrent catalog writes must serialize, never deadlock: a deadlock is a 500 for a request that did nothing wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  // withTx retries a deadlocked transaction, which hides the deadlock (each one still costs deadlock_timeout, 1 s,
  // and a storm exhausts the retries and the pool). With one attempt, a deadlock here is a 500 the test sees.
  const db = t.runtime.deps.db as { withTx: typeof t.runtime.deps.db.withTx };
  const withTx = db.withTx.bind(db);
  db.withTx = (fn, options) => withTx(fn, { ...options, maxAttempts: 1 });
});
afterAll(async () => t?.close());

const statuses = (responses: Array<{ status: number }>) => responses.map((response) => response.status);

describe('admin catalog under concurrent writes', () => {
  it('when item PATCHes and listing PATCHes that use the same items run together, then every request answers 200 and none deadlocks', async () => {
    const a = await createItem(t, { kind: 'utility', consumable: true, maxStack: 50 });
    const b = await createItem(t, { kind: 'utility', consumable: true, maxStack: 50 });
    const listings = await Promise.all([0, 1, 2].map(() => createListing(t, { items: [{ itemId: a.id, quantity: 1 }, { itemId: b.id, quantity: 1 }] })));
    for (let round = 0; round < 6; round++) {
      const responses = await Promise.all([
        t.request('PATCH', `/admin/items/${a.id}`, { token: t.adminToken, body: { name: `A ${round}` } }),
        t.request('PATCH', `/admin/items/${b.id}`, { token: t.adminToken, body: { name: `B ${round}` } }),
        ...listings.map((listing, index) => t.request('PATCH', `/admin/listings/${listing.id}`, {
          token: t.adminToken,
          body: { price: round, items: index % 2 ? [{ itemId: a.id, quantity: 2 }, { itemId: b.id, quantity: 1 }] : [{ itemId: b.id, quantity: 1 }, { itemId: a.id, quantity: 3 }] },
        })),
      ]);
      expect(statuses(responses), responses.find((response) => response.status !== 200)?.text).toEqual(responses.map(() => 200));
    }
    // The derived columns follow the last write: every listing shows the items' final names.
    for (const listing of listings) {
      const read = await t.request('GET', `/admin/listings/${listing.id}`, { token: t.adminToken });
      expect(read.body.items.map((line: { name: string }) => line.name).sort()).toEqual(['A 5', 'B 5']);
    }
  });

  it('when an item is PATCHed while a purchase holds its listing and then references the item, then both finish (no deadlock)', async () => {
    const item = await createItem(t, { kind: 'utility', consumable: true, maxStack: 99 });
    const listing = await createListing(t, { price: 1, stock: 100, items: [{ itemId: item.id, quantity: 1 }] });
    const other = await createListing(t, { price: 1, items: [{ itemId: (await createItem(t, {})).id, quantity: 1 }] });
    // A purchase's order of locks, by hand: the listing row (taking stock), then rows referencing the item (the
    // foreign-key check takes KEY SHARE on the item), here a bundle line pointing at it.
    const client = await t.runtime.deps.db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE listings SET stock_remaining = stock_remaining - 1 WHERE id = $1', [listing.id]);
      const patch = t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body: { name: 'Renamed Potion' } });
      // Wait until the PATCH has locked the item and queues for the listing row.
      for (let waited = 0; ; waited += 20) {
        const { rows } = await t.runtime.deps.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM listings%'`,
        );
        if (rows[0]!.n > 0) break;
        expect(waited, 'the PATCH never waited for the listing row').toBeLessThan(5_000);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await client.query('INSERT INTO listing_items (listing_id, item_id, quantity, position) VALUES ($1, $2, 1, 99)', [other.id, item.id]);
      await client.query('ROLLBACK');
      const response = await patch;
      expect(response.status, response.text).toBe(200);
      expect(response.body.name).toBe('Renamed Potion');
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  });
});
