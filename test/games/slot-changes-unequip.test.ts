// Operator changes to a game's slots or to an item definition never leave a character wearing something the equip
// rules would refuse: what no longer fits comes off (the item stays owned), in the cached reads too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { fixtures } from '../inventory/fixtures.js';

let t: TestApp;
let f: ReturnType<typeof fixtures>;
beforeAll(async () => {
  t = await startTestApp({ redis: true });
  f = fixtures(t);
});
afterAll(async () => t?.close());

async function wearing(gameId: string, items: Array<{ itemId: string; slot: string }>) {
  const player = await t.player();
  const entries = await f.grant(player.id, items);
  const character = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'Hero', gameId } });
  for (const [index, { slot }] of items.entries()) {
    const equipped = await t.request('PUT', `/user/characters/${character.body.id}/equipment/${slot}`, { token: player.token, body: { inventoryItemId: entries[index] } });
    expect(equipped.status, equipped.text).toBe(200);
  }
  // Read once so the character and inventory pages are cached before the operator's change.
  expect((await t.request('GET', `/user/characters/${character.body.id}`, { token: player.token })).body.equipment).toHaveLength(items.length);
  await t.request('GET', '/user/inventory', { token: player.token });
  const read = async () => ({
    slots: (await t.request('GET', `/user/characters/${character.body.id}`, { token: player.token })).body.equipment.map((e: { slot: string }) => e.slot),
    equippedBy: (await t.request('GET', '/user/inventory', { token: player.token })).body.items.map((e: { equippedBy: string[] }) => e.equippedBy.length),
  });
  return { read };
}

const admin = () => t.adminToken;

describe('equipment after catalog changes', () => {
  it('when a game drops a slot a platform item is worn in, then the item comes off and stays owned', async () => {
    const gameId = await f.game(['weapon_skin', 'frame']);
    const frame = await f.item({ kind: 'platform_skin', slot: 'frame' });
    const skin = await f.item({ gameId, slot: 'weapon_skin' });
    const p = await wearing(gameId, [{ itemId: frame, slot: 'frame' }, { itemId: skin, slot: 'weapon_skin' }]);
    const patched = await t.request('PATCH', `/admin/games/${gameId}`, { token: admin(), body: { slots: ['weapon_skin'] } });
    expect(patched.status, patched.text).toBe(200);
    const after = await p.read();
    expect(after.slots).toEqual(['weapon_skin']);
    expect(after.equippedBy.sort()).toEqual([0, 1]);
  });

  it('when an item moves slot, leaves the game\'s compatible list or loses its slot, then it comes off', async () => {
    const gameId = await f.game(['weapon_skin', 'emote', 'frame']);
    const other = await f.game(['frame']);
    const frame = await f.item({ kind: 'platform_skin', slot: 'frame' });
    const skin = await f.item({ gameId, slot: 'weapon_skin' });
    const emote = await f.item({ gameId, slot: 'emote' });
    const p = await wearing(gameId, [{ itemId: frame, slot: 'frame' }, { itemId: skin, slot: 'weapon_skin' }, { itemId: emote, slot: 'emote' }]);
    expect((await t.request('PATCH', `/admin/items/${frame}`, { token: admin(), body: { compatibleGameIds: [other] } })).status).toBe(200);
    expect((await t.request('PATCH', `/admin/items/${skin}`, { token: admin(), body: { slot: 'emote' } })).status).toBe(200);
    expect((await t.request('PATCH', `/admin/items/${emote}`, { token: admin(), body: { slot: null } })).status).toBe(200);
    expect(await p.read()).toEqual({ slots: [], equippedBy: [0, 0, 0] });
  });

  it('when an item change keeps it wearable, then it stays on', async () => {
    const gameId = await f.game(['weapon_skin']);
    const frame = await f.item({ kind: 'platform_skin', slot: 'weapon_skin' });
    const p = await wearing(gameId, [{ itemId: frame, slot: 'weapon_skin' }]);
    expect((await t.request('PATCH', `/admin/items/${frame}`, { token: admin(), body: { compatibleGameIds: [gameId], name: 'Renamed' } })).status).toBe(200);
    expect(await p.read()).toEqual({ slots: ['weapon_skin'], equippedBy: [1] });
  });
});
