import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createUser, placeOrder } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const q = <R>(sql: string, params: unknown[]) => t.runtime.deps.db.query<R>(sql, params).then((r) => r.rows);

describe('deliveries inside the purchase transaction', () => {
  it('when an order mixes inventory, functional, email and shopify lines, then each gets its fulfillment, history and status at once', async () => {
    const skin = await createItem(t, { deliveryType: 'inventory' });
    const gems = await createItem(t, { deliveryType: 'functional', effect: { gems: 500 } });
    const lives = await createItem(t, { deliveryType: 'functional', effect: { lives: 3, name_change: true } });
    const voucher = await createItem(t, { deliveryType: 'email' });
    await t.request('POST', `/admin/items/${voucher}/vouchers`, { token: t.adminToken, body: { codes: ['MIX-1'] } });
    const shirt = await createItem(t, { deliveryType: 'shopify' });
    const userId = await createUser(t);

    const { orderId, fulfillments } = await placeOrder(t, {
      userId,
      items: [{ itemId: skin }, { itemId: gems, quantity: 2 }, { itemId: lives, quantity: 2 }, { itemId: voucher }, { itemId: shirt }],
      shippingAddress: { name: 'Grace Hopper', address1: '1 Navy Way', city: 'Arlington', zip: '22202', country: 'US' },
    });
    const statusByType = Object.fromEntries(fulfillments.map((f) => [f.deliveryType, f.status]));
    expect(statusByType).toEqual({ inventory: 'delivered', functional: 'delivered', email: 'pending', shopify: 'pending' });

    expect(await q('SELECT quantity, source, source_ref FROM inventory_items WHERE user_id = $1 AND item_id = $2', [userId, skin]))
      .toEqual([{ quantity: 1, source: 'purchase', source_ref: orderId }]);
    expect(await q('SELECT balance FROM ledger_accounts WHERE user_id = $1', [userId])).toEqual([{ balance: 1000 }]);
    expect(await q(`SELECT reason, reference_type FROM ledger_transfers WHERE reference_id = ANY($1::text[])`, [fulfillments.map((f) => f.fulfillmentId)]))
      .toEqual([{ reason: 'functional_effect', reference_type: 'fulfillment' }]);
    expect(await q('SELECT entitlement, quantity FROM user_entitlements WHERE user_id = $1 ORDER BY entitlement', [userId]))
      .toEqual([{ entitlement: 'lives', quantity: 6 }, { entitlement: 'name_change', quantity: 2 }]);
    expect(await q('SELECT count(*)::int AS n FROM voucher_codes WHERE fulfillment_id = ANY($1::uuid[])', [fulfillments.map((f) => f.fulfillmentId)])).toEqual([{ n: 1 }]);
    // One delivery job for the voucher and one for the parcel, committed with the order.
    expect(await q(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'fulfillment-deliver' AND data->>'fulfillmentId' = ANY($1::text[])`, [fulfillments.map((f) => f.fulfillmentId)])).toEqual([{ n: 2 }]);
    expect(await q('SELECT count(*)::int AS n FROM fulfillment_events WHERE fulfillment_id = ANY($1::uuid[])', [fulfillments.map((f) => f.fulfillmentId)])).toEqual([{ n: 5 }]);
  });

  it('when one line cannot be fulfilled, then the whole order rolls back: no gems, no items, no jobs', async () => {
    const gems = await createItem(t, { deliveryType: 'functional', effect: { gems: 100 } });
    const emptyVoucher = await createItem(t, { deliveryType: 'email' });
    const userId = await createUser(t);
    await expect(placeOrder(t, { userId, items: [{ itemId: gems }, { itemId: emptyVoucher }] })).rejects.toMatchObject({ code: 'out_of_stock' });
    expect(await q('SELECT balance FROM ledger_accounts WHERE user_id = $1', [userId])).toEqual([{ balance: 0 }]);
    expect(await q('SELECT count(*)::int AS n FROM fulfillments WHERE user_id = $1', [userId])).toEqual([{ n: 0 }]);
  });

  it('when a refund cancels an email line before its mail was attempted, then the code stays burnt: its owner could already read it on the order', async () => {
    const voucher = await createItem(t, { deliveryType: 'email' });
    await t.request('POST', `/admin/items/${voucher}/vouchers`, { token: t.adminToken, body: { codes: ['SEEN-1'] } });
    const buyer = await createUser(t);
    const { orderId, fulfillments: [f] } = await placeOrder(t, { userId: buyer, items: [{ itemId: voucher }] });
    const cancelled = await t.runtime.deps.db.withTx((tx) => t.runtime.services.fulfillment.cancelOpenForOrderInTx(tx, orderId, 'refunded by test'));
    expect(cancelled).toEqual([f!.fulfillmentId]);
    const [code] = await q<{ claimed: boolean; fulfillment_id: string }>('SELECT claimed_at IS NOT NULL AS claimed, fulfillment_id FROM voucher_codes WHERE item_id = $1', [voucher]);
    expect(code).toEqual({ claimed: true, fulfillment_id: f!.fulfillmentId });
    // The next buyer finds the pool empty rather than the code the first buyer may already have redeemed.
    await expect(placeOrder(t, { userId: await createUser(t), items: [{ itemId: voucher }] })).rejects.toMatchObject({ code: 'out_of_stock' });
    const again = await t.runtime.deps.db.withTx((tx) => t.runtime.services.fulfillment.cancelOpenForOrderInTx(tx, orderId, 'again'));
    expect(again).toEqual([]);
  });
});
