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
});
