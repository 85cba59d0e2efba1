// A purchase that queues on its listing row behind an admin PATCH (one that sets a stock or a per-user limit takes
// FOR UPDATE first) must sell ONE version of the listing: the price and the lines the PATCH committed together,
// never the new price with the old bundle lines. Found black-box: 73 of 406 orders mixed them under a PATCH loop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitForLockWaiters } from '../support/lock-waits.js';
import { createItem, createListing } from '../catalog/fixtures.js';
import * as shop from './fixtures.js';

let t: TestApp;
let potion: any;
let shield: any;
beforeAll(async () => {
  t = await startTestApp();
  potion = await createItem(t, { kind: 'utility', consumable: true, name: 'Extra Life' });
  shield = await createItem(t, { kind: 'utility', consumable: true, name: 'Shield' });
});
afterAll(async () => t?.close());

describe('bundle lines against a listing PATCH', () => {
  it('when a purchase waits behind a PATCH that changes price, stock and lines, then its order has the new price with the new lines', async () => {
    const listing = await createListing(t, { price: 10, stock: 100, items: [{ itemId: potion.id, quantity: 1 }] });
    const player = await shop.fundedPlayer(t, 1_000);
    // The PATCH's transaction by hand (listings.service update with stock + items + price): FOR UPDATE first, new lines, new row.
    const admin = await t.runtime.deps.db.pool.connect();
    try {
      await admin.query('BEGIN');
      await admin.query('SELECT 1 FROM listings WHERE id = $1 FOR UPDATE', [listing.id]);
      await admin.query('DELETE FROM listing_items WHERE listing_id = $1', [listing.id]);
      await admin.query('INSERT INTO listing_items (listing_id, item_id, quantity, position) VALUES ($1, $2, 3, 1)', [listing.id, shield.id]);
      await admin.query('UPDATE listings SET price = 25, stock_total = 200, stock_remaining = 200 WHERE id = $1', [listing.id]);
      const bought = t.request('POST', '/store/purchases', { token: player.token, headers: shop.key(), body: { listingId: listing.id } });
      await waitForLockWaiters(t.runtime.deps.db, 'the purchase');
      await admin.query('COMMIT');
      const order = await bought;
      expect(order.status, order.text).toBe(201);
      expect(order.body.unitPrice).toBe(25);
      expect(order.body.lines.map((line: any) => [line.itemId, line.quantity])).toEqual([[shield.id, 3]]);
      const { rows } = await t.runtime.deps.db.query<{ item_id: string; quantity: number }>(
        'SELECT item_id, quantity FROM order_lines WHERE order_id = $1', [order.body.id]);
      expect(rows.map((row) => [row.item_id, row.quantity])).toEqual([[shield.id, 3]]);
    } finally {
      admin.release();
    }
    await shop.expectLedgerConsistent(t);
  });
});
