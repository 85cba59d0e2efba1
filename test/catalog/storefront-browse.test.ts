import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGame, createItem, createListing } from './fixtures.js';

let t: TestApp;
let game: { id: string };
let otherGame: { id: string };
const ids: Record<string, string> = {};

async function walk(query: string, limit: number, onPage?: (page: number) => Promise<void>): Promise<any[]> {
  const seen: any[] = [];
  let cursor: string | null = null;
  let page = 0;
  do {
    const response: any = await t.request('GET', `/store/items?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(response.status, response.text).toBe(200);
    seen.push(...response.body.items);
    cursor = response.body.nextCursor;
    await onPage?.(++page);
  } while (cursor);
  return seen;
}

beforeAll(async () => {
  t = await startTestApp();
  game = await createGame(t, ['weapon_skin', 'emote']);
  otherGame = await createGame(t, ['emote']);
  const skin = await createItem(t, { kind: 'game_skin', gameId: game.id, slot: 'weapon_skin', name: 'Dragon Blade' });
  const emote = await createItem(t, { kind: 'game_item', gameId: otherGame.id, slot: 'emote', name: 'Moonwalk' });
  const platform = await createItem(t, { kind: 'platform_skin', name: 'Neon Avatar' });
  const voucher = await createItem(t, { kind: 'voucher', deliveryType: 'email', name: 'Coffee 100% Voucher' });
  const shirt = await createItem(t, { kind: 'merch', deliveryType: 'shopify', shopifyVariantId: 'gid://shopify/ProductVariant/1', name: 'T-Shirt' });
  ids.skin = (await createListing(t, { title: 'Dragon Blade', price: 500, items: [{ itemId: skin.id, quantity: 1 }], tags: ['epic'], featuredRank: 2 })).id;
  ids.emote = (await createListing(t, { title: 'Moonwalk', price: 200, items: [{ itemId: emote.id, quantity: 1 }], featuredRank: 1 })).id;
  ids.platform = (await createListing(t, { title: 'Neon Avatar', price: 300, items: [{ itemId: platform.id, quantity: 1 }], tags: ['epic', 'neon'] })).id;
  ids.voucher = (await createListing(t, { title: 'Coffee', price: 50, items: [{ itemId: voucher.id, quantity: 2 }], stock: 100 })).id;
  ids.shirt = (await createListing(t, { title: 'Shirt', price: 1000, items: [{ itemId: shirt.id, quantity: 1 }], stock: 7, perUserLimit: 2 })).id;
  ids.bundle = (await createListing(t, { title: 'Starter Bundle', price: 500, items: [{ itemId: skin.id, quantity: 1 }, { itemId: shirt.id, quantity: 1 }] })).id;
  ids.inactive = (await createListing(t, { title: 'Hidden', price: 1, items: [{ itemId: platform.id, quantity: 1 }], active: false })).id;
  ids.future = (await createListing(t, { title: 'Future', price: 1, items: [{ itemId: platform.id, quantity: 1 }], startsAt: '2099-01-01T00:00:00.000Z' })).id;
  ids.past = (await createListing(t, { title: 'Past', price: 1, items: [{ itemId: platform.id, quantity: 1 }], startsAt: '2020-01-01T00:00:00.000Z', endsAt: '2021-01-01T00:00:00.000Z' })).id;
  ids.open = (await createListing(t, { title: 'Open Window', price: 10, items: [{ itemId: platform.id, quantity: 1 }], startsAt: '2020-01-01T00:00:00.000Z', endsAt: '2099-01-01T00:00:00.000Z' })).id;
  // Five free codes for a two-code bundle: two bundles can be sold, whatever the explicit stock of 100 says.
  for (let i = 0; i < 5; i++) await t.runtime.deps.db.query('INSERT INTO voucher_codes (item_id, code) VALUES ($1, $2)', [voucher.id, `CODE-${i}`]);
  await t.runtime.deps.db.query(`INSERT INTO voucher_codes (item_id, code, claimed_at) VALUES ($1, 'USED', now())`, [voucher.id]);
  // Enough filler for several pages, some sharing a price so the id tie-break is exercised.
  for (let i = 0; i < 14; i++) await createListing(t, { title: `Filler ${i}`, price: 100 + (i % 3), items: [{ itemId: platform.id, quantity: 1 }] });
});
afterAll(async () => t?.close());

describe('storefront listings', () => {
  it('when a listing is on sale, then it has the public shape of API.md', async () => {
    const response = await t.request('GET', `/store/items/${ids.shirt}`);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      id: ids.shirt, title: 'Shirt', price: 1000, currency: 'gems', gameId: null, deliveryType: 'shopify', consumable: false,
      startsAt: null, endsAt: null, stockRemaining: 7, perUserLimit: 2, tags: [],
      items: [{ itemId: expect.any(String), name: 'T-Shirt', kind: 'merch', quantity: 1 }],
    });
  });

  it('when a voucher listing has a code pool, then stockRemaining is the bundles the free codes allow', async () => {
    expect((await t.request('GET', `/store/items/${ids.voucher}`)).body.stockRemaining).toBe(2);
  });

  it('when a listing is inactive or outside its window, then it is not listed and its page is 404', async () => {
    const all = await walk('', 100);
    const listed = new Set(all.map((l) => l.id));
    for (const hidden of [ids.inactive, ids.future, ids.past]) {
      expect(listed.has(hidden)).toBe(false);
      const one = await t.request('GET', `/store/items/${hidden}`);
      expect(one.status).toBe(404);
      expect(one.body.code).toBe('not_found');
    }
    expect(listed.has(ids.open)).toBe(true);
    expect((await t.request('GET', `/store/items/${crypto.randomUUID()}`)).status).toBe(404);
  });

  it.each([
    ['featured', (a: any, b: any) => (a.featuredRank ?? 2147483647) - (b.featuredRank ?? 2147483647) || Date.parse(b.createdAt) - Date.parse(a.createdAt)],
    ['price_asc', (a: any, b: any) => a.price - b.price],
    ['price_desc', (a: any, b: any) => b.price - a.price],
    ['newest', (a: any, b: any) => Date.parse(b.createdAt) - Date.parse(a.createdAt)],
  ])('when every page of sort=%s is walked, then each listing appears exactly once and in order', async (sort, compare) => {
    const onSale = await t.runtime.deps.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM listings WHERE active AND (starts_at IS NULL OR starts_at <= now()) AND (ends_at IS NULL OR ends_at > now())`,
    );
    const seen = await walk(`&sort=${sort}`, 3);
    expect(seen).toHaveLength(onSale.rows[0]!.n);
    expect(new Set(seen.map((l) => l.id)).size).toBe(seen.length);
    for (let i = 1; i < seen.length; i++) expect(compare(seen[i - 1], seen[i])).toBeLessThanOrEqual(0);
  });

  it('when a listing is inserted in the middle of a walk, then no listing is seen twice or skipped', async () => {
    const before = new Set((await walk('&sort=price_asc', 100)).map((l) => l.id));
    let added: string | undefined;
    const seen = await walk('&sort=price_asc', 4, async (page) => {
      if (page === 2) added = (await createListing(t, { title: 'Mid-walk', price: 0, items: [{ itemId: (await createItem(t, {})).id, quantity: 1 }] })).id;
    });
    const seenIds = seen.map((l) => l.id);
    expect(new Set(seenIds).size).toBe(seenIds.length);
    for (const id of before) expect(seenIds).toContain(id);
    // Price 0 sorts before the pages already read, so the keyset walk continues past it rather than repeating rows.
    expect(seenIds).not.toContain(added);
    await t.request('DELETE', `/admin/listings/${added}`, { token: t.adminToken });
  });

  it.each([
    ['gameId', () => `gameId=${game.id}`, (l: any) => l.gameId === game.id, ['skin', 'bundle']],
    ['kind', () => 'kind=merch', (l: any) => l.items.some((i: any) => i.kind === 'merch'), ['shirt', 'bundle']],
    ['deliveryType', () => 'deliveryType=mixed', (l: any) => l.deliveryType === 'mixed', ['bundle']],
    ['tag', () => 'tag=epic', (l: any) => l.tags.includes('epic'), ['skin', 'platform']],
    ['q (title or item name, case-insensitive, % literal)', () => 'q=100%25', (l: any) => l.id === ids.voucher, ['voucher']],
    ['q on an item name', () => 'q=moonWALK', (l: any) => l.id === ids.emote, ['emote']],
    ['minPrice and maxPrice', () => 'minPrice=200&maxPrice=500', (l: any) => l.price >= 200 && l.price <= 500, ['skin', 'emote', 'platform', 'bundle']],
    ['featured=true', () => 'featured=true', (l: any) => l.featuredRank !== null, ['emote', 'skin']],
    ['featured=false', () => 'featured=false', (l: any) => l.featuredRank === null, ['shirt', 'voucher']],
  ])('when filtered by %s, then only and all matching listings come back', async (_name, query, matches, expected) => {
    const all = await walk('', 100);
    const filtered = await walk(`&${query()}`, 2);
    expect(filtered.map((l) => l.id).sort()).toEqual(all.filter(matches).map((l) => l.id).sort());
    for (const key of expected) expect(filtered.map((l) => l.id)).toContain(ids[key]);
  });

  it('when q= is typed in any case, including letters whose JS and PostgreSQL lower-casing differ (İ), then the listing is found', async () => {
    const item = await createItem(t, { kind: 'platform_skin', name: 'Σοφία Cape' });
    const listing = await createListing(t, { title: 'İstanbul Éclair', price: 9, items: [{ itemId: item.id, quantity: 1 }] });
    for (const q of ['İstanbul', 'istanbul', 'ÉCLAIR', 'éclair', 'ΣΟΦΊΑ', 'σοφία']) {
      const response = await t.request('GET', `/store/items?limit=100&q=${encodeURIComponent(q)}`);
      expect(response.status).toBe(200);
      expect(response.body.items.map((found: { id: string }) => found.id), q).toContain(listing.id);
    }
  });

  it('when the default sort is used, then featured listings lead in rank order', async () => {
    const first = await t.request('GET', '/store/items?limit=2');
    expect(first.body.items.map((l: any) => l.id)).toEqual([ids.emote, ids.skin]);
  });

  it('when fields= is given, then only those fields and the id come back', async () => {
    const response = await t.request('GET', '/store/items?fields=price,title&limit=5');
    expect(response.status).toBe(200);
    for (const listing of response.body.items) expect(Object.keys(listing).sort()).toEqual(['id', 'price', 'title']);
  });

  it.each([
    ['limit=0'], ['limit=101'], ['limit=abc'], ['limit=1.5'], ['sort=cheapest'], ['kind=spaceship'], ['deliveryType=pigeon'],
    ['gameId=not-a-uuid'], ['minPrice=-1'], ['minPrice=10&maxPrice=5'], ['featured=maybe'], ['fields=price,secret'], ['fields=price;drop'],
    ['cursor=garbage!!'], ['cursor=' + Buffer.from('[1,2,3]').toString('base64url')], ['cursor=' + Buffer.from('{"a":1}').toString('base64url')],
    ['colour=red'], ['q='], ['tag=' + 'x'.repeat(300)],
  ])('when the query is %s, then 400 validation_failed', async (query) => {
    const response = await t.request('GET', `/store/items?${query}`);
    expect(response.status, response.text).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('when a cursor from one sort is used with another, then 400', async () => {
    const page = await t.request('GET', '/store/items?sort=price_asc&limit=2');
    const response = await t.request('GET', `/store/items?sort=price_desc&cursor=${page.body.nextCursor}`);
    expect(response.status).toBe(400);
    const forged = Buffer.from(JSON.stringify(['newest', '2024-02-31T00:00:00.000000Z', crypto.randomUUID()])).toString('base64url');
    expect((await t.request('GET', `/store/items?sort=newest&cursor=${forged}`)).status).toBe(400);
    const huge = Buffer.from(JSON.stringify(['featured', 9007199254740991, '2024-01-01T00:00:00.000000Z', crypto.randomUUID()])).toString('base64url');
    expect((await t.request('GET', `/store/items?cursor=${huge}`)).status).toBe(400);
  });

  it('when the id is not a UUID, then 400; a token is accepted but not needed', async () => {
    expect((await t.request('GET', '/store/items/42')).status).toBe(400);
    const player = await t.player();
    expect((await t.request('GET', `/store/items/${ids.skin}`, { token: player.token })).status).toBe(200);
  });

  it('then /openapi.json documents the storefront and the admin catalog', async () => {
    const paths = Object.keys((await t.request('GET', '/openapi.json')).body.paths);
    expect(paths).toEqual(expect.arrayContaining(['/store/items', '/store/items/{id}', '/admin/items', '/admin/items/{id}', '/admin/listings', '/admin/listings/{id}']));
  });
});
