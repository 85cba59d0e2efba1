// Concurrent catalog writes must serialize, never deadlock: a deadlock is a 500 for a request that did nothing wrong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing } from './fixtures.js';
import * as shop from '../purchases/fixtures.js';

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

  it('when a listing is deleted while a purchase that has read it is still running, then the purchase answers 201 and the listing is kept, deactivated', async () => {
    const listing = (await createListing(t, { price: 5, items: [{ itemId: await shop.createItem(t, { consumable: true }), quantity: 1 }] })).id as string;
    const buyer = await shop.fundedPlayer(t, 100);
    // The buyer's wallet row, locked by hand, pauses the purchase after it has read the listing and before it
    // writes its order (the debit and the order insert leave together, the debit first).
    const wallet = await t.runtime.deps.db.pool.connect();
    try {
      await wallet.query('BEGIN');
      await wallet.query('SELECT 1 FROM ledger_accounts WHERE user_id = $1 FOR UPDATE', [buyer.id]);
      const purchase = t.request('POST', '/store/purchases', { token: buyer.token, headers: shop.key(), body: { listingId: listing } });
      for (let waited = 0; ; waited += 20) {
        const { rows } = await t.runtime.deps.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%ledger_accounts%'`,
        );
        if (rows[0]!.n > 0) break;
        expect(waited, 'the purchase never waited for the wallet row').toBeLessThan(5_000);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      let deleteSettled = false;
      const deleted = t.request('DELETE', `/admin/listings/${listing}`, { token: t.adminToken }).then((response) => {
        deleteSettled = true;
        return response;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The listing the purchase has read cannot go before the purchase ends (it would leave its order dangling).
      expect(deleteSettled, 'the DELETE did not wait for the running purchase of the listing').toBe(false);
      await wallet.query('COMMIT');
      const bought = await purchase;
      expect(bought.status, bought.text).toBe(201);
      expect((await deleted).status).toBe(204);
      // Deleted after the order committed: kept for the order's history, deactivated, off the storefront.
      const kept = await t.request('GET', `/admin/listings/${listing}`, { token: t.adminToken });
      expect(kept.body).toMatchObject({ id: listing, active: false });
      expect((await t.request('GET', `/store/items/${listing}`)).status).toBe(404);
      expect(await shop.count(t, 'orders WHERE listing_id = $1', [listing])).toBe(1);
    } finally {
      await wallet.query('ROLLBACK').catch(() => undefined);
      wallet.release();
    }
  });

  it('when a listing is deleted before a purchase reads it, then the purchase answers 404 and nothing is charged', async () => {
    const listing = (await createListing(t, { price: 5, items: [{ itemId: await shop.createItem(t, { consumable: true }), quantity: 1 }] })).id as string;
    const buyer = await shop.fundedPlayer(t, 100);
    expect((await t.request('DELETE', `/admin/listings/${listing}`, { token: t.adminToken })).status).toBe(204);
    const bought = await t.request('POST', '/store/purchases', { token: buyer.token, headers: shop.key(), body: { listingId: listing } });
    expect(bought.status).toBe(404);
    expect(await shop.balanceOf(t, buyer.id)).toBe(100);
  });

  it('when an item is deleted while a grant that has read it is still running, then the grant answers 201 and the DELETE 409', async () => {
    const item = await shop.createItem(t, { consumable: true });
    const userId = crypto.randomUUID();
    // The grantee's user row, inserted by hand and not yet committed, pauses the grant after it has read the item
    // and before it writes rows referencing it (it creates the user first).
    const user = await t.runtime.deps.db.pool.connect();
    try {
      await user.query('BEGIN');
      await user.query('INSERT INTO users (id) VALUES ($1)', [userId]);
      const grant = t.request('POST', '/service/grants', { token: t.serviceToken, headers: shop.key(), body: { userId, items: [{ itemId: item, quantity: 2 }], reason: 'race' } });
      for (let waited = 0; ; waited += 20) {
        const { rows } = await t.runtime.deps.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO users%'`,
        );
        if (rows[0]!.n > 0) break;
        expect(waited, 'the grant never waited for the user row').toBeLessThan(5_000);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      let deleteSettled = false;
      const deleted = t.request('DELETE', `/admin/items/${item}`, { token: t.adminToken }).then((response) => {
        deleteSettled = true;
        return response;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(deleteSettled, 'the DELETE did not wait for the running grant of the item').toBe(false);
      await user.query('COMMIT');
      const granted = await grant;
      expect(granted.status, granted.text).toBe(201);
      const refused = await deleted;
      expect(refused.status, refused.text).toBe(409);
      expect(refused.body.code).toBe('conflict');
      expect((await t.request('GET', `/admin/items/${item}`, { token: t.adminToken })).status).toBe(200);
    } finally {
      await user.query('ROLLBACK').catch(() => undefined);
      user.release();
    }
  });
});
