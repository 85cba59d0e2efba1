import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { balanceOf, count, createItem, createListing, db, expectLedgerConsistent, fundedPlayer, key } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const buy = (token: string, body: unknown) => t.request('POST', '/store/purchases', { token, headers: key(), body });
const refund = (orderId: string, headers: Record<string, string> = key(), body?: unknown) =>
  t.request('POST', `/admin/orders/${orderId}/refund`, { token: t.adminToken, headers, body });

describe('POST /admin/orders/:id/refund', () => {
  it('when an order is refunded, then gems return, items are revoked and unequipped, stock and the per-user limit are restored', async () => {
    const skin = await createItem(t);
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 40, items: [{ itemId: skin }, { itemId: potion, quantity: 3 }], stock: 2, perUserLimit: 1 });
    const player = await fundedPlayer(t, 100);
    const order = await buy(player.token, { listingId: listing });
    expect(order.status).toBe(201);
    // Equip the skin on a character, to see the refund take it off.
    const { rows } = await db(t).query<{ id: string }>(
      `WITH c AS (INSERT INTO characters (user_id, name) VALUES ($1, 'Hero') RETURNING id)
       INSERT INTO character_equipment (character_id, slot, inventory_item_id)
       SELECT c.id, 'skin', i.id FROM c, inventory_items i WHERE i.user_id = $1 AND i.item_id = $2 RETURNING character_id AS id`,
      [player.id, skin],
    );
    expect(rows).toHaveLength(1);

    const response = await refund(order.body.id, key(), { reason: 'customer support ticket 42' });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: order.body.id, status: 'refunded', userId: player.id, refundedAmount: 40 });
    expect(response.body.refundedAt).toEqual(expect.any(String));
    expect(await balanceOf(t, player.id)).toBe(100);
    expect(await count(t, 'inventory_items WHERE user_id = $1 AND quantity > 0', [player.id])).toBe(0);
    expect(await count(t, 'character_equipment WHERE character_id = $1', [rows[0]!.id])).toBe(0);
    expect(await count(t, 'listings WHERE id = $1 AND stock_remaining = 2', [listing])).toBe(1);
    const history = await t.request('GET', '/user/wallet/transactions', { token: player.token });
    expect(history.body.items[0]).toMatchObject({ amount: 40, reason: 'refund', reference: order.body.id });
    // The limit counts what the player holds, so the refunded unit may be bought again.
    expect((await buy(player.token, { listingId: listing })).status).toBe(201);
    await expectLedgerConsistent(t);
  });

  it('when an order is refunded twice, sequentially or in parallel with different keys, then it pays exactly once', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 15, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 45);
    const a = await buy(player.token, { listingId: listing });
    const b = await buy(player.token, { listingId: listing });
    expect((await refund(a.body.id)).status).toBe(200);
    const again = await refund(a.body.id);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invalid_state');
    const parallel = await Promise.all(Array.from({ length: 8 }, () => refund(b.body.id)));
    expect(parallel.filter((r) => r.status === 200)).toHaveLength(1);
    expect(parallel.filter((r) => r.status === 409 && r.body.code === 'invalid_state')).toHaveLength(7);
    expect(await balanceOf(t, player.id)).toBe(45);
    await expectLedgerConsistent(t);
  });

  it('when the same refund key is replayed, then the first answer comes back and nothing more is paid', async () => {
    const potion = await createItem(t, { consumable: true });
    const listing = await createListing(t, { price: 5, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 5);
    const order = await buy(player.token, { listingId: listing });
    const headers = key();
    const first = await refund(order.body.id, headers);
    const replay = await refund(order.body.id, headers);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await balanceOf(t, player.id)).toBe(5);
  });

  it('when a bare refund is retried with the default reason spelled out (or the other way round), then it is the same refund, replayed; another reason is 422', async () => {
    const potion = await createItem(t, { consumable: true });
    const listing = await createListing(t, { price: 5, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 10);
    const bare = await buy(player.token, { listingId: listing });
    const spelled = await buy(player.token, { listingId: listing });

    const bareKey = key();
    const first = await refund(bare.body.id, bareKey);
    expect(first.status).toBe(200);
    const retried = await refund(bare.body.id, bareKey, { reason: 'refunded by an operator' });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body).toEqual(first.body);

    const spelledKey = key();
    expect((await refund(spelled.body.id, spelledKey, { reason: 'refunded by an operator' })).status).toBe(200);
    const bareRetry = await refund(spelled.body.id, spelledKey);
    expect(bareRetry.status, bareRetry.text).toBe(200);
    expect(bareRetry.headers.get('idempotent-replayed')).toBe('true');
    const otherReason = await refund(spelled.body.id, spelledKey, { reason: 'another reason' });
    expect(otherReason.status).toBe(422);
    expect(otherReason.body.code).toBe('idempotency_key_reused');
    expect(await balanceOf(t, player.id)).toBe(10);
  });

  it('when a parcel order is refunded before it ships, then its fulfillment is cancelled', async () => {
    const shirt = await createItem(t, { kind: 'merch', consumable: true, deliveryType: 'shopify' });
    const listing = await createListing(t, { price: 30, items: [{ itemId: shirt }], stock: 5 });
    const player = await fundedPlayer(t, 30);
    const order = await buy(player.token, { listingId: listing, shippingAddress: { name: 'Ada', address1: '1 Main St', city: 'Berlin', zip: '10115', country: 'DE' } });
    expect((await refund(order.body.id)).status).toBe(200);
    const detail = await t.request('GET', `/user/purchases/${order.body.id}`, { token: player.token });
    expect(detail.body.status).toBe('refunded');
    expect(detail.body.lines[0].fulfillment.status).toBe('cancelled');
    expect(detail.body.lines[0].fulfillment.events.map((e: any) => e.status)).toEqual(['pending', 'cancelled']);
    expect(await count(t, 'listings WHERE id = $1 AND stock_remaining = 5', [listing])).toBe(1);
  });

  it('when a gem pack order is refunded, then the gems it credited are taken back with the price returned', async () => {
    const pack = await createItem(t, { kind: 'gem_pack', consumable: true, deliveryType: 'functional', effect: { gems: 25 } });
    const listing = await createListing(t, { price: 10, items: [{ itemId: pack }] });
    const player = await fundedPlayer(t, 10);
    const order = await buy(player.token, { listingId: listing });
    expect(order.body.balanceAfter).toBe(25);
    expect((await refund(order.body.id)).status).toBe(200);
    expect(await balanceOf(t, player.id)).toBe(10);
    await expectLedgerConsistent(t);
  });

  it("when a gem pack's effect is edited after the purchase, then the refund takes back what was credited, not the new effect", async () => {
    const pack = await createItem(t, { kind: 'gem_pack', consumable: true, deliveryType: 'functional', effect: { gems: 25 } });
    const listing = await createListing(t, { price: 10, items: [{ itemId: pack, quantity: 2 }] });
    const player = await fundedPlayer(t, 5000);
    const order = await buy(player.token, { listingId: listing });
    expect(order.body.balanceAfter).toBe(5040);
    await db(t).query(`UPDATE item_definitions SET effect = '{"gems": 1000}' WHERE id = $1`, [pack]);
    expect((await refund(order.body.id)).status).toBe(200);
    expect(await balanceOf(t, player.id)).toBe(5000);
    await expectLedgerConsistent(t);
  });

  it('when the order is unknown, the id malformed or the reason blank, then 404 / 400; a player may not refund', async () => {
    expect((await refund(randomUUID())).status).toBe(404);
    expect((await refund('nope')).status).toBe(400);
    const order = await buy((await fundedPlayer(t, 10)).token, { listingId: await createListing(t, { price: 3, items: [{ itemId: await createItem(t, { consumable: true, maxStack: 10 }) }] }) });
    expect(order.status).toBe(201);
    const blank = await t.request('POST', `/admin/orders/${order.body.id}/refund`, { token: t.adminToken, headers: key(), body: { reason: '   ' } });
    expect(blank.status).toBe(400);
    expect(blank.body.code).toBe('validation_failed');
    // A lone surrogate would be stored as U+FFFD: the reason in the ledger and the player's history would not be the one sent.
    const surrogate = await t.request('POST', `/admin/orders/${order.body.id}/refund`, { token: t.adminToken, headers: key(), body: '{"reason": "damaged \\ud800 parcel"}' });
    expect(surrogate.status).toBe(400);
    expect(surrogate.body.code).toBe('validation_failed');
    expect(await count(t, 'orders WHERE id = $1 AND status = $2', [order.body.id, 'completed'])).toBe(1);
    const player = await t.player();
    const forbidden = await t.request('POST', `/admin/orders/${randomUUID()}/refund`, { token: player.token, headers: key() });
    expect(forbidden.status).toBe(403);
  });
});

describe('GET /admin/orders', () => {
  it('when filtered by status, then only those orders come back, newest first, cursor-paginated', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 10);
    const orders: string[] = [];
    for (let i = 0; i < 3; i++) orders.push((await buy(player.token, { listingId: listing })).body.id);
    await refund(orders[0]!);
    await refund(orders[2]!);
    const refunded: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await t.request('GET', `/admin/orders?status=refunded&limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: t.adminToken });
      expect(page.status).toBe(200);
      refunded.push(...page.body.items.map((o: any) => o.id));
      for (const item of page.body.items) expect(item.status).toBe('refunded');
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(refunded.filter((id) => orders.includes(id))).toEqual([orders[2], orders[0]]);
    expect((await t.request('GET', '/admin/orders?status=lost', { token: t.adminToken })).status).toBe(400);
  });
});
