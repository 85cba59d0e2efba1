// A refund racing the purchase that seeds a player's per-user-limit counter. A counter is missing while a player has
// completed orders when the limit was added (or set again) after they bought. The purchase seeds it from the
// orders its snapshot sees, and the refund gave units back only to a counter that already existed: a refund running
// beside that first purchase found no row (or one not yet committed) and gave nothing back, while the purchase
// counted the refunded order. The counter stayed above the player's orders and refused purchases they were entitled to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing, db, expectLedgerConsistent, fundedPlayer, key } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const buy = (token: string, listingId: string) => t.request('POST', '/store/purchases', { token, headers: key(), body: { listingId } });
const refund = (orderId: string) => t.request('POST', `/admin/orders/${orderId}/refund`, { token: t.adminToken, headers: key() });

async function counterAndOrders(userId: string, listingId: string): Promise<{ units: number | null; completed: number }> {
  const { rows } = await db(t).query<{ units: number | null; completed: number }>(
    `SELECT (SELECT units FROM purchase_limit_usage WHERE user_id = $1 AND listing_id = $2) AS units,
            (SELECT coalesce(sum(quantity), 0)::int FROM orders WHERE user_id = $1 AND listing_id = $2 AND status = 'completed') AS completed`,
    [userId, listingId],
  );
  return rows[0]!;
}

describe('a refund racing the first purchase counted under a per-user limit', () => {
  it('when an order bought before the limit is refunded while the player buys again, then the counter equals the completed units and the player can still buy up to the limit', async () => {
    for (let round = 0; round < 6; round += 1) {
      const potion = await createItem(t, { consumable: true, maxStack: 1000 });
      const listing = await createListing(t, { price: 5, items: [{ itemId: potion }], perUserLimit: null });
      const player = await fundedPlayer(t, 100);
      const first = await buy(player.token, listing);
      expect(first.status).toBe(201);
      expect((await buy(player.token, listing)).status).toBe(201);
      const limited = await t.request('PATCH', `/admin/listings/${listing}`, { token: t.adminToken, body: { perUserLimit: 3 } });
      expect(limited.status).toBe(200);

      const [refunded, bought] = await Promise.all([refund(first.body.id), buy(player.token, listing)]);
      expect(refunded.status).toBe(200);
      expect(bought.status).toBe(201);

      const after = await counterAndOrders(player.id, listing);
      expect(after.completed).toBe(2);
      expect(after.units).toBe(2);
      // Two completed units of three: one more purchase is the player's to make, and only one.
      expect((await buy(player.token, listing)).status).toBe(201);
      const last = await buy(player.token, listing);
      expect(last.status).toBe(409);
      expect(last.body.code).toBe('purchase_limit_reached');
    }
    await expectLedgerConsistent(t);
  });
});
