// OWASP API3:2023 Broken Object Property Level Authorization (mass assignment). Bodies are closed schemas: a
// player who adds price, owner, balance or status fields gets 400 and nothing is written — the fields are never
// silently applied. Responses, in turn, never carry another user's or the server's private fields.
import { randomUUID } from 'node:crypto';
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

const count = async (sql: string, params: unknown[] = []) => (await t.runtime.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;

describe('API3 property-level authorization', () => {
  it('when a purchase body adds price, total, owner, balance or status fields, then 400 and no order, charge or stock change', async () => {
    const { mallory, alice, listings } = world;
    const ordersBefore = await count('orders');
    const wallet = (await t.request('GET', '/user/wallet', { token: mallory.token })).body;
    const injections: Array<Record<string, unknown>> = [
      { unitPrice: 0 },
      { price: 0 },
      { totalPrice: 0 },
      { userId: alice.id },
      { ownerId: alice.id },
      { balanceAfter: 1_000_000 },
      { balance: 1_000_000 },
      { status: 'refunded' },
      { id: randomUUID() },
      { createdAt: '2000-01-01T00:00:00Z' },
      { lines: [{ itemId: world.items.skin, quantity: 1 }] },
      JSON.parse('{"__proto__": {"price": 0}}'),
      JSON.parse('{"constructor": {"prototype": {"price": 0}}}'),
    ];
    for (const extra of injections) {
      const response = await t.request('POST', '/store/purchases', { token: mallory.token, body: { listingId: listings.potion, quantity: 1, ...extra }, headers: key() });
      expect(response.status, JSON.stringify(extra)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect(await count('orders')).toBe(ordersBefore);
    expect((await t.request('GET', '/user/wallet', { token: mallory.token })).body).toEqual(wallet);
  });

  it('when a player creates or renames a character with an owner, id or equipment field, then 400 and the character stays hers as it was', async () => {
    const { mallory, alice } = world;
    const before = await count('characters WHERE user_id = $1', [alice.id]);
    for (const extra of [{ userId: alice.id }, { id: alice.characterId }, { equipment: [{ slot: 'weapon_skin', inventoryItemId: alice.inventory.skin }] }]) {
      const created = await t.request('POST', '/user/characters', { token: mallory.token, body: { name: 'Sneaky', ...extra } });
      expect(created.status, JSON.stringify(extra)).toBe(400);
      const renamed = await t.request('PATCH', `/user/characters/${mallory.characterId}`, { token: mallory.token, body: { name: 'Sneaky', ...extra } });
      expect(renamed.status, JSON.stringify(extra)).toBe(400);
    }
    expect(await count('characters WHERE user_id = $1', [alice.id])).toBe(before);
    const mine = await t.request('GET', `/user/characters/${mallory.characterId}`, { token: mallory.token });
    expect(mine.body.name).toBe('Mallory main');
  });

  it('when a use request adds a quantity for someone else or a new balance, then 400 and the stack is untouched', async () => {
    const { mallory, alice } = world;
    for (const extra of [{ userId: alice.id }, { remaining: 1000 }, { maxStack: 1_000_000 }]) {
      const response = await t.request('POST', `/user/inventory/${mallory.inventory.potion}/use`, { token: mallory.token, body: { quantity: 1, ...extra }, headers: key() });
      expect(response.status, JSON.stringify(extra)).toBe(400);
    }
    const inventory = await t.request('GET', '/user/inventory?limit=100', { token: mallory.token });
    expect(inventory.body.items.find((e: { id: string }) => e.id === mallory.inventory.potion).quantity).toBe(3);
  });

  it('when a service grant smuggles a balance, a transfer or a role, then 400 and no gems move', async () => {
    const transfers = await count('ledger_transfers');
    for (const extra of [{ balance: 5 }, { amount: 1_000_000 }, { role: 'admin' }, { grantedBy: 'admin' }]) {
      const response = await t.request('POST', '/service/grants', { token: t.serviceToken, body: { userId: world.mallory.id, gems: 1, reason: 'x', ...extra }, headers: key() });
      expect(response.status, JSON.stringify(extra)).toBe(400);
    }
    expect(await count('ledger_transfers')).toBe(transfers);
    expect((await verifyLedger(t.runtime.deps.db)).ok).toBe(true);
  });

  it('when prototype-polluting keys are sent anywhere, then the process stays unpolluted', async () => {
    await t.request('POST', '/user/characters', { token: world.mallory.token, body: '{"name":"x","__proto__":{"polluted":"yes","isAdmin":true}}' });
    await t.request('POST', '/store/purchases', { token: world.mallory.token, body: '{"listingId":"x","constructor":{"prototype":{"polluted":"yes"}}}', headers: key() });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});
