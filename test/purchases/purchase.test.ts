import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { balanceOf, count, createItem, createListing, expectLedgerConsistent, fundedPlayer, key } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const buy = (token: string, body: unknown, headers: Record<string, string> = key()) => t.request('POST', '/store/purchases', { token, headers, body });

describe('POST /store/purchases', () => {
  it('when a player buys a bundle, then gems are debited once, the order and its lines exist and inventory lines are delivered', async () => {
    const skin = await createItem(t);
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 120, items: [{ itemId: skin }, { itemId: potion, quantity: 5 }] });
    const player = await fundedPlayer(t, 500);

    const response = await buy(player.token, { listingId: listing, expectedPrice: 120 });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ status: 'completed', listingId: listing, quantity: 1, unitPrice: 120, totalPrice: 120, balanceAfter: 380 });
    expect(response.body.lines).toHaveLength(2);
    expect(response.body.lines.find((l: any) => l.itemId === potion)).toMatchObject({ quantity: 5, deliveryType: 'inventory', fulfillment: { status: 'delivered' } });
    expect(await balanceOf(t, player.id)).toBe(380);
    expect(await count(t, 'inventory_items WHERE user_id = $1', [player.id])).toBe(2);
    const wallet = await t.request('GET', '/user/wallet/transactions', { token: player.token });
    expect(wallet.body.items[0]).toMatchObject({ amount: -120, balanceAfter: 380, reason: 'purchase', reference: response.body.id });
    await expectLedgerConsistent(t);
  });

  it('when quantity is 3 of a consumable, then the total and line quantities multiply', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 10, items: [{ itemId: potion, quantity: 2 }] });
    const player = await fundedPlayer(t, 100);
    const response = await buy(player.token, { listingId: listing, quantity: 3 });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ quantity: 3, unitPrice: 10, totalPrice: 30, balanceAfter: 70 });
    expect(response.body.lines[0].quantity).toBe(6);
  });

  it('when a functional gem item is bought, then its gems are credited in the same purchase and balanceAfter includes them', async () => {
    const pack = await createItem(t, { kind: 'gem_pack', consumable: true, deliveryType: 'functional', effect: { gems: 25 } });
    const listing = await createListing(t, { price: 10, items: [{ itemId: pack }] });
    const player = await fundedPlayer(t, 10);
    const response = await buy(player.token, { listingId: listing });
    expect(response.status).toBe(201);
    expect(response.body.balanceAfter).toBe(25);
    expect(response.body.lines[0].fulfillment.status).toBe('delivered');
    await expectLedgerConsistent(t);
  });

  it('when the wallet is short, then 409 insufficient_funds and nothing is written', async () => {
    const skin = await createItem(t);
    const listing = await createListing(t, { price: 50, items: [{ itemId: skin }], stock: 3 });
    const player = await fundedPlayer(t, 49);
    const response = await buy(player.token, { listingId: listing });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('insufficient_funds');
    expect(await balanceOf(t, player.id)).toBe(49);
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(0);
    expect(await count(t, 'listings WHERE id = $1 AND stock_remaining = 3', [listing])).toBe(1);
  });

  it('when a non-consumable is owned, then a second purchase is 409 already_owned and charges nothing', async () => {
    const skin = await createItem(t);
    const listing = await createListing(t, { price: 10, items: [{ itemId: skin }] });
    const player = await fundedPlayer(t, 100);
    expect((await buy(player.token, { listingId: listing })).status).toBe(201);
    const again = await buy(player.token, { listingId: listing });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('already_owned');
    expect(await balanceOf(t, player.id)).toBe(90);
  });

  it('when a non-consumable is asked for with quantity 2, then 400 validation_failed', async () => {
    const skin = await createItem(t);
    const listing = await createListing(t, { price: 10, items: [{ itemId: skin }] });
    const player = await fundedPlayer(t, 100);
    const response = await buy(player.token, { listingId: listing, quantity: 2 });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect(await balanceOf(t, player.id)).toBe(100);
  });

  it('when a non-consumable that never lands in inventory (a parcel, an effect) is asked for with quantity 2, then both units are sold', async () => {
    const shirt = await createItem(t, { kind: 'merch', deliveryType: 'shopify' });
    const chest = await createItem(t, { kind: 'gem_pack', deliveryType: 'functional', effect: { gems: 5 } });
    const merch = await createListing(t, { price: 10, items: [{ itemId: shirt }], stock: 5, perUserLimit: 2 });
    const gems = await createListing(t, { price: 10, items: [{ itemId: chest }] });
    const player = await fundedPlayer(t, 100);
    const address = { name: 'A', address1: '1 Main St', city: 'Town', zip: '12345', country: 'US' };

    const parcel = await buy(player.token, { listingId: merch, quantity: 2, shippingAddress: address });
    expect(parcel.status).toBe(201);
    expect(parcel.body).toMatchObject({ quantity: 2, totalPrice: 20, balanceAfter: 80 });
    expect(parcel.body.lines[0].quantity).toBe(2);
    expect(await count(t, 'listings WHERE id = $1 AND stock_remaining = 3', [merch])).toBe(1);
    const effect = await buy(player.token, { listingId: gems, quantity: 2 });
    expect(effect.status).toBe(201);
    expect(effect.body.balanceAfter).toBe(80 - 20 + 10);
    await expectLedgerConsistent(t);
  });

  it('when the price changed, the listing is inactive, not started, ended or unknown, then the matching error and no charge', async () => {
    const skin = await createItem(t, { consumable: true });
    const hour = 3600_000;
    const onSale = await createListing(t, { price: 10, items: [{ itemId: skin }] });
    const inactive = await createListing(t, { price: 10, items: [{ itemId: skin }], active: false });
    const future = await createListing(t, { price: 10, items: [{ itemId: skin }], startsAt: new Date(Date.now() + hour) });
    const past = await createListing(t, { price: 10, items: [{ itemId: skin }], startsAt: new Date(Date.now() - 2 * hour), endsAt: new Date(Date.now() - hour) });
    const player = await fundedPlayer(t, 100);
    const cases: Array<[unknown, number, string]> = [
      [{ listingId: onSale, expectedPrice: 9 }, 409, 'price_changed'],
      [{ listingId: inactive }, 409, 'not_available'],
      [{ listingId: future }, 409, 'not_available'],
      [{ listingId: past }, 409, 'not_available'],
      [{ listingId: randomUUID() }, 404, 'not_found'],
    ];
    for (const [body, status, code] of cases) {
      const response = await buy(player.token, body);
      expect(response.status, JSON.stringify(body)).toBe(status);
      expect(response.body.code).toBe(code);
    }
    expect(await balanceOf(t, player.id)).toBe(100);
  });

  it('when the input is hostile (bad quantities, unknown fields, missing key, wrong role), then 4xx and nothing changes', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 1000);
    for (const quantity of [0, -1, 1.5, 101, 1e12, 'abc', '', null, [], {}, '1; DROP TABLE orders']) {
      const response = await buy(player.token, { listingId: listing, quantity });
      expect(response.status, JSON.stringify(quantity)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    for (const body of [{}, { listingId: 'not-a-uuid' }, { listingId: listing, extra: 1 }, { listingId: listing, expectedPrice: -1 }, 'garbage']) {
      expect((await buy(player.token, body)).status, JSON.stringify(body)).toBe(400);
    }
    const noKey = await t.request('POST', '/store/purchases', { token: player.token, body: { listingId: listing } });
    expect(noKey.status).toBe(400);
    const longKey = await buy(player.token, { listingId: listing }, { 'idempotency-key': 'k'.repeat(256) });
    expect(longKey.status).toBe(400);
    expect((await t.request('POST', '/store/purchases', { body: { listingId: listing }, headers: key() })).status).toBe(401);
    expect((await t.request('POST', '/store/purchases', { token: t.adminToken, body: { listingId: listing }, headers: key() })).status).toBe(403);
    expect(await balanceOf(t, player.id)).toBe(1000);
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(0);
    expect(await count(t, 'idempotency_keys WHERE scope = $1', [`player:${player.id}`])).toBe(0);
  });

  it('when a purchase, an order read or a refund is sent an unknown query parameter, then 400 validation_failed and nothing changes', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 10 });
    const listing = await createListing(t, { price: 3, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 10);
    const refused = await t.request('POST', '/store/purchases?coupon=FREE', { token: player.token, headers: key(), body: { listingId: listing } });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('validation_failed');
    expect(await balanceOf(t, player.id)).toBe(10);
    const order = await buy(player.token, { listingId: listing });
    expect(order.status).toBe(201);
    expect((await t.request('GET', `/user/purchases/${order.body.id}?expand=lines`, { token: player.token })).status).toBe(400);
    expect((await t.request('POST', `/admin/orders/${order.body.id}/refund?notify=false`, { token: t.adminToken, headers: key() })).status).toBe(400);
    expect(await balanceOf(t, player.id)).toBe(7);
  });

  it('when a listing ships a parcel, then a valid shipping address is required and the fulfillment is pending with a job', async () => {
    const shirt = await createItem(t, { kind: 'merch', consumable: true, deliveryType: 'shopify' });
    const listing = await createListing(t, { price: 30, items: [{ itemId: shirt }], stock: 10 });
    const player = await fundedPlayer(t, 100);
    const missing = await buy(player.token, { listingId: listing });
    expect(missing.status).toBe(400);
    const badCountry = await buy(player.token, { listingId: listing, shippingAddress: { name: 'A', address1: 'B', city: 'C', zip: '1', country: 'Germany' } });
    expect(badCountry.status).toBe(400);
    // Two capital letters that name no country: Shopify could not ship there, so the gems must not be taken.
    for (const country of ['XX', 'ZZ', 'AA', 'QQ', 'UK', 'de']) {
      const unassigned = await buy(player.token, { listingId: listing, shippingAddress: { name: 'A', address1: 'B', city: 'C', zip: '1', country } });
      expect(unassigned.status, country).toBe(400);
      expect(unassigned.body.code).toBe('validation_failed');
    }
    for (const blank of ['name', 'address1', 'city', 'zip']) {
      const shippingAddress = { name: 'Ada', address1: '1 Main St', city: 'Berlin', zip: '10115', country: 'DE', [blank]: '  ' };
      const refused = await buy(player.token, { listingId: listing, shippingAddress });
      expect(refused.status, blank).toBe(400);
      expect(refused.body.code).toBe('validation_failed');
    }
    expect(await balanceOf(t, player.id)).toBe(100);
    const ok = await buy(player.token, { listingId: listing, shippingAddress: { name: 'Ada', address1: '1 Main St', city: 'Berlin', zip: '10115', country: 'DE' } });
    expect(ok.status).toBe(201);
    expect(ok.body.lines[0]).toMatchObject({ deliveryType: 'shopify', fulfillment: { status: 'pending' } });
    expect(await count(t, 'listings WHERE id = $1 AND stock_remaining = 9', [listing])).toBe(1);
    expect(await balanceOf(t, player.id)).toBe(70);
    // The optional lines sent as null (as address forms and Shopify's own addresses do) mean absent, not 400.
    const nulls = await buy(player.token, {
      listingId: listing, shippingAddress: { name: 'Ada', address1: '1 Main St', address2: null, city: 'Berlin', province: null, zip: '10115', country: 'DE', phone: null },
    });
    expect(nulls.status, nulls.text).toBe(201);
    expect(await count(t, `orders WHERE id = $1 AND shipping_address = '{"name":"Ada","address1":"1 Main St","city":"Berlin","zip":"10115","country":"DE"}'::jsonb`, [nulls.body.id])).toBe(1);
    expect(await balanceOf(t, player.id)).toBe(40);
  });

  it('when a listing is free, then it is bought without a ledger transfer and balanceAfter is the balance', async () => {
    const gift = await createItem(t);
    const listing = await createListing(t, { price: 0, items: [{ itemId: gift }] });
    const player = await fundedPlayer(t, 7);
    const response = await buy(player.token, { listingId: listing });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ totalPrice: 0, balanceAfter: 7 });
    expect(await count(t, `ledger_transfers WHERE reference_id = $1`, [response.body.id])).toBe(0);
  });

  it('when the same key is replayed, then the same 201 comes back with Idempotent-Replayed and one charge; another body → 422', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 5, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 100);
    const headers = key();
    const first = await buy(player.token, { listingId: listing }, headers);
    const replay = await buy(player.token, { listingId: listing }, headers);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    const other = await buy(player.token, { listingId: listing, quantity: 2 }, headers);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    // Keys are scoped per caller: another player may use the same key for their own purchase.
    const stranger = await fundedPlayer(t, 100);
    expect((await buy(stranger.token, { listingId: listing }, headers)).headers.get('idempotent-replayed')).toBeNull();
    expect(await balanceOf(t, player.id)).toBe(95);
  });

  it('when a failure is replayed with its key, then the same 409 comes back (Stripe semantics)', async () => {
    const potion = await createItem(t, { consumable: true });
    const listing = await createListing(t, { price: 5, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 0);
    const headers = key();
    const first = await buy(player.token, { listingId: listing }, headers);
    expect(first.body.code).toBe('insufficient_funds');
    const replay = await buy(player.token, { listingId: listing }, headers);
    expect(replay.status).toBe(409);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    await expectLedgerConsistent(t);
  });

  it('when purchases succeed, fail and replay, then bb_purchases_total counts each outcome', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 5, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 5);
    const headers = key();
    await buy(player.token, { listingId: listing }, headers);
    await buy(player.token, { listingId: listing }, headers);
    await buy(player.token, { listingId: listing });
    const metrics = (await t.request('GET', '/metrics')).text;
    for (const outcome of ['created', 'replayed', 'insufficient_funds']) expect(metrics).toMatch(new RegExp(`bb_purchases_total\\{outcome="${outcome}"\\} [1-9]`));
  });
});
