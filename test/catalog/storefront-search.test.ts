// `q` is a case-insensitive substring of the listing's title or of one of its items' names (API.md: name search;
// docs/catalog.md). The search ran on one text joining the title and the names with blanks, so a q spanning two of
// them matched: "red dragon" found a listing titled "Crimsonred" selling a "Dragon", and "n w" found it through
// "Dragon Wyvern". Such a q matches nothing now; a substring of any one of them still finds the listing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing } from './fixtures.js';

let t: TestApp;
let listingId: string;

beforeAll(async () => {
  t = await startTestApp();
  const dragon = await createItem(t, { name: 'Dragon' });
  const wyvern = await createItem(t, { name: 'Wyvern' });
  const listing = await createListing(t, { title: 'Crimsonred', items: [{ itemId: dragon.id, quantity: 1 }, { itemId: wyvern.id, quantity: 1 }] });
  listingId = listing.id;
});
afterAll(async () => t?.close());

const found = async (q: string) => {
  const response = await t.request('GET', `/store/items?q=${encodeURIComponent(q)}`);
  expect(response.status, response.text).toBe(200);
  return response.body.items.some((item: { id: string }) => item.id === listingId);
};

describe('GET /store/items?q=', () => {
  it.each(['crimsonred', 'SONR', 'dragon', 'Wyv', 'n'])('when q=%j is part of the title or of one item name, then the listing is found', async (q) => {
    expect(await found(q)).toBe(true);
  });

  it.each(['red dragon', 'ed dr', 'dragon wyvern', 'n w', ' '])('when q=%j spans the title and a name, or two names, then the listing is not found', async (q) => {
    expect(await found(q)).toBe(false);
  });

  it('when an item is renamed, then the listing is found by the new name only', async () => {
    const listing = (await t.request('GET', `/admin/listings/${listingId}`, { token: t.adminToken })).body;
    const renamed = await t.request('PATCH', `/admin/items/${listing.items[0].itemId}`, { token: t.adminToken, body: { name: 'Basilisk' } });
    expect(renamed.status, renamed.text).toBe(200);
    expect(await found('basilisk')).toBe(true);
    expect(await found('dragon')).toBe(false);
  });
});
