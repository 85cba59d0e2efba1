import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGame, createItem, createListing, unique } from './fixtures.js';

let t: TestApp;
let game: { id: string; slots: string[] };
let otherGame: { id: string };

beforeAll(async () => {
  t = await startTestApp();
  game = await createGame(t, ['weapon_skin', 'emote']);
  otherGame = await createGame(t, ['character_skin']);
});
afterAll(async () => t?.close());

const post = (body: Record<string, unknown>) =>
  t.request('POST', '/admin/items', { token: t.adminToken, body: { sku: unique('sku'), name: 'Item', kind: 'platform_skin', deliveryType: 'inventory', ...body } });

describe('admin item definitions', () => {
  it('when a name or a listing title is only blanks, then 400 validation_failed and nothing is created', async () => {
    for (const name of [' ', '\t\n', '\u3000', '\u200b', '\u200b\u2060\ufeff', '\u0001']) {
      const response = await post({ name });
      expect(response.status, JSON.stringify(name)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    const item = await post({});
    const listing = await t.request('POST', '/admin/listings', { token: t.adminToken, body: { title: '   ', price: 10, items: [{ itemId: item.body.id, quantity: 1 }] } });
    expect(listing.status).toBe(400);
    const { rows } = await t.runtime.deps.db.query(`SELECT 1 FROM listings WHERE btrim(title) = ''`);
    expect(rows).toEqual([]);
  });

  it('when an admin creates a game skin in one of its slots, then 201 with defaults and it can be read back', async () => {
    const created = await post({ kind: 'game_skin', gameId: game.id, slot: 'weapon_skin', attributes: { rarity: 'epic', collab: { brand: 'X' } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ kind: 'game_skin', gameId: game.id, slot: 'weapon_skin', consumable: false, maxStack: 1, description: '', effect: null, compatibleGameIds: [], attributes: { rarity: 'epic', collab: { brand: 'X' } } });
    const read = await t.request('GET', `/admin/items/${created.body.id}`, { token: t.adminToken });
    expect(read.body).toEqual(created.body);
  });

  it('when an item is created without deliveryType, then it takes its kind\'s delivery (inventory unless voucher, merch or gem pack)', async () => {
    const create = (body: Record<string, unknown>) => t.request('POST', '/admin/items', { token: t.adminToken, body: { sku: unique('nodelivery'), name: 'No Delivery', ...body } });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ kind: 'game_skin', gameId: game.id, slot: 'weapon_skin' }, 'inventory'],
      [{ kind: 'platform_skin' }, 'inventory'],
      [{ kind: 'utility', consumable: true }, 'inventory'],
      [{ kind: 'voucher' }, 'email'],
      [{ kind: 'merch', shopifyVariantId: 'gid://shopify/ProductVariant/42' }, 'shopify'],
      [{ kind: 'gem_pack', effect: { gems: 500 } }, 'functional'],
    ];
    for (const [body, deliveryType] of cases) {
      const response = await create(body);
      expect(response.status, response.text).toBe(201);
      expect(response.body.deliveryType).toBe(deliveryType);
    }
    // The kind's rules still hold: merch needs its variant, a gem pack its gems.
    for (const body of [{ kind: 'merch' }, { kind: 'gem_pack' }]) {
      const response = await create(body);
      expect(response.status, response.text).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it('when a consumable is created without maxStack, then it stacks to 99', async () => {
    const item = await createItem(t, { kind: 'utility', consumable: true, deliveryType: 'inventory', effect: { lives: 1 } });
    expect(item).toMatchObject({ consumable: true, maxStack: 99, effect: { lives: 1 } });
  });

  it('when a platform skin lists compatible games, then they are stored and unknown ones answer 404', async () => {
    const item = await createItem(t, { compatibleGameIds: [game.id, otherGame.id, game.id] });
    expect([...item.compatibleGameIds].sort()).toEqual([game.id, otherGame.id].sort());
    const unknown = await post({ compatibleGameIds: [crypto.randomUUID()] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
  });

  it('when the sku is taken, then 409 conflict and nothing changes', async () => {
    const sku = unique('dup');
    expect((await post({ sku })).status).toBe(201);
    const again = await post({ sku, name: 'Other' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('conflict');
  });

  it.each([
    ['an unknown kind', { kind: 'spaceship' }],
    ['an unknown delivery type', { deliveryType: 'pigeon' }],
    ['an empty name', { name: '' }],
    ['a null sku', { sku: null }],
    ['an extra field', { colour: 'red' }],
    ['a game skin without a game', { kind: 'game_skin' }],
    ['a platform skin with a game', { gameId: 'GAME' }],
    ['a slot that is not one of the game\'s slots', { kind: 'game_skin', gameId: 'GAME', slot: 'character_skin' }],
    ['a malformed slot key', { kind: 'game_skin', gameId: 'GAME', slot: 'Weapon Skin' }],
    ['a consumable worn in a slot', { kind: 'game_item', gameId: 'GAME', slot: 'emote', consumable: true }],
    ['a non-consumable with maxStack above 1', { maxStack: 5 }],
    ['shopify delivery without a variant', { kind: 'merch', deliveryType: 'shopify' }],
    ['functional delivery without an effect', { kind: 'gem_pack', deliveryType: 'functional' }],
    ['an effect that is not an object', { kind: 'gem_pack', deliveryType: 'functional', effect: [1, 2] }],
    ['a functional effect with no key', { kind: 'gem_pack', deliveryType: 'functional', effect: {} }],
    ['a functional effect of negative gems', { kind: 'gem_pack', deliveryType: 'functional', effect: { gems: -500 } }],
    ['a functional effect of zero gems', { kind: 'gem_pack', deliveryType: 'functional', effect: { gems: 0 } }],
    ['a functional effect of fractional gems', { kind: 'gem_pack', deliveryType: 'functional', effect: { gems: 2.5 } }],
    ['a functional effect above 1e9 per unit', { kind: 'gem_pack', deliveryType: 'functional', effect: { gems: 1e308 } }],
    ['a functional effect given as text', { kind: 'gem_pack', deliveryType: 'functional', effect: { gems: 'lots' } }],
    ['a voucher not delivered by email', { kind: 'voucher', deliveryType: 'inventory' }],
    ['merch not shipped through Shopify', { kind: 'merch', deliveryType: 'inventory' }],
    ['a gem pack kept in the inventory', { kind: 'gem_pack', deliveryType: 'inventory', consumable: true, effect: { gems: 5 } }],
    ['a gem pack that grants no gems', { kind: 'gem_pack', deliveryType: 'functional', effect: { lives: 3 } }],
    ['a slot on an item that is not kept in the inventory', { kind: 'platform_skin', deliveryType: 'functional', slot: 'frame', effect: { lives: 1 } }],
    ['a functional effect with a malformed name', { kind: 'utility', deliveryType: 'functional', effect: { 'Extra Lives!': 1 } }],
    ['attributes over 16 KiB', { attributes: { blob: 'x'.repeat(17 * 1024) } }],
    ['compatible games on a game item', { kind: 'game_item', gameId: 'GAME', compatibleGameIds: ['GAME'] }],
    ['a non-UUID game id', { kind: 'game_skin', gameId: 'not-a-uuid' }],
  ])('when the body has %s, then 400 validation_failed', async (_name, patch) => {
    const body = JSON.parse(JSON.stringify(patch).replaceAll('GAME', game.id));
    const response = await post(body);
    expect(response.status, response.text).toBe(400);
    expect(response.body.code).toBe('validation_failed');
  });

  it('when attributes or effect nest very deeply, then 400 validation_failed (not a stack overflow 500) and nothing is stored', async () => {
    const sku = unique('deep');
    for (const [field, depth] of [['attributes', 100_000], ['attributes', 1_000], ['effect', 100_000]] as const) {
      const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const response = await t.request('POST', '/admin/items', {
        token: t.adminToken,
        body: `{"sku":"${sku}","name":"Deep","kind":"platform_skin","deliveryType":"inventory","${field}":{"a":${deep}}}`,
      });
      expect(response.status, response.text).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    const item = await createItem(t, {});
    const patched = await t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body: `{"attributes":{"a":${'{"b":'.repeat(50_000)}1${'}'.repeat(50_000)}}}` });
    expect(patched.status, patched.text).toBe(400);
    expect((await t.request('GET', `/admin/items?limit=100`, { token: t.adminToken })).body.items.some((i: { sku: string }) => i.sku === sku)).toBe(false);
  });

  it('when attributes or effect hold a number too large for JSON to keep (1e400), then 400 and nothing is stored (it was kept as null)', async () => {
    for (const [field, json] of [['attributes', '{"power": 1e400}'], ['attributes', '{"stats": [1, -1e999]}'], ['effect', '{"lives": 1, "bonus": 1e400}']] as const) {
      const sku = unique('infinite');
      const raw = `{"sku":"${sku}","name":"Infinite","kind":"utility","consumable":true,"deliveryType":"inventory","${field}":${json}}`;
      const response = await t.request('POST', '/admin/items', { token: t.adminToken, body: raw });
      expect(response.status, response.text).toBe(400);
      expect(response.body.code).toBe('validation_failed');
      const stored = await t.runtime.deps.db.query('SELECT 1 FROM item_definitions WHERE sku = $1', [sku]);
      expect(stored.rowCount).toBe(0);
    }
    const item = await createItem(t, { attributes: { power: 1e300 } });
    expect(item.attributes).toEqual({ power: 1e300 });
    const patched = await t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body: '{"attributes": {"power": 1e400}}' });
    expect(patched.status, patched.text).toBe(400);
    expect((await t.request('GET', `/admin/items/${item.id}`, { token: t.adminToken })).body.attributes).toEqual({ power: 1e300 });
  });

  it('when the game does not exist, then 404 not_found', async () => {
    const response = await post({ kind: 'game_skin', gameId: crypto.randomUUID() });
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('not_found');
  });

  it('when a functional item is patched to an effect its purchase could not apply, then 400 and the item is unchanged', async () => {
    const item = await createItem(t, { kind: 'utility', deliveryType: 'functional', consumable: true, effect: { gems: 500 } });
    for (const effect of [{ gems: -1 }, {}, { gems: 'x' }]) {
      const response = await t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body: { effect } });
      expect(response.status, response.text).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    const moved = await t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body: { deliveryType: 'inventory', effect: { lives: 2 } } });
    expect(moved.status).toBe(200);
    const back = await t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body: { deliveryType: 'functional', effect: { lives: 0 } } });
    expect(back.status).toBe(400);
    expect((await t.request('GET', `/admin/items/${item.id}`, { token: t.adminToken })).body).toMatchObject({ deliveryType: 'inventory', effect: { lives: 2 } });
  });

  it('when a functional effect names gems, counters and true flags, then 201', async () => {
    const item = await createItem(t, { kind: 'utility', deliveryType: 'functional', consumable: true, effect: { gems: 1_000_000_000, lives: 3, name_change: true } });
    expect(item.effect).toEqual({ gems: 1_000_000_000, lives: 3, name_change: true });
  });

  it('when an item change would leave a listing selling more units per line than the item can be held, then 409 and the item is unchanged', async () => {
    const item = await createItem(t, { kind: 'utility', consumable: true, maxStack: 10 });
    const listing = await createListing(t, { items: [{ itemId: item.id, quantity: 5 }] });
    for (const body of [{ maxStack: 3 }, { consumable: false }]) {
      const response = await t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body });
      expect(response.status, response.text).toBe(409);
      expect(response.body).toMatchObject({ code: 'conflict', listingIds: [listing.id] });
    }
    expect((await t.request('GET', `/admin/items/${item.id}`, { token: t.adminToken })).body).toEqual(item);
    // A change the listing still fits is fine.
    expect((await t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body: { maxStack: 5 } })).status).toBe(200);
  });

  it('when an item is patched into an invalid shape, then 400 and the item is unchanged', async () => {
    const item = await createItem(t, { kind: 'game_skin', gameId: game.id, slot: 'emote' });
    const response = await t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body: { consumable: true } });
    expect(response.status).toBe(400);
    expect((await t.request('GET', `/admin/items/${item.id}`, { token: t.adminToken })).body).toEqual(item);
  });

  it('when an item is renamed, then the listings containing it show the new name and follow its delivery type', async () => {
    const item = await createItem(t, { name: 'Old Name' });
    const listing = await createListing(t, { items: [{ itemId: item.id, quantity: 1 }] });
    const patched = await t.request('PATCH', `/admin/items/${item.id}`, { token: t.adminToken, body: { name: 'New Name', kind: 'voucher', deliveryType: 'email' } });
    expect(patched.status).toBe(200);
    const after = await t.request('GET', `/admin/listings/${listing.id}`, { token: t.adminToken });
    expect(after.body.items[0].name).toBe('New Name');
    expect(after.body).toMatchObject({ deliveryType: 'email', kinds: ['voucher'] });
  });

  it('when items are listed, then pages walk every item once, newest first, with filters', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response: any = await t.request('GET', `/admin/items?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: t.adminToken });
      expect(response.status).toBe(200);
      seen.push(...response.body.items.map((i: { id: string }) => i.id));
      cursor = response.body.nextCursor;
    } while (cursor);
    const total = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM item_definitions');
    expect(seen).toHaveLength(total.rows[0]!.n);
    expect(new Set(seen).size).toBe(seen.length);
    const ofGame = await t.request('GET', `/admin/items?gameId=${game.id}&kind=game_skin`, { token: t.adminToken });
    expect(ofGame.body.items.length).toBeGreaterThan(0);
    expect(ofGame.body.items.every((i: any) => i.gameId === game.id && i.kind === 'game_skin')).toBe(true);
  });

  it('when the last page of items or listings is exactly full, then its nextCursor is null (no empty page to fetch)', async () => {
    const lonely = await createGame(t, ['emote']);
    const item = await createItem(t, { kind: 'game_item', gameId: lonely.id, slot: 'emote' });
    const items = await t.request('GET', `/admin/items?gameId=${lonely.id}&limit=1`, { token: t.adminToken });
    expect(items.body.items.map((i: { id: string }) => i.id)).toEqual([item.id]);
    expect(items.body.nextCursor).toBeNull();

    const listing = await createListing(t, { items: [{ itemId: item.id, quantity: 1 }] });
    const listings = await t.request('GET', `/admin/listings?gameId=${lonely.id}&limit=1`, { token: t.adminToken });
    expect(listings.body.items.map((l: { id: string }) => l.id)).toEqual([listing.id]);
    expect(listings.body.nextCursor).toBeNull();

    // A second row makes the first page's cursor lead to it.
    const second = await createItem(t, { kind: 'game_item', gameId: lonely.id });
    const first = await t.request('GET', `/admin/items?gameId=${lonely.id}&limit=1`, { token: t.adminToken });
    expect(first.body.items.map((i: { id: string }) => i.id)).toEqual([second.id]);
    const next = await t.request('GET', `/admin/items?gameId=${lonely.id}&limit=1&cursor=${first.body.nextCursor}`, { token: t.adminToken });
    expect(next.body).toEqual({ items: [expect.objectContaining({ id: item.id })], nextCursor: null });
  });

  it('when an item is listed, then deleting it answers 409; an unused item is deleted', async () => {
    const used = await createItem(t, {});
    await createListing(t, { items: [{ itemId: used.id, quantity: 1 }] });
    expect((await t.request('DELETE', `/admin/items/${used.id}`, { token: t.adminToken })).status).toBe(409);
    const unused = await createItem(t, {});
    expect((await t.request('DELETE', `/admin/items/${unused.id}`, { token: t.adminToken })).status).toBe(204);
    expect((await t.request('GET', `/admin/items/${unused.id}`, { token: t.adminToken })).status).toBe(404);
  });

  it('when a player or nobody calls the item admin, then 403 or 401', async () => {
    const player = await t.player();
    expect((await t.request('GET', '/admin/items', { token: player.token })).status).toBe(403);
    expect((await t.request('POST', '/admin/items', { token: (await t.token('service')), body: {} })).status).toBe(403);
    expect((await t.request('GET', '/admin/items')).status).toBe(401);
  });

  it('when ids or cursors are garbage, then 400', async () => {
    expect((await t.request('GET', '/admin/items/123', { token: t.adminToken })).status).toBe(400);
    expect((await t.request('GET', '/admin/items?cursor=%%%', { token: t.adminToken })).status).toBe(400);
    const feb31 = Buffer.from(JSON.stringify(['2024-02-31T00:00:00.000000Z', crypto.randomUUID()])).toString('base64url');
    expect((await t.request('GET', `/admin/items?cursor=${feb31}`, { token: t.adminToken })).status).toBe(400);
    expect((await t.request('GET', '/admin/items?limit=0', { token: t.adminToken })).status).toBe(400);
  });
});
