// A per-user limit lifted and set again. While a listing has no limit, purchases count nothing, so a player's
// counter from the earlier limit is behind their orders when the limit comes back. The counter was trusted again:
// two parallel purchases could both pass (each checked the orders without the other's, then the stale counter).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { count, createItem, createListing, expectLedgerConsistent, fundedPlayer, key } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const buy = (token: string, listingId: string) => t.request('POST', '/store/purchases', { token, headers: key(), body: { listingId } });
const setLimit = async (listingId: string, perUserLimit: number | null) => {
  const response = await t.request('PATCH', `/admin/listings/${listingId}`, { token: t.adminToken, body: { perUserLimit } });
  expect(response.status).toBe(200);
};
const unitsOf = (userId: string, listingId: string) => count(t, `orders WHERE user_id = $1 AND listing_id = $2 AND status = 'completed'`, [userId, listingId]);

describe('a per-user limit lifted and set again', () => {
  it('when parallel purchases arrive after the limit is back, then the player ends with exactly the limit, counting what they bought while it was lifted', async () => {
    for (let round = 0; round < 5; round += 1) {
      const potion = await createItem(t, { consumable: true, maxStack: 1000 });
      const listing = await createListing(t, { price: 1, items: [{ itemId: potion }], perUserLimit: 4 });
      const player = await fundedPlayer(t, 100);
      expect((await buy(player.token, listing)).status).toBe(201); // counted: 1 of 4
      await setLimit(listing, null);
      expect((await buy(player.token, listing)).status).toBe(201); // not counted while lifted
      expect((await buy(player.token, listing)).status).toBe(201);
      await setLimit(listing, 4);

      const responses = await Promise.all(Array.from({ length: 8 }, () => buy(player.token, listing)));
      expect(responses.filter((r) => r.status >= 500)).toEqual([]);
      expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
      expect(responses.filter((r) => r.status === 409).every((r) => r.body.code === 'purchase_limit_reached')).toBe(true);
      expect(await unitsOf(player.id, listing)).toBe(4);
    }
    await expectLedgerConsistent(t);
  });

  it('when a purchase that read the listing without a limit is still running, then setting the limit waits for it and counts it', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion }], perUserLimit: null });
    const player = await fundedPlayer(t, 100);
    expect((await buy(player.token, listing)).status).toBe(201);
    // Many unlimited purchases in flight while the limit of 3 lands; then the player tries again.
    const inFlight = Array.from({ length: 6 }, () => buy(player.token, listing));
    const limited = setLimit(listing, 3);
    await Promise.all([...inFlight, limited]);
    const bought = await unitsOf(player.id, listing);
    const after = await Promise.all(Array.from({ length: 4 }, () => buy(player.token, listing)));
    // Whatever the interleaving, no purchase after the limit may take the player past it (or further past it).
    const allowed = Math.max(0, 3 - bought);
    expect(after.filter((r) => r.status === 201)).toHaveLength(allowed);
    expect(await unitsOf(player.id, listing)).toBe(bought + allowed);
  });
});
