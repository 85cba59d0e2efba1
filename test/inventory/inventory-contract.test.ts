// The inventory functions purchases, grants and refunds call inside their transactions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import type { GrantItems } from '../../src/modules/inventory/index.js';

let t: TestApp;
let skinId: string;
let livesId: string;
let gameId: string;

const insertId = async (sql: string, params: unknown[] = []) => (await t.runtime.deps.db.query<{ id: string }>(sql, params)).rows[0]!.id;
const newUser = async () => {
  const id = crypto.randomUUID();
  await t.runtime.deps.db.query('INSERT INTO users (id) VALUES ($1)', [id]);
  return id;
};
const grant = (userId: string, items: GrantItems['items'], sourceRef = crypto.randomUUID()) =>
  t.runtime.deps.db.withTx((tx) => t.runtime.services.inventory.grantItemsInTx(tx, { userId, items, source: 'grant', sourceRef, actor: 'test' }));
const entries = async (userId: string) =>
  (await t.runtime.deps.db.query<{ item_id: string; quantity: number }>('SELECT item_id, quantity FROM inventory_items WHERE user_id = $1 ORDER BY item_id', [userId])).rows;

beforeAll(async () => {
  t = await startTestApp();
  gameId = await insertId(`INSERT INTO games (slug, name) VALUES ('c1', 'Contract Game') RETURNING id`);
  await t.runtime.deps.db.query(`INSERT INTO game_slots (game_id, slot) VALUES ($1, 'weapon_skin')`, [gameId]);
  skinId = await insertId(`INSERT INTO item_definitions (sku, name, kind, game_id, slot, delivery_type) VALUES ('skin', 'Skin', 'game_skin', $1, 'weapon_skin', 'inventory') RETURNING id`, [gameId]);
  livesId = await insertId(`INSERT INTO item_definitions (sku, name, kind, consumable, max_stack, delivery_type) VALUES ('lives', 'Extra life', 'utility', true, 5, 'inventory') RETURNING id`);
});
afterAll(async () => t?.close());

describe('inventory contract', () => {
  it('when items are granted, then each is one entry with its stack and an event, and repeated ids are summed', async () => {
    const user = await newUser();
    const granted = await grant(user, [{ itemId: skinId, quantity: 1 }, { itemId: livesId, quantity: 2 }, { itemId: livesId, quantity: 1 }]);
    expect(granted).toHaveLength(2);
    expect(granted.find((g) => g.itemId === livesId)!.quantity).toBe(3);
    const events = await t.runtime.deps.db.query<{ delta: number; reason: string; actor: string }>(
      'SELECT delta, reason, actor FROM inventory_events WHERE user_id = $1 ORDER BY delta', [user]);
    expect(events.rows).toEqual([{ delta: 1, reason: 'grant', actor: 'test' }, { delta: 3, reason: 'grant', actor: 'test' }]);
  });

  it('when a consumable is granted again, then the stack grows up to maxStack and beyond it stack_limit_reached changes nothing', async () => {
    const user = await newUser();
    await grant(user, [{ itemId: livesId, quantity: 4 }]);
    expect((await grant(user, [{ itemId: livesId, quantity: 1 }]))[0]!.quantity).toBe(5);
    await expect(grant(user, [{ itemId: livesId, quantity: 1 }])).rejects.toMatchObject({ code: 'stack_limit_reached' });
    await expect(grant(await newUser(), [{ itemId: livesId, quantity: 6 }])).rejects.toMatchObject({ code: 'stack_limit_reached' });
    expect(await entries(user)).toEqual([{ item_id: livesId, quantity: 5 }]);
  });

  it('when an owned non-consumable is granted again in a batch, then already_owned and the whole batch rolls back', async () => {
    const user = await newUser();
    await grant(user, [{ itemId: skinId, quantity: 1 }]);
    await expect(grant(user, [{ itemId: livesId, quantity: 1 }, { itemId: skinId, quantity: 1 }])).rejects.toMatchObject({ code: 'already_owned' });
    expect(await entries(user)).toEqual([{ item_id: skinId, quantity: 1 }]);
  });

  it('when two transactions grant the same non-consumable at once, then exactly one succeeds', async () => {
    const user = await newUser();
    const results = await Promise.allSettled([grant(user, [{ itemId: skinId, quantity: 1 }]), grant(user, [{ itemId: skinId, quantity: 1 }])]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'already_owned' } });
    expect(await entries(user)).toHaveLength(1);
  });

  it('when two grants name the same items in opposite orders while one holds a row, then neither deadlocks: rows are taken in one order', async () => {
    const { db } = t.runtime.deps;
    const consumable = (sku: string) => insertId(`INSERT INTO item_definitions (sku, name, kind, consumable, max_stack, delivery_type) VALUES ($1, $1, 'utility', true, 50, 'inventory') RETURNING id`, [sku]);
    const [lo, hi] = [await consumable(`order-a-${crypto.randomUUID()}`), await consumable(`order-b-${crypto.randomUUID()}`)].sort();
    const user = await newUser();
    await grant(user, [{ itemId: lo!, quantity: 1 }, { itemId: hi!, quantity: 1 }]);
    const { inventory } = t.runtime.services;
    const grantIn = (tx: Parameters<typeof inventory.grantItemsInTx>[0], items: GrantItems['items']) =>
      inventory.grantItemsInTx(tx, { userId: user, items, source: 'grant', sourceRef: crypto.randomUUID(), actor: 'test' });
    const waitingOnLocks = async () => {
      for (let i = 0; i < 200; i++) {
        const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if (rows[0]!.n > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('the second grant never waited');
    };
    // No retry: a deadlock must show as the 40P01 it is, not be hidden by withTx's retry (which costs deadlock_timeout).
    let second: Promise<unknown> | undefined;
    const first = db.withTx(async (tx) => {
      await grantIn(tx, [{ itemId: lo!, quantity: 1 }]);
      second = db.withTx((tx2) => grantIn(tx2, [{ itemId: hi!, quantity: 1 }, { itemId: lo!, quantity: 1 }]), { maxAttempts: 1 });
      second.catch(() => undefined);
      await waitingOnLocks();
      await grantIn(tx, [{ itemId: hi!, quantity: 1 }]);
    }, { maxAttempts: 1 });
    const results = await Promise.allSettled([first, first.catch(() => undefined).then(() => second)]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'))).toEqual(['ok', 'ok']);
    expect(await entries(user)).toEqual([{ item_id: lo, quantity: 3 }, { item_id: hi, quantity: 3 }]);
  });

  it('when an unknown item is granted, then not_found', async () => {
    await expect(grant(await newUser(), [{ itemId: crypto.randomUUID(), quantity: 1 }])).rejects.toMatchObject({ code: 'not_found' });
  });

  it('when items are revoked, then a non-consumable entry is deleted and a stack shrinks but never below zero', async () => {
    const { inventory } = t.runtime.services;
    const user = await newUser();
    await grant(user, [{ itemId: skinId, quantity: 1 }, { itemId: livesId, quantity: 3 }]);
    expect(await inventory.ownedItemIdsInTx(t.runtime.deps.db, user, [skinId, livesId, crypto.randomUUID()])).toHaveLength(2);
    const revoke = (itemId: string, quantity: number) =>
      t.runtime.deps.db.withTx((tx) => inventory.revokeItemInTx(tx, { userId: user, itemId, quantity, reference: 'refund-1' }));
    expect(await revoke(skinId, 1)).toBe(1);
    expect(await revoke(skinId, 1)).toBe(0);
    expect(await revoke(livesId, 2)).toBe(2);
    expect(await revoke(livesId, 5)).toBe(1);
    expect(await entries(user)).toEqual([{ item_id: livesId, quantity: 0 }]);
    expect(await inventory.ownedItemIdsInTx(t.runtime.deps.db, user, [skinId, livesId])).toEqual([]);
    const revokes = await t.runtime.deps.db.query<{ delta: number }>(`SELECT delta FROM inventory_events WHERE user_id = $1 AND reason = 'revoke' ORDER BY id`, [user]);
    expect(revokes.rows.map((r) => r.delta)).toEqual([-1, -2, -1]);
    // A stack emptied by revocation can be granted again.
    expect((await grant(user, [{ itemId: livesId, quantity: 2 }]))[0]!.quantity).toBe(2);
  });
});
