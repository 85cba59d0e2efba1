// What "the same request" means for a purchase's Idempotency-Key, and input refused before the key is looked at.
// A retry is the same purchase when it asks for the same thing, however its JSON is written: key order, a default
// sent or left out, an optional address line sent as null (which means absent), a listing id in capitals. Anything
// that asks for something else (another quantity, a price check added, another address) is 422.
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
const address = { name: 'Ada', address1: '1 Main St', city: 'Berlin', zip: '10115', country: 'DE' };

describe('the same purchase, written differently, under one Idempotency-Key', () => {
  it('when a retry writes the same purchase differently (key order, quantity left out, null address lines, a capitalised id), then it replays the one order', async () => {
    const shirt = await createItem(t, { kind: 'merch', consumable: true, deliveryType: 'shopify' });
    const listing = await createListing(t, { price: 10, items: [{ itemId: shirt }] });
    const player = await fundedPlayer(t, 100);
    const headers = key();
    const first = await buy(player.token, { listingId: listing, quantity: 1, shippingAddress: { ...address, address2: null, phone: null } }, headers);
    expect(first.status, first.text).toBe(201);

    const retries: unknown[] = [
      `{"shippingAddress":{"country":"DE","zip":"10115","city":"Berlin","address1":"1 Main St","name":"Ada"},"quantity":1,"listingId":"${listing}"}`,
      { listingId: listing, shippingAddress: address },
      { listingId: listing, shippingAddress: { ...address, province: null } },
      { listingId: listing.toUpperCase(), quantity: 1, shippingAddress: address },
    ];
    for (const body of retries) {
      const replay = await buy(player.token, body, headers);
      expect([replay.status, replay.headers.get('idempotent-replayed')], JSON.stringify(body)).toEqual([201, 'true']);
      expect(replay.body).toEqual(first.body);
    }
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(1);
    expect(await balanceOf(t, player.id)).toBe(90);
  });

  it('when a retry asks for something else under the key (another quantity, a price check added, another address line), then 422 and nothing more is charged', async () => {
    const shirt = await createItem(t, { kind: 'merch', consumable: true, deliveryType: 'shopify' });
    const listing = await createListing(t, { price: 10, items: [{ itemId: shirt }] });
    const player = await fundedPlayer(t, 100);
    const headers = key();
    expect((await buy(player.token, { listingId: listing, shippingAddress: address }, headers)).status).toBe(201);
    for (const body of [
      { listingId: listing, quantity: 2, shippingAddress: address },
      { listingId: listing, expectedPrice: 10, shippingAddress: address },
      { listingId: listing, shippingAddress: { ...address, address2: 'Flat 2' } },
      { listingId: listing, shippingAddress: { ...address, zip: '10117' } },
    ]) {
      const reused = await buy(player.token, body, headers);
      expect([reused.status, reused.body.code], JSON.stringify(body)).toEqual([422, 'idempotency_key_reused']);
    }
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(1);
    expect(await balanceOf(t, player.id)).toBe(90);
  });

  it("when a purchase's key is sent again on another endpoint (using an item), then 422 and nothing is used", async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion, quantity: 3 }] });
    const player = await fundedPlayer(t, 10);
    const headers = key();
    expect((await buy(player.token, { listingId: listing }, headers)).status).toBe(201);
    const entry = (await t.request('GET', '/user/inventory', { token: player.token })).body.items[0];
    const use = await t.request('POST', `/user/inventory/${entry.id}/use`, { token: player.token, headers, body: { quantity: 1 } });
    expect([use.status, use.body.code]).toEqual([422, 'idempotency_key_reused']);
    expect(await count(t, 'inventory_items WHERE id = $1 AND quantity = 3', [entry.id])).toBe(1);
  });

  it('when 25 requests share one key and the purchase is refused, then every answer is 409, one refusal is stored and nothing is charged', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 10, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 5);
    const headers = key();
    const responses = await Promise.all(Array.from({ length: 25 }, () => buy(player.token, { listingId: listing }, headers)));
    for (const r of responses) {
      expect(r.status).toBe(409);
      expect(['insufficient_funds', 'idempotency_in_progress']).toContain(r.body.code);
    }
    expect(responses.filter((r) => r.body.code === 'insufficient_funds' && r.headers.get('idempotent-replayed') !== 'true').length).toBeGreaterThanOrEqual(1);
    const replay = await buy(player.token, { listingId: listing }, headers);
    expect([replay.status, replay.body.code, replay.headers.get('idempotent-replayed')]).toEqual([409, 'insufficient_funds', 'true']);
    expect(await count(t, 'idempotency_keys WHERE scope = $1', [`player:${player.id}`])).toBe(1);
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(0);
    expect(await balanceOf(t, player.id)).toBe(5);
    await expectLedgerConsistent(t);
  });
});

describe('shipping address text refused by the schema', () => {
  it('when an address line holds a control character or a lone surrogate, then 400 naming the field before funds are looked at, and the key stays free', async () => {
    const shirt = await createItem(t, { kind: 'merch', consumable: true, deliveryType: 'shopify' });
    const listing = await createListing(t, { price: 10, items: [{ itemId: shirt }] });
    const player = await fundedPlayer(t, 0); // a short wallet: a request judged on funds would answer 409 and burn its key
    const cases: Array<[string, string]> = [
      ['name', 'Ada\u0000Lovelace'],
      ['address1', '1 Main St\u0000'],
      ['address2', 'Flat\u00002'],
      ['address2', 'Flat \ud800'],
      ['province', 'B\u0000'],
      ['province', '\udc00'],
      ['city', 'Ber\nlin'],
      ['zip', '10\u0000115'],
    ];
    for (const [field, value] of cases) {
      const idempotencyKey = `addr-${randomUUID()}`;
      const refused = await buy(player.token, { listingId: listing, shippingAddress: { ...address, [field]: value } }, { 'idempotency-key': idempotencyKey });
      expect([refused.status, refused.body.code], `${field}=${JSON.stringify(value)}`).toEqual([400, 'validation_failed']);
      expect(refused.body.detail, field).toContain(`shippingAddress/${field}`);
      expect(await count(t, 'idempotency_keys WHERE key = $1', [idempotencyKey])).toBe(0);
    }
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(0);
  });
});
