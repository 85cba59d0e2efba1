// An operator's item PATCH of `consumable` or `maxStack`: the entries players already own (which copy both) follow
// the definition in the same transaction, or, where they cannot (a stack larger than the new limit), the PATCH is a
// 409 and nothing changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { fixtures } from './fixtures.js';

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

  it('when maxStack is lowered below a stack a player holds, then 409 and nothing changes; to or above every stack, the entries follow', async () => {
    const player = await t.player();
    const potion = await f.item({ kind: 'utility', consumable: true, maxStack: 20 });
    const [entry] = await f.grant(player.id, [{ itemId: potion, quantity: 8 }]);

    const refused = await patch(potion, { maxStack: 5 });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body).toMatchObject({ code: 'conflict', entriesOverLimit: 1, largestHeld: 8 });
    expect(await entries(potion)).toEqual([{ id: entry, quantity: 8, consumable: true, max_stack: 20 }]);

    expect((await patch(potion, { maxStack: 8 })).status).toBe(200);
    expect(await entries(potion)).toEqual([{ id: entry, quantity: 8, consumable: true, max_stack: 8 }]);
    expect((await patch(potion, { maxStack: 50 })).status).toBe(200);
    expect(await entries(potion)).toEqual([{ id: entry, quantity: 8, consumable: true, max_stack: 50 }]);
  });
});
