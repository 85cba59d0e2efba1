// An operator takes an item out of a listing and deletes it while a purchase that read the listing with that item is
// still running (here: queued on the buyer's wallet row, as behind the same player's other purchase). The purchase
// must not answer 500: it holds the item it read (FOR KEY SHARE, like the listing), so the DELETE waits for it and
// then finds its order (409 conflict). Found black-box: the DELETE answered 204 and the purchase 500 (the order
// line's foreign key).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitForLockWaiters } from '../support/lock-waits.js';
import { createItem, createListing } from '../catalog/fixtures.js';
import * as shop from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('item DELETE while it is being bought', () => {
  it('when the item is removed from the listing and deleted mid-purchase, then the purchase sells what it read and the DELETE answers 409, never a 500', async () => {
    const doomed = await createItem(t, { kind: 'utility', consumable: true, name: 'Doomed Potion' });
    const kept = await createItem(t, { kind: 'utility', consumable: true, name: 'Kept Potion' });
    const listing = await createListing(t, { price: 7, items: [{ itemId: doomed.id, quantity: 1 }] });
    const player = await shop.fundedPlayer(t, 100);
    const wallet = await t.runtime.deps.db.pool.connect();
    try {
      await wallet.query('BEGIN');
      await wallet.query('SELECT 1 FROM ledger_accounts WHERE user_id = $1 FOR UPDATE', [player.id]);
      const bought = t.request('POST', '/store/purchases', { token: player.token, headers: shop.key(), body: { listingId: listing.id } });
      await waitForLockWaiters(t.runtime.deps.db, 'the purchase');
      const patched = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { items: [{ itemId: kept.id, quantity: 1 }] } });
      expect(patched.status, patched.text).toBe(200);
      const deleted = t.request('DELETE', `/admin/items/${doomed.id}`, { token: t.adminToken });
      await Promise.race([deleted, waitForLockWaiters(t.runtime.deps.db, 'the DELETE', 2)]);
      await wallet.query('COMMIT');
      const [order, removal] = await Promise.all([bought, deleted]);
      expect(order.status, order.text).toBe(201);
      expect(order.body.lines.map((line: any) => line.itemId)).toEqual([doomed.id]);
      expect(removal.status, removal.text).toBe(409);
      expect(removal.body.code).toBe('conflict');
    } finally {
      wallet.release();
    }
    await shop.expectLedgerConsistent(t);
  });
});
