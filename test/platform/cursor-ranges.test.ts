// A cursor carries the last row's sort key, and the keys a list can hand out are bounded: storefront prices are never
// negative, the featured key is a negated rank (0..1,000,000) or the "not featured" value, and no order is older
// than 1970. A well-formed cursor outside those bounds was never handed out; it used to answer 200 with the whole
// list (price -1) or an empty page, as if it were real. It is 400 validation_failed now, like the wallet's cursor
// naming an entry id below 1. Cursors at the bounds themselves still page.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing } from '../catalog/fixtures.js';
import { fundedPlayer, key } from '../purchases/fixtures.js';

let t: TestApp;
const forged = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
const AT = '2024-01-01T00:00:00.000000Z';

beforeAll(async () => {
  t = await startTestApp();
  for (let i = 0; i < 3; i++) {
    const item = await createItem(t, { name: `Range Skin ${i}` });
    await createListing(t, { title: `Range Offer ${i}`, price: i * 10, featuredRank: i === 0 ? 0 : null, items: [{ itemId: item.id, quantity: 1 }] });
  }
});
afterAll(async () => t?.close());

describe('a storefront cursor with a sort key no listing can have', () => {
  it.each([
    ['price_asc', [-1, randomUUID()]],
    ['price_desc', [-9007199254740991, randomUUID()]],
    ['featured', [1, AT, randomUUID()]],
    ['featured', [-1_000_001, AT, randomUUID()]],
    ['featured', [-2147483648, AT, randomUUID()]],
  ] as const)('when sort=%s gets a cursor keyed %j, then 400 validation_failed', async (sort, key) => {
    const response = await t.request('GET', `/store/items?sort=${sort}&cursor=${forged([sort, ...key])}`);
    expect(response.status, response.text).toBe(400);
    expect(response.body.code).toBe('validation_failed');
  });

  it.each([
    ['price_asc', [0, '00000000-0000-0000-0000-000000000000'], 3],
    ['price_desc', [0, 'ffffffff-ffff-ffff-ffff-ffffffffffff'], 1],
    ['featured', [0, '9999-12-31T23:59:59.999999Z', 'ffffffff-ffff-ffff-ffff-ffffffffffff'], 3],
    ['featured', [-1_000_000, AT, randomUUID()], 2],
    ['featured', [-2147483647, '9999-12-31T23:59:59.999999Z', 'ffffffff-ffff-ffff-ffff-ffffffffffff'], 2],
  ] as const)('when sort=%s gets a cursor at the bounds (%j), then it pages (%i listings after it)', async (sort, key, after) => {
    const response = await t.request('GET', `/store/items?sort=${sort}&cursor=${forged([sort, ...key])}`);
    expect(response.status, response.text).toBe(200);
    expect(response.body.items).toHaveLength(after);
  });
});

describe('an order-history cursor with a time before any order', () => {
  it('when /user/purchases or /admin/orders gets a negative time, then 400 validation_failed; their own cursors page', async () => {
    const player = await fundedPlayer(t, 100);
    const item = await createItem(t, { name: 'History Skin' });
    for (let i = 0; i < 2; i++) {
      const listing = await createListing(t, { title: 'History Offer', price: 1, items: [{ itemId: (i ? await createItem(t, { name: 'History Skin 2' }) : item).id, quantity: 1 }] });
      expect((await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId: listing.id } })).status).toBe(201);
    }
    for (const [path, list, token] of [['/user/purchases', 'purchases', player.token], ['/admin/orders', 'orders', t.adminToken]] as const) {
      const first = await t.request('GET', `${path}?limit=1`, { token });
      expect((await t.request('GET', `${path}?limit=1&cursor=${first.body.nextCursor}`, { token })).status).toBe(200);
      for (const at of [-1, -9007199254740991]) {
        const response = await t.request('GET', `${path}?cursor=${forged([list, at, randomUUID()])}`, { token });
        expect(response.status, `${path} ${at}: ${response.text}`).toBe(400);
        expect(response.body.code).toBe('validation_failed');
      }
    }
  });
});
