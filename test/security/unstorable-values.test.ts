// PostgreSQL text and jsonb cannot hold U+0000, so a NUL a client slips into any string (a query string's %00, a
// JSON "\u0000") used to reach the database and come back as a 500. Wherever a schema does not refuse control
// characters itself, the database's refusal must read as the client's fault: 400 validation_failed, nothing
// written. Found by the OpenAPI fuzz test (a signed payment event); this file pins the rest of the surfaces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { balanceOf, count, createItem, createListing, fundedPlayer, key } from '../purchases/fixtures.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const expectRefused = (response: { status: number; body: any; text: string }, what: string) => {
  expect(response.status, `${what}: ${response.text}`).toBe(400);
  expect(response.body.code, what).toBe('validation_failed');
};

describe('client text and values PostgreSQL cannot store', () => {
  it('when a storefront search or cursor carries %00, then 400, not 500', async () => {
    expectRefused(await t.request('GET', '/store/items?q=a%00b'), 'q');
    expectRefused(await t.request('GET', '/store/items?q=%00'), 'q alone');
    const cursor = await t.request('GET', '/store/items?cursor=%00%00%00');
    expect(cursor.status, cursor.text).toBe(400);
  });

  it('when a shipping address carries a NUL, then the purchase is refused with 400 and nothing is charged or ordered', async () => {
    const shirt = await createItem(t, { kind: 'merch', consumable: true, deliveryType: 'shopify' });
    const listing = await createListing(t, { price: 30, items: [{ itemId: shirt }], stock: 10 });
    const player = await fundedPlayer(t, 100);
    const address = { name: 'Ada\u0000', address1: '1 Main St', city: 'Berlin', zip: '10115', country: 'DE' };
    const response = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId: listing, shippingAddress: address } });
    expectRefused(response, 'shippingAddress.name');
    expect(await balanceOf(t, player.id)).toBe(100);
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(0);
  });

  it('when an admin writes an item or a listing with a NUL in its text, then 400 and nothing is created', async () => {
    const before = await count(t, 'item_definitions');
    const item = await t.request('POST', '/admin/items', {
      token: t.adminToken,
      body: { sku: `nul-${Date.now()}`, name: 'Nul\u0000Blade', kind: 'utility', deliveryType: 'inventory', consumable: true, maxStack: 5 },
    });
    expect(item.status, item.text).toBe(400);
    expect(await count(t, 'item_definitions')).toBe(before);

    const potion = await createItem(t, { consumable: true });
    const listingsBefore = await count(t, 'listings');
    const listing = await t.request('POST', '/admin/listings', {
      token: t.adminToken,
      body: { title: 'Nul\u0000Offer', price: 5, items: [{ itemId: potion, quantity: 1 }] },
    });
    expect(listing.status, listing.text).toBe(400);
    expect(await count(t, 'listings')).toBe(listingsBefore);
  });

  it('when a date-time is valid per its format but not storable (year 0000), then 400 and nothing is created', async () => {
    const potion = await createItem(t, { consumable: true });
    const before = await count(t, 'listings');
    const response = await t.request('POST', '/admin/listings', {
      token: t.adminToken,
      body: { title: 'Year zero', price: 5, items: [{ itemId: potion, quantity: 1 }], startsAt: '0000-01-01T00:00:00Z' },
    });
    expectRefused(response, 'startsAt year 0000');
    expect(await count(t, 'listings')).toBe(before);
  });

  it('when a name, title or reason holds a lone surrogate (which UTF-8 text stores as U+FFFD), then 400 and nothing is written', async () => {
    const lone = 'Sword \ud800 of Dawn';
    const item = await t.request('POST', '/admin/items', { token: t.adminToken, body: { sku: `lone-${Date.now()}`, name: lone, kind: 'platform_skin', deliveryType: 'inventory' } });
    expectRefused(item, 'item name');
    expect(await count(t, 'item_definitions WHERE name LIKE $1', ['Sword %of Dawn'])).toBe(0);
    const player = await fundedPlayer(t, 10);
    const grant = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId: player.id, gems: 5, reason: lone } });
    expectRefused(grant, 'grant reason');
    const adjustment = await t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount: 5, reason: lone } });
    expectRefused(adjustment, 'adjustment reason');
    expect(await balanceOf(t, player.id)).toBe(10);
    // a character outside the Basic Multilingual Plane (a well-formed surrogate pair) is text like any other
    const emoji = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId: player.id, gems: 1, reason: 'season reward \u{1F3C6}' } });
    expect(emoji.status, emoji.text).toBe(201);
  });

  it("when an id is written as a URN (urn:uuid:…), which PostgreSQL does not read, then 400 naming the id's form", async () => {
    const player = await fundedPlayer(t, 1);
    const id = 'urn:uuid:6f1c2b9e-0d7a-4c1e-9b7f-3a2d4e5f6a7b';
    const listing = await t.request('GET', `/store/items/${encodeURIComponent(id)}`);
    expectRefused(listing, 'listing id in the path');
    expect(listing.body.detail).toMatch(/pattern|uuid|format/i);
    const purchase = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId: id } });
    expectRefused(purchase, 'listingId in the body');
    expect(purchase.body.detail).toMatch(/pattern|uuid|format/i);
  });
});
