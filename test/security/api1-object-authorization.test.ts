// OWASP API1:2023 Broken Object Level Authorization. Every route that takes an object id is tried by Mallory with
// Alice's ids: the answer is 404 (Alice's rows do not exist for her), never 403 (which would confirm they exist)
// and never a change to Alice's data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { verifyLedger } from '../../src/modules/wallet/ledger-verifier.js';
import { buildWorld, key, type World } from './fixtures.js';

let t: TestApp;
let world: World;

beforeAll(async () => {
  t = await startTestApp();
  world = await buildWorld(t);
});
afterAll(async () => t?.close());

async function aliceSnapshot() {
  const { alice } = world;
  const [wallet, inventory, character, orders] = await Promise.all([
    t.request('GET', '/user/wallet', { token: alice.token }),
    t.request('GET', '/user/inventory?limit=100', { token: alice.token }),
    t.request('GET', `/user/characters/${alice.characterId}`, { token: alice.token }),
    t.request('GET', '/user/purchases?limit=100', { token: alice.token }),
  ]);
  return { wallet: wallet.body, inventory: inventory.body, character: character.body, orders: orders.body.items.map((o: { id: string; status: string }) => [o.id, o.status]) };
}

describe('API1 object-level authorization', () => {
  it("when Mallory uses Alice's ids on every :id route, then each answers 404 and Alice's data is unchanged", async () => {
    const { alice, mallory } = world;
    const before = await aliceSnapshot();
    const attempts: Array<[string, string, unknown?, Record<string, string>?]> = [
      ['GET', `/user/purchases/${alice.orders.skin}`],
      ['GET', `/user/purchases/${alice.orders.voucher}`],
      ['POST', `/user/inventory/${alice.inventory.potion}/use`, { quantity: 1 }, key()],
      ['POST', `/user/inventory/${alice.inventory.skin}/use`, { quantity: 1 }, key()],
      ['GET', `/user/characters/${alice.characterId}`],
      ['PATCH', `/user/characters/${alice.characterId}`, { name: 'pwned' }],
      ['DELETE', `/user/characters/${alice.characterId}`],
      ['PUT', `/user/characters/${alice.characterId}/equipment/weapon_skin`, { inventoryItemId: mallory.inventory.skin }],
      ['DELETE', `/user/characters/${alice.characterId}/equipment/weapon_skin`],
    ];
    for (const [method, path, body, headers] of attempts) {
      const response = await t.request(method, path, { token: mallory.token, body, headers });
      expect(response.status, `${method} ${path}: ${response.text}`).toBe(404);
      expect(response.body.code).toBe('not_found');
    }
    expect(await aliceSnapshot()).toEqual(before);
  });

  it("when Mallory equips Alice's inventory entry on her own character, then it is refused as not hers and nothing is equipped", async () => {
    const { alice, mallory } = world;
    const response = await t.request('PUT', `/user/characters/${mallory.characterId}/equipment/weapon_skin`, { token: mallory.token, body: { inventoryItemId: alice.inventory.skin } });
    expect([404, 409]).toContain(response.status);
    expect(['not_found', 'not_owned']).toContain(response.body.code);
    const character = await t.request('GET', `/user/characters/${mallory.characterId}`, { token: mallory.token });
    expect(character.body.equipment.map((e: { inventoryItemId: string }) => e.inventoryItemId)).toEqual([mallory.inventory.skin]);
  });

  it("when a game server names Mallory but Alice's inventory entry, then the consume answers 404 and Alice keeps her stack", async () => {
    const { alice, mallory } = world;
    const response = await t.request('POST', `/service/users/${mallory.id}/inventory/${alice.inventory.potion}/consume`, { token: t.serviceToken, body: { quantity: 1 }, headers: key() });
    expect(response.status).toBe(404);
    const inventory = await t.request('GET', '/user/inventory?limit=100', { token: alice.token });
    expect(inventory.body.items.find((e: { id: string }) => e.id === alice.inventory.potion).quantity).toBe(3);
  });

  it("when Mallory lists her orders, inventory, characters and ledger, then none of Alice's rows appear", async () => {
    const { alice, mallory } = world;
    const aliceIds = new Set([...Object.values(alice.orders), ...Object.values(alice.inventory), alice.characterId]);
    for (const path of ['/user/purchases?limit=100', '/user/inventory?limit=100', '/user/characters?limit=100', '/user/wallet/transactions?limit=100']) {
      const response = await t.request('GET', path, { token: mallory.token });
      expect(response.status).toBe(200);
      const leaked = (response.body.items as Array<{ id: string }>).filter((row) => aliceIds.has(row.id));
      expect(leaked, path).toEqual([]);
      expect(response.text).not.toContain(alice.id);
    }
    expect((await verifyLedger(t.runtime.deps.db)).ok).toBe(true);
  });
});
