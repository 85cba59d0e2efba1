// An operator's item PATCH of `consumable` or `maxStack`: the entries players already own (which copy both) follow
// the definition in the same transaction. A stack held above a lowered maxStack is kept (its entry's limit is what it
// holds) and only later grants obey the new limit; an item made non-consumable while someone holds two or more units
// cannot follow (one unit each), so that PATCH is a 409 and nothing changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitForLockWaiters } from '../support/lock-waits.js';
import { fixtures } from './fixtures.js';
import { createItem, createListing } from '../catalog/fixtures.js';
import * as shop from '../purchases/fixtures.js';

let t: TestApp;
let f: ReturnType<typeof fixtures>;

beforeAll(async () => {
  t = await startTestApp();
  f = fixtures(t);
});
afterAll(async () => t?.close());

const patch = (itemId: string, body: Record<string, unknown>) => t.request('PATCH', `/admin/items/${itemId}`, { token: t.adminToken, body });
const use = (token: string, entryId: string, quantity = 1) =>
  t.request('POST', `/user/inventory/${entryId}/use`, { token, headers: { 'idempotency-key': f.unique('k') }, body: { quantity } });
const entries = async (itemId: string) =>
  (await t.runtime.deps.db.query<{ id: string; quantity: number; consumable: boolean; max_stack: number }>(
    'SELECT id, quantity, consumable, max_stack FROM inventory_items WHERE item_id = $1 ORDER BY id', [itemId])).rows;
const listed = async (token: string, entryId: string) =>
  (await t.request('GET', '/user/inventory', { token })).body.items.find((e: { id: string }) => e.id === entryId);

/** Runs `during` while a purchase of `listingId` has read its items and waits on the buyer's wallet row. */
async function whilePurchaseInFlight(buyer: { id: string; token: string }, listingId: string, during: () => Promise<void>) {
  const wallet = await t.runtime.deps.db.pool.connect();
  try {
    await wallet.query('BEGIN');
    await wallet.query('SELECT 1 FROM ledger_accounts WHERE user_id = $1 FOR UPDATE', [buyer.id]);
    const bought = t.request('POST', '/store/purchases', { token: buyer.token, headers: shop.key(), body: { listingId } });
    await waitForLockWaiters(t.runtime.deps.db, 'the purchase');
    await during();
    await wallet.query('COMMIT');
    return await bought;
  } finally {
    wallet.release();
  }
}

describe('owned entries follow the item definition', () => {
  it('when an owned item is made consumable, then the owner can use it and the inventory shows it consumable', async () => {
    const player = await t.player();
    const skin = await f.item({ name: 'Banner' });
    const [entry] = await f.grant(player.id, [{ itemId: skin }]);
    expect((await use(player.token, entry!)).body.code).toBe('not_available');

    const patched = await patch(skin, { consumable: true, maxStack: 5 });
    expect(patched.status, patched.text).toBe(200);
    expect(await entries(skin)).toEqual([{ id: entry, quantity: 1, consumable: true, max_stack: 5 }]);
    expect((await listed(player.token, entry!)).consumable).toBe(true);
    const used = await use(player.token, entry!);
    expect(used.status, used.text).toBe(200);
    expect(used.body.quantity).toBe(0);
  });

  it('when a consumable is made non-consumable while a player holds more than one, then 409 and nothing changes; once nobody does, it follows', async () => {
    const holder = await t.player();
    const single = await t.player();
    const usedUp = await t.player();
    const card = await f.item({ kind: 'utility', consumable: true, maxStack: 10 });
    const [stack] = await f.grant(holder.id, [{ itemId: card, quantity: 3 }]);
    const [one] = await f.grant(single.id, [{ itemId: card }]);
    const [empty] = await f.grant(usedUp.id, [{ itemId: card }]);
    expect((await use(usedUp.token, empty!)).status).toBe(200);
    const before = await entries(card);

    const refused = await patch(card, { consumable: false });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body).toMatchObject({ code: 'conflict', entriesOverLimit: 1, largestHeld: 3 });
    expect(refused.body.detail).toMatch(/hold more than 1/);
    expect(await entries(card)).toEqual(before);
    expect((await t.request('GET', `/admin/items/${card}`, { token: t.adminToken })).body).toMatchObject({ consumable: true, maxStack: 10 });

    expect((await use(holder.token, stack!, 2)).status).toBe(200);
    const patched = await patch(card, { consumable: false });
    expect(patched.status, patched.text).toBe(200);
    for (const [token, entry] of [[holder.token, stack!], [single.token, one!]] as const) {
      expect((await use(token, entry)).body.code).toBe('not_available');
      expect((await listed(token, entry)).consumable).toBe(false);
    }
    // The used-up entry is not owned: granted again, it becomes one owned, non-consumable unit.
    await f.grant(usedUp.id, [{ itemId: card }]);
    expect((await entries(card)).find((e) => e.id === empty)).toMatchObject({ quantity: 1, consumable: false, max_stack: 1 });
    expect((await use(usedUp.token, empty!)).body.code).toBe('not_available');
  });

  it('when maxStack is lowered below a stack a player holds, then the PATCH succeeds, the stack is kept and later grants obey the new limit', async () => {
    const player = await t.player();
    const other = await t.player();
    const potion = await f.item({ kind: 'utility', consumable: true, maxStack: 20 });
    const [entry] = await f.grant(player.id, [{ itemId: potion, quantity: 8 }]);
    const [small] = await f.grant(other.id, [{ itemId: potion, quantity: 2 }]);

    const lowered = await patch(potion, { maxStack: 5 });
    expect(lowered.status, lowered.text).toBe(200);
    expect(lowered.body).toMatchObject({ maxStack: 5 });
    expect(await entries(potion)).toEqual([
      { id: entry, quantity: 8, consumable: true, max_stack: 8 },
      { id: small, quantity: 2, consumable: true, max_stack: 5 },
    ].sort((a, b) => (a.id! < b.id! ? -1 : 1)));

    // The hoard can be used down; no grant takes it, or the small stack, past the new limit.
    expect((await use(player.token, entry!, 2)).status).toBe(200);
    const over = await t.request('POST', '/service/grants', {
      token: t.serviceToken, headers: { 'idempotency-key': f.unique('g') }, body: { userId: other.id, items: [{ itemId: potion, quantity: 4 }], reason: 'test' },
    });
    expect(over.status, over.text).toBe(409);
    expect(over.body.code).toBe('stack_limit_reached');
    expect((await patch(potion, { maxStack: 50 })).status).toBe(200);
    expect(await entries(potion)).toEqual([
      { id: entry, quantity: 6, consumable: true, max_stack: 50 },
      { id: small, quantity: 2, consumable: true, max_stack: 50 },
    ].sort((a, b) => (a.id! < b.id! ? -1 : 1)));
  });

  it('when an item is made non-consumable while a purchase of it that read the old definition is in flight, then the bought entry is non-consumable', async () => {
    const card = (await createItem(t, { kind: 'utility', consumable: true, maxStack: 10, name: 'Card in flight' })).id;
    const listing = await createListing(t, { price: 5, items: [{ itemId: card, quantity: 1 }] });
    const buyer = await shop.fundedPlayer(t, 100);
    const bought = await whilePurchaseInFlight(buyer, listing.id, async () => {
      const patched = await patch(card, { consumable: false });
      expect(patched.status, patched.text).toBe(200);
    });
    expect(bought.status, bought.text).toBe(201);
    expect(await entries(card)).toMatchObject([{ quantity: 1, consumable: false, max_stack: 1 }]);
    const [entry] = await entries(card);
    expect((await use(buyer.token, entry!.id)).body.code).toBe('not_available');
  });

  it('when maxStack is lowered while a purchase that read the old limit is in flight, then the purchase cannot stack past the new limit', async () => {
    const potion = (await createItem(t, { kind: 'utility', consumable: true, maxStack: 20, name: 'Potion in flight' })).id;
    const listing = await createListing(t, { price: 5, items: [{ itemId: potion, quantity: 1 }] });
    const buyer = await shop.fundedPlayer(t, 100);
    await f.grant(buyer.id, [{ itemId: potion, quantity: 5 }]);
    const bought = await whilePurchaseInFlight(buyer, listing.id, async () => {
      const lowered = await patch(potion, { maxStack: 5 });
      expect(lowered.status, lowered.text).toBe(200);
    });
    expect(bought.status, bought.text).toBe(409);
    expect(bought.body.code).toBe('stack_limit_reached');
    expect(await entries(potion)).toMatchObject([{ quantity: 5, consumable: true, max_stack: 5 }]);
    expect(await shop.balanceOf(t, buyer.id)).toBe(100);
  });
});
