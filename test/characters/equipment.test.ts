// Equipping over real HTTP: every compatibility rule, replacement, sharing, revocation and loadout batches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { fixtures } from '../inventory/fixtures.js';
import { createListing, fundedPlayer } from '../purchases/fixtures.js';

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let gameA: string;
let gameB: string;

beforeAll(async () => {
  t = await startTestApp();
  f = fixtures(t);
  gameA = await f.game(['weapon_skin', 'emote', 'outfit']);
  gameB = await f.game(['weapon_skin', 'banner']);
});
afterAll(async () => t?.close());

async function playerWithCharacter(gameId: string | null) {
  const player = await t.player();
  const created = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'Hero', gameId } });
  expect(created.status).toBe(201);
  return { ...player, characterId: created.body.id as string };
}
const equip = (token: string, characterId: string, slot: string, inventoryItemId: string) =>
  t.request('PUT', `/user/characters/${characterId}/equipment/${slot}`, { token, body: { inventoryItemId } });
const expectRefused = async (response: Awaited<ReturnType<typeof equip>>, code: string) => {
  expect(response.status, response.text).toBe(409);
  expect(response.body.code).toBe(code);
};

describe('equipping rules', () => {
  it('when an owned game item goes into its slot in its game, then the character shows it with name and kind', async () => {
    const p = await playerWithCharacter(gameA);
    const item = await f.item({ name: 'Flame Blade', gameId: gameA, slot: 'weapon_skin' });
    const [entry] = await f.grant(p.id, [{ itemId: item }]);
    const response = await equip(p.token, p.characterId, 'weapon_skin', entry!);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: p.characterId, gameId: gameA, equipment: [{ slot: 'weapon_skin', inventoryItemId: entry, itemId: item, name: 'Flame Blade', kind: 'game_skin' }] });
    expect((await t.request('GET', `/user/characters/${p.characterId}`, { token: p.token })).body.equipment).toHaveLength(1);
  });

  it('when the item goes in another slot than the one asked, then 409 not_compatible', async () => {
    const p = await playerWithCharacter(gameA);
    const [entry] = await f.grant(p.id, [{ itemId: await f.item({ gameId: gameA, slot: 'weapon_skin' }) }]);
    await expectRefused(await equip(p.token, p.characterId, 'emote', entry!), 'not_compatible');
  });

  it("when a game item is equipped on another game's character, then 409 not_compatible", async () => {
    const p = await playerWithCharacter(gameB);
    const [entry] = await f.grant(p.id, [{ itemId: await f.item({ gameId: gameA, slot: 'weapon_skin' }) }]);
    await expectRefused(await equip(p.token, p.characterId, 'weapon_skin', entry!), 'not_compatible');
  });

  it('when a platform item lists no games, then it fits every game that has its slot, and the platform avatar', async () => {
    const player = await t.player();
    const [entry] = await f.grant(player.id, [{ itemId: await f.item({ kind: 'platform_skin', slot: 'weapon_skin' }) }]);
    for (const gameId of [gameA, gameB, null]) {
      const character = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'C', gameId } });
      const response = await equip(player.token, character.body.id, 'weapon_skin', entry!);
      expect(response.status, String(gameId)).toBe(200);
    }
  });

  it("when a platform item is restricted to some games, then other games refuse it with not_compatible", async () => {
    const player = await t.player();
    const [entry] = await f.grant(player.id, [{ itemId: await f.item({ kind: 'platform_skin', slot: 'weapon_skin', compatibleGameIds: [gameA] }) }]);
    const inA = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'A', gameId: gameA } });
    const inB = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'B', gameId: gameB } });
    expect((await equip(player.token, inA.body.id, 'weapon_skin', entry!)).status).toBe(200);
    await expectRefused(await equip(player.token, inB.body.id, 'weapon_skin', entry!), 'not_compatible');
  });

  it("when a platform item's slot does not exist in the character's game, then 409 not_compatible", async () => {
    const p = await playerWithCharacter(gameB);
    const [entry] = await f.grant(p.id, [{ itemId: await f.item({ kind: 'platform_skin', slot: 'outfit' }) }]);
    await expectRefused(await equip(p.token, p.characterId, 'outfit', entry!), 'not_compatible');
  });

  it('when a platform-wide avatar is offered a game item, then 409 not_compatible', async () => {
    const p = await playerWithCharacter(null);
    const [entry] = await f.grant(p.id, [{ itemId: await f.item({ gameId: gameA, slot: 'weapon_skin' }) }]);
    await expectRefused(await equip(p.token, p.characterId, 'weapon_skin', entry!), 'not_compatible');
  });

  it('when a consumable or an item without a slot is equipped, then 409 not_compatible', async () => {
    const p = await playerWithCharacter(gameA);
    const [potion, token] = await f.grant(p.id, [
      { itemId: await f.item({ kind: 'utility', consumable: true }), quantity: 2 },
      { itemId: await f.item({ kind: 'utility' }) },
    ]);
    await expectRefused(await equip(p.token, p.characterId, 'weapon_skin', potion!), 'not_compatible');
    await expectRefused(await equip(p.token, p.characterId, 'weapon_skin', token!), 'not_compatible');
  });

  it("when the entry is someone else's or does not exist, then 409 not_owned and nothing about it leaks", async () => {
    const p = await playerWithCharacter(gameA);
    const other = await t.player();
    const [theirs] = await f.grant(other.id, [{ itemId: await f.item({ name: 'Secret Skin', gameId: gameA, slot: 'weapon_skin' }) }]);
    for (const id of [theirs!, crypto.randomUUID()]) {
      const response = await equip(p.token, p.characterId, 'weapon_skin', id);
      await expectRefused(response, 'not_owned');
      expect(response.text).not.toContain('Secret Skin');
    }
    expect((await t.request('GET', `/user/characters/${p.characterId}`, { token: p.token })).body.equipment).toEqual([]);
  });

  it('when a slot is already filled, then equipping replaces it and unequipping empties it', async () => {
    const p = await playerWithCharacter(gameA);
    const [first, second] = await f.grant(p.id, [
      { itemId: await f.item({ gameId: gameA, slot: 'weapon_skin' }) },
      { itemId: await f.item({ gameId: gameA, slot: 'weapon_skin' }) },
    ]);
    await equip(p.token, p.characterId, 'weapon_skin', first!);
    const replaced = await equip(p.token, p.characterId, 'weapon_skin', second!);
    expect(replaced.body.equipment).toEqual([expect.objectContaining({ slot: 'weapon_skin', inventoryItemId: second })]);
    const emptied = await t.request('DELETE', `/user/characters/${p.characterId}/equipment/weapon_skin`, { token: p.token });
    expect(emptied.status).toBe(200);
    expect(emptied.body.equipment).toEqual([]);
    expect((await t.request('DELETE', `/user/characters/${p.characterId}/equipment/weapon_skin`, { token: p.token })).status).toBe(200);
    expect((await t.request('DELETE', `/user/characters/${p.characterId}/equipment/Not-A-Slot`, { token: p.token })).status).toBe(400);
  });

  it('when two characters wear the same owned item, then both show it and the entry lists both', async () => {
    const player = await t.player();
    const [entry] = await f.grant(player.id, [{ itemId: await f.item({ gameId: gameA, slot: 'emote', kind: 'game_item' }) }]);
    const ids: string[] = [];
    for (const name of ['One', 'Two']) {
      const character = await t.request('POST', '/user/characters', { token: player.token, body: { name, gameId: gameA } });
      expect((await equip(player.token, character.body.id, 'emote', entry!)).status).toBe(200);
      ids.push(character.body.id);
    }
    const inventory = await t.request('GET', '/user/inventory', { token: player.token });
    expect(inventory.body.items[0].equippedBy).toEqual([...ids].sort());
  });
});

describe('unequipping a slot the character cannot have', () => {
  const unequip = (token: string, characterId: string, slot: string) =>
    t.request('DELETE', `/user/characters/${characterId}/equipment/${slot}`, { token });
  const read = async (token: string, characterId: string) => (await t.request('GET', `/user/characters/${characterId}`, { token })).body;

  it("when the slot is not one of the character's game's slots, then 404 not_found names it and nothing changes", async () => {
    const p = await playerWithCharacter(gameA);
    const [entry] = await f.grant(p.id, [{ itemId: await f.item({ gameId: gameA, slot: 'weapon_skin' }) }]);
    expect((await equip(p.token, p.characterId, 'weapon_skin', entry!)).status).toBe(200);
    const before = await read(p.token, p.characterId);
    const response = await unequip(p.token, p.characterId, 'banner'); // gameB's slot, not gameA's
    expect(response.status, response.text).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ code: 'not_found', slot: 'banner' });
    expect(response.body.detail).toContain('"banner"');
    expect(await read(p.token, p.characterId)).toEqual(before);
    // An empty slot the game does have stays an idempotent 200.
    expect((await unequip(p.token, p.characterId, 'emote')).status).toBe(200);
  });

  it('when a platform avatar unequips a slot no platform item declares, then 404; a slot some platform item declares is 200', async () => {
    const p = await playerWithCharacter(null);
    const slot = `avatar_${Math.random().toString(36).slice(2, 8)}`;
    const missing = await unequip(p.token, p.characterId, slot);
    expect(missing.status, missing.text).toBe(404);
    expect(missing.body).toMatchObject({ code: 'not_found', slot });
    // A game's slot is not an avatar's: only platform items are worn by avatars.
    const gameSlot = `${slot}_game`;
    await f.item({ gameId: await f.game([gameSlot]), slot: gameSlot });
    expect((await unequip(p.token, p.characterId, gameSlot)).status).toBe(404);
    await f.item({ kind: 'platform_skin', slot });
    expect((await unequip(p.token, p.characterId, slot)).status).toBe(200);
  });

  it('when something is still worn in a slot the game no longer has, then unequipping takes it off', async () => {
    const gameId = await f.game(['weapon_skin', 'frame']);
    const p = await playerWithCharacter(gameId);
    const [entry] = await f.grant(p.id, [{ itemId: await f.item({ kind: 'platform_skin', slot: 'frame' }) }]);
    expect((await equip(p.token, p.characterId, 'frame', entry!)).status).toBe(200);
    // A row left behind by a rule change that did not sweep (the operator's PATCH would have).
    await t.runtime.deps.db.query("DELETE FROM game_slots WHERE game_id = $1 AND slot = 'frame'", [gameId]);
    const response = await unequip(p.token, p.characterId, 'frame');
    expect(response.status, response.text).toBe(200);
    expect(response.body.equipment).toEqual([]);
  });
});

describe('malformed equipment requests', () => {
  it('when the slot, body or ids are malformed, then 400 validation_failed and nothing is equipped', async () => {
    const p = await playerWithCharacter(gameA);
    const [entry] = await f.grant(p.id, [{ itemId: await f.item({ gameId: gameA, slot: 'weapon_skin' }) }]);
    const attempts: Array<[string, string, unknown]> = [
      ['PUT', `/user/characters/${p.characterId}/equipment/Weapon-Skin`, { inventoryItemId: entry }],
      ['PUT', `/user/characters/${p.characterId}/equipment/weapon_skin`, {}],
      ['PUT', `/user/characters/${p.characterId}/equipment/weapon_skin`, { inventoryItemId: 'nope' }],
      ['PUT', `/user/characters/${p.characterId}/equipment/weapon_skin`, { inventoryItemId: entry, extra: 1 }],
      ['PUT', `/user/characters/not-a-uuid/equipment/weapon_skin`, { inventoryItemId: entry }],
      ['PATCH', `/user/characters/${p.characterId}`, {}],
    ];
    for (const [method, path, body] of attempts) {
      const response = await t.request(method, path, { token: p.token, body });
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect((await t.request('GET', `/user/characters/${p.characterId}`, { token: p.token })).body.equipment).toEqual([]);
  });
});

describe('revocation', () => {
  it('when an equipped item is revoked (refund), then every character wearing it loses it at once', async () => {
    const player = await t.player();
    const itemId = await f.item({ gameId: gameA, slot: 'weapon_skin' });
    const [entry] = await f.grant(player.id, [{ itemId }]);
    const characters: string[] = [];
    for (const name of ['One', 'Two']) {
      const character = await t.request('POST', '/user/characters', { token: player.token, body: { name, gameId: gameA } });
      await equip(player.token, character.body.id, 'weapon_skin', entry!);
      characters.push(character.body.id);
    }
    // Warm the caches so the test also proves they are invalidated.
    for (const id of characters) expect((await t.request('GET', `/user/characters/${id}`, { token: player.token })).body.equipment).toHaveLength(1);

    const { inventory } = t.runtime.services;
    const revoked = await t.runtime.deps.db.withTx((tx) => inventory.revokeItemInTx(tx, { userId: player.id, itemId, quantity: 1, reference: 'order-refund' }));
    await inventory.invalidateUser(player.id);
    expect(revoked).toBe(1);

    for (const id of characters) expect((await t.request('GET', `/user/characters/${id}`, { token: player.token })).body.equipment).toEqual([]);
    expect((await t.request('GET', '/user/inventory', { token: player.token })).body.items).toEqual([]);
    await expectRefused(await equip(player.token, characters[0]!, 'weapon_skin', entry!), 'not_owned');
  });
});

describe('refund over HTTP', () => {
  it('when a bought and equipped item is refunded by an operator, then the character and the cached inventory lose it', async () => {
    const itemId = await f.item({ name: 'Bought Blade', gameId: gameA, slot: 'weapon_skin' });
    const listingId = await createListing(t, { price: 30, items: [{ itemId }] });
    const player = await fundedPlayer(t, 50);
    const order = await t.request('POST', '/store/purchases', { token: player.token, headers: { 'idempotency-key': f.unique('buy') }, body: { listingId } });
    expect(order.status, order.text).toBe(201);

    const inventory = await t.request('GET', '/user/inventory', { token: player.token });
    expect(inventory.body.items).toEqual([expect.objectContaining({ itemId, source: 'purchase', sourceRef: order.body.id })]);
    const character = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'Buyer', gameId: gameA } });
    expect((await equip(player.token, character.body.id, 'weapon_skin', inventory.body.items[0].id)).status).toBe(200);
    expect((await t.request('GET', '/user/inventory', { token: player.token })).body.items[0].equippedBy).toEqual([character.body.id]);

    const refund = await t.request('POST', `/admin/orders/${order.body.id}/refund`, { token: t.adminToken, headers: { 'idempotency-key': f.unique('refund') }, body: { reason: 'test' } });
    expect(refund.status, refund.text).toBe(200);
    expect((await t.request('GET', `/user/characters/${character.body.id}`, { token: player.token })).body.equipment).toEqual([]);
    expect((await t.request('GET', '/user/inventory', { token: player.token })).body.items).toEqual([]);
  });
});

describe('POST /service/loadouts', () => {
  it("when a game server asks for several players' characters, then each comes with its equipment and unknown ids are listed as missing", async () => {
    const a = await playerWithCharacter(gameA);
    const b = await playerWithCharacter(gameA);
    const [entry] = await f.grant(a.id, [{ itemId: await f.item({ name: 'Crown', gameId: gameA, slot: 'outfit', kind: 'game_item' }) }]);
    await equip(a.token, a.characterId, 'outfit', entry!);
    const unknown = crypto.randomUUID();

    const response = await t.request('POST', '/service/loadouts', { token: t.serviceToken, body: { characterIds: [a.characterId, b.characterId, unknown, a.characterId] } });
    expect(response.status).toBe(200);
    expect(response.body.missing).toEqual([unknown]);
    const byId = Object.fromEntries(response.body.items.map((c: { id: string }) => [c.id, c]));
    expect(Object.keys(byId)).toHaveLength(2);
    expect(byId[a.characterId]).toMatchObject({ userId: a.id, gameId: gameA, equipment: [{ slot: 'outfit', inventoryItemId: entry, name: 'Crown', kind: 'game_item' }] });
    expect(byId[b.characterId]).toMatchObject({ userId: b.id, equipment: [] });
  });

  it('when 101 ids, no ids or malformed ids are sent, or a player calls it, then the request is refused', async () => {
    const ids = Array.from({ length: 101 }, () => crypto.randomUUID());
    for (const characterIds of [ids, [], ['nope']]) {
      const response = await t.request('POST', '/service/loadouts', { token: t.serviceToken, body: { characterIds } });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect((await t.request('POST', '/service/loadouts', { token: t.serviceToken, body: { characterIds: ids.slice(0, 100) } })).status).toBe(200);
    const player = await t.player();
    expect((await t.request('POST', '/service/loadouts', { token: player.token, body: { characterIds: [ids[0]] } })).status).toBe(403);
  });
});

describe('equipping while the item is being revoked', () => {
  it('when equips and a revocation race, then every equip either lands before the revoke (and is cascaded away) or answers not_owned, never a 500', async () => {
    const player = await t.player();
    const itemId = await f.item({ gameId: gameA, slot: 'weapon_skin' });
    const [entry] = await f.grant(player.id, [{ itemId }]);
    const characters: string[] = [];
    for (const name of ['One', 'Two', 'Three']) {
      characters.push((await t.request('POST', '/user/characters', { token: player.token, body: { name, gameId: gameA } })).body.id);
    }
    const { inventory } = t.runtime.services;
    const [revoked, ...equips] = await Promise.all([
      t.runtime.deps.db.withTx((tx) => inventory.revokeItemInTx(tx, { userId: player.id, itemId, quantity: 1, reference: 'race' })),
      ...characters.map((id) => equip(player.token, id, 'weapon_skin', entry!)),
    ]);
    await inventory.invalidateUser(player.id);
    expect(revoked).toBe(1);
    for (const response of equips) {
      expect([200, 409], response.text).toContain(response.status);
      if (response.status === 409) expect(response.body.code).toBe('not_owned');
    }
    for (const id of characters) {
      expect((await t.request('GET', `/user/characters/${id}`, { token: player.token })).body.equipment).toEqual([]);
    }
  });
});

describe('equipping while the catalog changes', () => {
  it('when an operator is changing the item (its transaction still open), then the equip waits and checks the changed rules', async () => {
    const p = await playerWithCharacter(gameA);
    const item = await f.item({ gameId: gameA, slot: 'weapon_skin' });
    const [entry] = await f.grant(p.id, [{ itemId: item }]);
    const operator = await t.runtime.deps.db.withTx(async (tx) => {
      await tx.query('UPDATE item_definitions SET slot = $2 WHERE id = $1', [item, 'emote']);
      let settled = false;
      const equipping = equip(p.token, p.characterId, 'weapon_skin', entry!).finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { equipping, settledBeforeCommit: settled };
    });
    expect(operator.settledBeforeCommit).toBe(false); // it waited for the operator's commit
    await expectRefused(await operator.equipping, 'not_compatible'); // and judged the item's new slot
    expect((await t.request('GET', `/user/characters/${p.characterId}`, { token: p.token })).body.equipment).toEqual([]);
  });
});
