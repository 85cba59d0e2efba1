// A listing whose item is mailed (deliveryType email) shows the codes left in the item's pool as stockRemaining,
// whatever the item's kind: a voucher must be mailed, but a skin or a utility may be mailed too. A purchase dropped
// the storefront's cached pages only when a line's kind was `voucher`, so buying a mailed skin claimed a code while
// the storefront kept showing the old count, and answered 304 to the ETag of the page from before the sale, for up
// to a page TTL. Every purchase that claims a pool code now drops the pages, as a voucher's does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing } from './fixtures.js';
import { fundedPlayer, key } from '../purchases/fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('a purchase of a mailed item that is not a voucher', () => {
  it.each(['platform_skin', 'utility', 'voucher'])('when a %s delivered by email is bought, then the storefront shows one code less at once and the old ETag is stale', async (kind) => {
    const item = await createItem(t, { name: `Mailed ${kind}`, kind, deliveryType: 'email', ...(kind === 'utility' ? { consumable: true } : {}) });
    const codes = await t.request('POST', `/admin/items/${item.id}/vouchers`, { token: t.adminToken, body: { codes: [`${kind}-1`, `${kind}-2`, `${kind}-3`] } });
    expect(codes.status, codes.text).toBe(200);
    const listing = await createListing(t, { title: `Mailed ${kind} offer`, price: 1, items: [{ itemId: item.id, quantity: 1 }] });
    const path = `/store/items?deliveryType=email&limit=100`;
    const before = await t.request('GET', path);
    expect(before.body.items.find((l: { id: string }) => l.id === listing.id).stockRemaining).toBe(3);

    const player = await fundedPlayer(t, 10);
    const bought = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId: listing.id } });
    expect(bought.status, bought.text).toBe(201);

    const after = await t.request('GET', path, { headers: { 'if-none-match': before.headers.get('etag')! } });
    expect(after.status).toBe(200);
    expect(after.body.items.find((l: { id: string }) => l.id === listing.id).stockRemaining).toBe(2);
  });
});
