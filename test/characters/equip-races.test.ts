// Equips racing an operator's item change, its transaction held open on a connection of the test: the equip waits
// for the item row, then is judged by the committed rules, and it never holds the character while it waits (the
// operator's sweep updates the characters it unequips).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { fixtures } from '../inventory/fixtures.js';
import { equipmentViolations, operatorTransaction, queuedOnLock } from './equip-race-support.js';
import { findItem, replaceCompatibleGames } from '../../src/modules/catalog/items.repository.js';

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let gameA: string;
let gameB: string;
beforeAll(async () => {
  t = await startTestApp();
  f = fixtures(t);
  gameA = await f.game(['weapon_skin', 'emote']);
  gameB = await f.game(['weapon_skin']);
});
afterAll(async () => t?.close());

async function characterWith(gameId: string, itemId: string) {
  const player = await t.player();
  const [entry] = await f.grant(player.id, [{ itemId }]);
  const character = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'Hero', gameId } });
  expect(character.status, character.text).toBe(201);
  return {
    equip: () => t.request('PUT', `/user/characters/${character.body.id}/equipment/weapon_skin`, { token: player.token, body: { inventoryItemId: entry } }),
    equipment: async () => (await t.request('GET', `/user/characters/${character.body.id}`, { token: player.token })).body.equipment,
  };
}

/** The item PATCH's order, by hand: the item row first (FOR NO KEY UPDATE), the change, then the sweep. */
async function operatorChanging(itemId: string) {
  const operator = await operatorTransaction(t, { itemId });
  return { ...operator, lockItem: () => findItem(operator.db, itemId, { forUpdate: true }) };
}

describe('equipping while an operator changes the item', () => {
  it("when the item's compatible games change and are swept but not committed, then the equip waits and is judged by the new list", async () => {
    const itemId = await f.item({ kind: 'platform_skin', slot: 'weapon_skin' });
    const p = await characterWith(gameA, itemId);
    const operator = await operatorChanging(itemId);
    let equipping;
    try {
      await operator.lockItem();
      await replaceCompatibleGames(operator.db, itemId, [gameB]);
      await operator.sweep();
      equipping = p.equip();
      expect(await queuedOnLock(t.runtime.deps.db, equipping)).toBe(true);
    } finally {
      await operator.commit();
    }
    const response = await equipping;
    expect(response.status, response.text).toBe(409);
    expect(response.body.code).toBe('not_compatible');
    expect(await p.equipment()).toEqual([]);
    expect(await equipmentViolations(t.runtime.deps.db)).toEqual([]);
  });

  it('when the equip queues behind the item row, then it holds no character lock: the sweep of that very character goes through', async () => {
    const itemId = await f.item({ gameId: gameA, slot: 'weapon_skin' });
    const p = await characterWith(gameA, itemId);
    expect((await p.equip()).status).toBe(200);
    const operator = await operatorChanging(itemId);
    let equipping;
    try {
      await operator.lockItem();
      equipping = p.equip(); // the same entry again, as a client's retry would
      expect(await queuedOnLock(t.runtime.deps.db, equipping)).toBe(true);
      // Below the deadlock detector's 1 s: a character locked by the waiting equip fails here, not after a retry.
      await operator.query("SET LOCAL lock_timeout = '500ms'");
      await operator.query("UPDATE item_definitions SET slot = 'emote', updated_at = now() WHERE id = $1", [itemId]);
      expect(await operator.sweep()).toHaveLength(1);
    } finally {
      await operator.commit();
    }
    const response = await equipping;
    expect(response.status, response.text).toBe(409);
    expect(await p.equipment()).toEqual([]);
    expect(await equipmentViolations(t.runtime.deps.db)).toEqual([]);
  });

  it('when compatible-games PATCHes and equips run in parallel many times over HTTP, then nobody wears an item their game lost', async () => {
    for (let round = 0; round < 20; round++) {
      const itemId = await f.item({ kind: 'platform_skin', slot: 'weapon_skin' });
      const p = await characterWith(gameA, itemId);
      const [patched, equipped] = await Promise.all([
        t.request('PATCH', `/admin/items/${itemId}`, { token: t.adminToken, body: { compatibleGameIds: [gameB] } }),
        p.equip(),
      ]);
      expect(patched.status, patched.text).toBe(200);
      expect([200, 409], equipped.text).toContain(equipped.status);
      expect(await p.equipment(), `round ${round}`).toEqual([]);
    }
    expect(await equipmentViolations(t.runtime.deps.db)).toEqual([]);
  });
});
