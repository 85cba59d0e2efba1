import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGame, createItem, createListing } from './fixtures.js';

let t: TestApp;
let game: { id: string };
let skin: any;
let emote: any;
let voucher: any;
let potion: any;

beforeAll(async () => {
  t = await startTestApp();
  game = await createGame(t, ['weapon_skin', 'emote']);
  skin = await createItem(t, { kind: 'game_skin', gameId: game.id, slot: 'weapon_skin', name: 'Dragon Blade' });
  emote = await createItem(t, { kind: 'game_item', gameId: game.id, slot: 'emote', name: 'Victory Dance' });
  voucher = await createItem(t, { kind: 'voucher', deliveryType: 'email', name: 'Coffee Voucher' });
  potion = await createItem(t, { kind: 'utility', consumable: true, maxStack: 10, effect: { lives: 1 }, name: 'Extra Life' });
});
afterAll(async () => t?.close());

const post = (body: Record<string, unknown>) =>
  t.request('POST', '/admin/listings', { token: t.adminToken, body: { title: 'Offer', price: 100, items: [{ itemId: skin.id, quantity: 1 }], ...body } });

describe('admin listings', () => {
  it('when a single-item listing is created, then 201 with its game, delivery type, kinds and defaults', async () => {
    const response = await post({ tags: ['summer', 'summer', 'new'], featuredRank: 3 });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      title: 'Offer', price: 100, currency: 'gems', gameId: game.id, deliveryType: 'inventory', kinds: ['game_skin'], consumable: false,
      stock: null, stockRemaining: null, perUserLimit: null, tags: ['summer', 'new'], featuredRank: 3, active: true, startsAt: null, endsAt: null,
      items: [{ itemId: skin.id, name: 'Dragon Blade', kind: 'game_skin', quantity: 1 }],
    });
  });

  it('when a bundle mixes delivery types, then it is "mixed" and keeps the line order', async () => {
    const bundle = await createListing(t, { items: [{ itemId: voucher.id, quantity: 2 }, { itemId: skin.id, quantity: 1 }, { itemId: potion.id, quantity: 5 }] });
    expect(bundle.deliveryType).toBe('mixed');
    expect(bundle.gameId).toBe(game.id);
    expect(bundle.kinds).toEqual(['game_skin', 'utility', 'voucher']);
    expect(bundle.items.map((line: any) => [line.itemId, line.quantity])).toEqual([[voucher.id, 2], [skin.id, 1], [potion.id, 5]]);
  });

  it('when the lines are replaced by a PATCH, then the derived columns follow', async () => {
    const listing = await createListing(t, { items: [{ itemId: skin.id, quantity: 1 }] });
    const patched = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { items: [{ itemId: potion.id, quantity: 3 }] } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ gameId: null, deliveryType: 'inventory', kinds: ['utility'], consumable: true, items: [{ itemId: potion.id, quantity: 3 }] });
  });

  it.each([
    ['a negative price', { price: -1 }],
    ['a fractional price', { price: 1.5 }],
    ['a price of -0.5', { price: -0.5 }],
    ['a null price', { price: null }],
    ['a null active flag', { active: null }],
    ['an empty-string start', { startsAt: '' }],
    ['no items', { items: [] }],
    ['the same item twice', { items: 'DUP' }],
    ['a zero quantity', { items: [{ itemId: 'SKIN', quantity: 0 }] }],
    ['a non-consumable skin sold two at a time', { items: [{ itemId: 'SKIN', quantity: 2 }] }],
    ['an end before the start', { startsAt: '2030-01-02T00:00:00.000Z', endsAt: '2030-01-01T00:00:00.000Z' }],
    ['an end equal to the start', { startsAt: '2030-01-01T00:00:00.000Z', endsAt: '2030-01-01T00:00:00.000Z' }],
    ['a malformed date', { startsAt: 'tomorrow' }],
    ['a negative stock', { stock: -5 }],
    ['a zero per-user limit', { perUserLimit: 0 }],
    ['a negative featured rank', { featuredRank: -1 }],
    ['a tag with spaces', { tags: ['summer sale'] }],
    ['an unknown field', { discount: 10 }],
    ['an empty title', { title: '' }],
  ])('when the body has %s, then 400 and nothing is created', async (_name, patch) => {
    const before = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM listings');
    const body = JSON.parse(JSON.stringify(patch).replaceAll('"DUP"', JSON.stringify([{ itemId: skin.id, quantity: 1 }, { itemId: skin.id, quantity: 1 }])).replaceAll('SKIN', skin.id));
    const response = await post(body);
    expect(response.status, response.text).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    const after = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM listings');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
  });

  // A date-time's offset can carry it past 9999-12-31 in UTC: PostgreSQL stores year 10000, but it reads back as
  // "+010000-…", which no response schema accepts — every storefront page with the listing answered 500.
  it.each([
    ['an end past year 9999 in UTC', { endsAt: '9999-12-31T23:59:59-14:00' }],
    ['a start past year 9999 in UTC', { startsAt: '9999-12-31T20:00:00-05:00' }],
    ['an end that rounds to year 10000', { endsAt: '9999-12-31T23:59:59.9999999Z' }],
    ['a start before year 1', { startsAt: '0001-01-01T00:00:00+01:00' }],
  ])('when a listing has %s, then 400 on create and PATCH, nothing is stored and the storefront still answers', async (_name, window) => {
    const before = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM listings');
    const created = await post(window);
    expect(created.status, created.text).toBe(400);
    expect(created.body.code).toBe('validation_failed');
    expect((await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM listings')).rows[0]!.n).toBe(before.rows[0]!.n);

    const listing = await createListing(t, { items: [{ itemId: potion.id, quantity: 1 }] });
    const patched = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { ...window, title: 'Far Future' } });
    expect(patched.status, patched.text).toBe(400);
    expect(patched.body.code).toBe('validation_failed');
    const read = await t.request('GET', `/admin/listings/${listing.id}`, { token: t.adminToken });
    expect(read.body).toMatchObject({ title: listing.title, startsAt: null, endsAt: null });
    expect((await t.request('GET', '/store/items?limit=100')).status).toBe(200);
    expect((await t.request('GET', `/store/items/${listing.id}`)).status).toBe(200);
  });

  it('when a listing ends at the last second of year 9999, then it is stored and shown', async () => {
    const listing = await createListing(t, { items: [{ itemId: potion.id, quantity: 1 }], endsAt: '9999-12-31T23:59:59Z' });
    expect(listing.endsAt).toBe('9999-12-31T23:59:59.000Z');
    const shown = await t.request('GET', `/store/items/${listing.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.endsAt).toBe('9999-12-31T23:59:59.000Z');
  });

  it('when a line names an unknown item, then 404 not_found naming it', async () => {
    const ghost = crypto.randomUUID();
    const response = await post({ items: [{ itemId: skin.id, quantity: 1 }, { itemId: ghost, quantity: 1 }] });
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ code: 'not_found', missingItemIds: [ghost] });
  });

  it('when a line names an existing item by its UUID in capitals, then it is that item (201 / 200), and naming it twice in two cases is a duplicate (400)', async () => {
    const created = await post({ items: [{ itemId: skin.id.toUpperCase(), quantity: 1 }] });
    expect(created.status, created.text).toBe(201);
    expect(created.body.items).toMatchObject([{ itemId: skin.id, name: 'Dragon Blade', quantity: 1 }]);

    const patched = await t.request('PATCH', `/admin/listings/${created.body.id}`, { token: t.adminToken, body: { items: [{ itemId: potion.id.toUpperCase(), quantity: 2 }] } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.items).toMatchObject([{ itemId: potion.id, quantity: 2 }]);

    const twice = await post({ items: [{ itemId: voucher.id.toUpperCase(), quantity: 1 }, { itemId: voucher.id, quantity: 1 }] });
    expect(twice.status, twice.text).toBe(400);
    expect(twice.body.code).toBe('validation_failed');
  });

  it('when a voucher listing is read by an admin, then stockRemaining is what its code pool still allows, as on the storefront', async () => {
    const pooled = await createItem(t, { kind: 'voucher', deliveryType: 'email', name: 'Pooled Voucher' });
    const open = await createListing(t, { items: [{ itemId: pooled.id, quantity: 2 }] });
    const capped = await createListing(t, { items: [{ itemId: pooled.id, quantity: 1 }], stock: 3 });
    const admin = async (id: string) => (await t.request('GET', `/admin/listings/${id}`, { token: t.adminToken })).body;
    // An empty pool is out of stock (API.md), not unlimited.
    expect(open).toMatchObject({ stock: null, stockRemaining: 0 });
    expect(await admin(open.id)).toMatchObject({ stock: null, stockRemaining: 0 });

    const upload = await t.request('POST', `/admin/items/${pooled.id}/vouchers`, { token: t.adminToken, body: { codes: ['P1', 'P2', 'P3', 'P4', 'P5'] } });
    expect(upload.status, upload.text).toBe(200);
    expect(await admin(open.id)).toMatchObject({ stock: null, stockRemaining: 2 });
    expect(await admin(capped.id)).toMatchObject({ stock: 3, stockRemaining: 3 });
    for (const id of [open.id, capped.id]) {
      expect((await t.request('GET', `/store/items/${id}`)).body.stockRemaining).toBe((await admin(id)).stockRemaining);
    }
    const listed = await t.request('GET', '/admin/listings?limit=100', { token: t.adminToken });
    expect(listed.body.items.find((l: { id: string }) => l.id === open.id).stockRemaining).toBe(2);
  });

  it('when a PATCH makes the window inverted, then 400 and the listing is unchanged', async () => {
    const listing = await createListing(t, { items: [{ itemId: emote.id, quantity: 1 }], startsAt: '2030-01-01T00:00:00.000Z' });
    const response = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { endsAt: '2029-12-31T00:00:00.000Z' } });
    expect(response.status).toBe(400);
    const read = await t.request('GET', `/admin/listings/${listing.id}`, { token: t.adminToken });
    expect(read.body.endsAt).toBeNull();
  });

  it('when the stock of a partly sold listing is changed, then what was sold stays sold, and a total below it is refused', async () => {
    const listing = await createListing(t, { items: [{ itemId: potion.id, quantity: 1 }], stock: 10 });
    await t.runtime.deps.db.query('UPDATE listings SET stock_remaining = 6 WHERE id = $1', [listing.id]); // 4 sold
    const raised = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { stock: 20 } });
    expect(raised.body).toMatchObject({ stock: 20, stockRemaining: 16 });
    const tooLow = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { stock: 3, title: 'Too low' } });
    expect(tooLow.status).toBe(409);
    expect(tooLow.body).toMatchObject({ code: 'invalid_state', sold: 4 });
    const closed = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { stock: 4 } });
    expect(closed.body).toMatchObject({ stock: 4, stockRemaining: 0 });
    const renamed = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { title: 'Renamed' } });
    expect(renamed.body).toMatchObject({ title: 'Renamed', stock: 4, stockRemaining: 0 });
    // The four sales are still counted: raising the total again frees exactly the difference.
    const reopened = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { stock: 10 } });
    expect(reopened.body).toMatchObject({ stock: 10, stockRemaining: 6 });
    const unlimited = await t.request('PATCH', `/admin/listings/${listing.id}`, { token: t.adminToken, body: { stock: null } });
    expect(unlimited.body).toMatchObject({ stock: null, stockRemaining: null });
  });

  it('when an unordered listing is deleted, then it is gone; an ordered one is deactivated instead', async () => {
    const fresh = await createListing(t, { items: [{ itemId: emote.id, quantity: 1 }] });
    expect((await t.request('DELETE', `/admin/listings/${fresh.id}`, { token: t.adminToken })).status).toBe(204);
    expect((await t.request('GET', `/admin/listings/${fresh.id}`, { token: t.adminToken })).status).toBe(404);
    expect((await t.request('DELETE', `/admin/listings/${fresh.id}`, { token: t.adminToken })).status).toBe(404);

    const sold = await createListing(t, { items: [{ itemId: emote.id, quantity: 1 }] });
    const buyer = await t.player();
    await t.request('GET', '/user/wallet', { token: buyer.token }); // provisions the user
    await t.runtime.deps.db.query(
      `INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING;`, [buyer.id]);
    await t.runtime.deps.db.query('INSERT INTO orders (user_id, listing_id, quantity, unit_price, total_price) VALUES ($1, $2, 1, 100, 100)', [buyer.id, sold.id]);
    expect((await t.request('DELETE', `/admin/listings/${sold.id}`, { token: t.adminToken })).status).toBe(204);
    const after = await t.request('GET', `/admin/listings/${sold.id}`, { token: t.adminToken });
    expect(after.status).toBe(200);
    expect(after.body.active).toBe(false);
  });

  it('when listings are paged with an active filter, then each appears once and only the matching ones', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response: any = await t.request('GET', `/admin/listings?limit=2&active=true${cursor ? `&cursor=${cursor}` : ''}`, { token: t.adminToken });
      expect(response.status).toBe(200);
      expect(response.body.items.every((l: any) => l.active)).toBe(true);
      seen.push(...response.body.items.map((l: any) => l.id));
      cursor = response.body.nextCursor;
    } while (cursor);
    const active = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM listings WHERE active');
    expect(new Set(seen).size).toBe(active.rows[0]!.n);
    expect(seen).toHaveLength(active.rows[0]!.n);
  });

  it('when a non-admin calls the listing admin, then 401/403 before the body is looked at', async () => {
    const player = await t.player();
    expect((await t.request('POST', '/admin/listings', { token: player.token, body: { nonsense: true } })).status).toBe(403);
    expect((await t.request('POST', '/admin/listings', { body: { nonsense: true } })).status).toBe(401);
    expect((await t.request('DELETE', `/admin/listings/${crypto.randomUUID()}`, { token: player.token })).status).toBe(403);
  });
});
