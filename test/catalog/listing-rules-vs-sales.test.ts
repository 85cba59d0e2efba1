// An admin giving a listing a stock must keep counting what was already sold: the sales made while it was unlimited
// and the purchases of it still running when the change lands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitForLockWaiters } from '../support/lock-waits.js';
import { createItem, createListing } from './fixtures.js';
import * as shop from '../purchases/fixtures.js';

let t: TestApp;
let potion: any;
beforeAll(async () => {
  t = await startTestApp();
  potion = await createItem(t, { kind: 'utility', consumable: true, maxStack: 1000, name: 'Extra Life' });
});
afterAll(async () => t?.close());

const buy = (player: { token: string }, listingId: string, quantity = 1) =>
  t.request('POST', '/store/purchases', { token: player.token, headers: shop.key(), body: { listingId, quantity } });
const patch = (id: string, body: Record<string, unknown>) => t.request('PATCH', `/admin/listings/${id}`, { token: t.adminToken, body });
const soldNotRefunded = (listingId: string) =>
  t.runtime.deps.db.query<{ n: number }>(`SELECT coalesce(sum(quantity), 0)::int AS n FROM orders WHERE listing_id = $1 AND status = 'completed'`, [listingId])
    .then(({ rows }) => rows[0]!.n);

describe('listing rules against what was sold', () => {
  it('when an unlimited listing that sold units gets a stock, then those units count as sold (remaining = total − sold) and a refund cannot push it past the total', async () => {
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion.id, quantity: 1 }] });
    const player = await shop.fundedPlayer(t, 100);
    const first = await buy(player, listing.id, 3);
    expect(first.status, first.text).toBe(201);

    const tooLow = await patch(listing.id, { stock: 2 });
    expect(tooLow.status).toBe(409);
    expect(tooLow.body).toMatchObject({ sold: 3 });
    const limited = await patch(listing.id, { stock: 5 });
    expect(limited.status, limited.text).toBe(200);
    expect(limited.body).toMatchObject({ stock: 5, stockRemaining: 2 });

    expect((await buy(player, listing.id, 2)).status).toBe(201);
    const refund = await t.request('POST', `/admin/orders/${first.body.id}/refund`, { token: t.adminToken, headers: shop.key(), body: {} });
    expect(refund.status, refund.text).toBe(200);
    const after = await t.request('GET', `/admin/listings/${listing.id}`, { token: t.adminToken });
    expect(after.body.stockRemaining).toBe(5 - (await soldNotRefunded(listing.id)));
  });

  it('when an unlimited listing gets a stock while purchases of it are running, then no unit is sold past it', async () => {
    for (let round = 0; round < 4; round++) {
      const listing = await createListing(t, { price: 1, items: [{ itemId: potion.id, quantity: 1 }] });
      const players = await Promise.all(Array.from({ length: 12 }, () => shop.fundedPlayer(t, 10)));
      const responses = await Promise.all([
        ...players.map((player) => buy(player, listing.id)),
        new Promise((resolve) => setTimeout(resolve, 5 * round)).then(() => patch(listing.id, { stock: 12 })),
      ]);
      for (const response of responses) expect(response.status, response.text).toBeLessThan(500);
      const read = await t.request('GET', `/admin/listings/${listing.id}`, { token: t.adminToken });
      if (read.body.stock === 12) expect(read.body.stockRemaining).toBe(12 - (await soldNotRefunded(listing.id)));
    }
  });

  it('when a limited listing gets a per-user limit while a purchase of it is between its read and its stock update, then the PATCH waits for it without a deadlock', async () => {
    const listing = await createListing(t, { price: 1, stock: 10, items: [{ itemId: potion.id, quantity: 1 }] });
    const retries = async () => Number(/^bb_db_transaction_retries_total (\d+)/m.exec((await t.request('GET', '/metrics')).text)?.[1] ?? 0);
    const before = await retries();
    // A purchase's locks by hand: KEY SHARE from its first read, then the stock update of a limited listing.
    const purchase = await t.runtime.deps.db.pool.connect();
    try {
      await purchase.query('BEGIN');
      await purchase.query('SELECT 1 FROM listings WHERE id = $1 FOR KEY SHARE', [listing.id]);
      const patched = patch(listing.id, { perUserLimit: 3 });
      await waitForLockWaiters(t.runtime.deps.db, 'the PATCH');
      await purchase.query('UPDATE listings SET stock_remaining = stock_remaining - 1 WHERE id = $1', [listing.id]);
      await purchase.query('COMMIT');
      const response = await patched;
      expect(response.status, response.text).toBe(200);
      expect(response.body).toMatchObject({ perUserLimit: 3, stockRemaining: 9 });
    } finally {
      purchase.release();
    }
    // The PATCH ran once: it queued behind the purchase instead of holding the row the purchase needed next.
    expect(await retries()).toBe(before);
  });
});

/** Until some backend of this database waits on a row lock (the PATCH queued behind the purchase). */
