// GET /user/inventory over real HTTP, with the Redis-backed cache on: shape, filters, pages, invalidation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { indexPlanOf } from '../support/index-plan.js';
import { fixtures } from './fixtures.js';

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let gameId: string;

beforeAll(async () => {
  t = await startTestApp({ redis: true });
  f = fixtures(t);
  gameId = await f.game();
});
afterAll(async () => t?.close());

const list = async (token: string, query = '') => {
  const response = await t.request('GET', `/user/inventory${query}`, { token });
  expect(response.status, response.text).toBe(200);
  return response.body as { items: Array<Record<string, any>>; nextCursor: string | null };
};

describe('GET /user/inventory', () => {
  it('when a player owns items, then each entry carries item name, kind, game, slot, quantity, equippedBy and source', async () => {
    const player = await t.player();
    const skin = await f.item({ name: 'Dragon Blade', gameId, slot: 'weapon_skin' });
    const potion = await f.item({ name: 'Potion', kind: 'utility', consumable: true, maxStack: 10 });
    const [skinEntry, potionEntry] = await f.grant(player.id, [{ itemId: skin }, { itemId: potion, quantity: 3 }]);

    const page = await list(player.token);
    expect(page.nextCursor).toBeNull();
    expect(page.items).toHaveLength(2);
    expect(page.items.find((e) => e.id === skinEntry)).toMatchObject({
      itemId: skin, name: 'Dragon Blade', kind: 'game_skin', gameId, quantity: 1, consumable: false, slot: 'weapon_skin', equippedBy: [], source: 'grant',
    });
    expect(page.items.find((e) => e.id === potionEntry)).toMatchObject({ itemId: potion, kind: 'utility', gameId: null, quantity: 3, consumable: true, slot: null });
    expect(Date.parse(page.items[0]!.acquiredAt)).not.toBeNaN();
  });

  it('when the inventory spans several pages, then walking the cursor returns every entry exactly once, newest first', async () => {
    const player = await t.player();
    const items = await Promise.all(Array.from({ length: 7 }, () => f.item()));
    await f.grant(player.id, items.slice(0, 4).map((itemId) => ({ itemId }))); // same acquired_at: the id breaks ties
    for (const itemId of items.slice(4)) await f.grant(player.id, [{ itemId }]);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(player.token, `?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items.map((e) => e.itemId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    expect(seen.slice(0, 3)).toEqual(items.slice(4).reverse());
  });

  it('when filters are given, then only matching entries come back', async () => {
    const player = await t.player();
    const otherGame = await f.game();
    const skin = await f.item({ gameId, slot: 'weapon_skin' });
    const otherSkin = await f.item({ gameId: otherGame, slot: 'emote', kind: 'game_item' });
    const potion = await f.item({ kind: 'utility', consumable: true });
    const [skinEntry] = await f.grant(player.id, [{ itemId: skin }, { itemId: otherSkin }, { itemId: potion, quantity: 2 }]);
    const character = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'Hero', gameId } });
    expect((await t.request('PUT', `/user/characters/${character.body.id}/equipment/weapon_skin`, { token: player.token, body: { inventoryItemId: skinEntry } })).status).toBe(200);

    const ids = async (query: string) => (await list(player.token, query)).items.map((e) => e.itemId).sort();
    expect(await ids(`?gameId=${gameId}`)).toEqual([skin]);
    expect(await ids('?kind=game_item')).toEqual([otherSkin]);
    expect(await ids('?consumable=true')).toEqual([potion]);
    expect(await ids('?consumable=false')).toEqual([skin, otherSkin].sort());
    expect(await ids('?equipped=true')).toEqual([skin]);
    expect(await ids('?equipped=false')).toEqual([otherSkin, potion].sort());
    expect(await ids(`?equipped=false&gameId=${otherGame}`)).toEqual([otherSkin]);
    expect((await list(player.token, '?equipped=true')).items[0]!.equippedBy).toEqual([character.body.id]);
  });

  it('when fields= is given, then only those fields (and id) come back', async () => {
    const player = await t.player();
    await f.grant(player.id, [{ itemId: await f.item({ name: 'Cape' }) }]);
    const page = await list(player.token, '?fields=name,quantity');
    expect(Object.keys(page.items[0]!).sort()).toEqual(['id', 'name', 'quantity']);
  });

  it('when a filter, limit, cursor or field is unknown or malformed, then 400 validation_failed', async () => {
    const player = await t.player();
    for (const query of ['?kind=hat', '?gameId=nope', '?consumable=maybe', '?equipped=2', '?limit=0', '?limit=101', '?cursor=garbage', '?fields=secret', '?colour=red']) {
      const response = await t.request('GET', `/user/inventory${query}`, { token: player.token });
      expect(response.status, query).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it('when a real cursor is tampered with in ways a lenient base64 decoder ignores (a stray character, padding, a blank), then 400', async () => {
    const player = await t.player();
    const itemIds = [await f.item(), await f.item()];
    await f.grant(player.id, itemIds.map((itemId) => ({ itemId })));
    for (const name of ['A', 'B']) await t.request('POST', '/user/characters', { token: player.token, body: { name } });
    for (const path of ['/user/inventory', '/user/characters']) {
      const first = await t.request('GET', `${path}?limit=1`, { token: player.token });
      const cursor = first.body.nextCursor as string;
      expect(cursor, path).toBeTruthy();
      for (const tampered of [`${cursor.slice(0, 2)}!${cursor.slice(2)}`, `${cursor}==`, `${cursor.slice(0, 3)} ${cursor.slice(3)}`]) {
        // Node reads every one of these as the very same bytes: only a strict check tells them from the real cursor.
        expect(Buffer.from(tampered, 'base64url').equals(Buffer.from(cursor, 'base64url'))).toBe(true);
        const response = await t.request('GET', `${path}?limit=1&cursor=${encodeURIComponent(tampered)}`, { token: player.token });
        expect(response.status, `${path} ${tampered}`).toBe(400);
        expect(response.body.code).toBe('validation_failed');
      }
      expect((await t.request('GET', `${path}?limit=1&cursor=${cursor}`, { token: player.token })).status).toBe(200);
    }
  });

  it('when a cursor carries a timestamp JavaScript parses but PostgreSQL cannot store or reads otherwise, then 400, never a 500', async () => {
    const player = await t.player();
    const id = crypto.randomUUID();
    for (const at of ['+275760-09-13T00:00:00.000Z', '2030-02-31T00:00:00Z', 'Feb 1 2030', '2030']) {
      const cursor = Buffer.from(JSON.stringify([at, id])).toString('base64url');
      for (const path of ['/user/inventory', '/user/characters']) {
        const response = await t.request('GET', `${path}?cursor=${cursor}`, { token: player.token });
        expect(response.status, `${path} ${at}`).toBe(400);
        expect(response.body.code).toBe('validation_failed');
      }
    }
  });

  it('when a stack is used down to zero, then the entry is no longer listed', async () => {
    const player = await t.player();
    const potion = await f.item({ kind: 'utility', consumable: true });
    const [entry] = await f.grant(player.id, [{ itemId: potion, quantity: 1 }]);
    expect((await list(player.token)).items).toHaveLength(1);
    const used = await t.request('POST', `/user/inventory/${entry}/use`, { token: player.token, headers: { 'idempotency-key': f.unique('k') }, body: {} });
    expect(used.status).toBe(200);
    expect((await list(player.token)).items).toEqual([]);
  });

  it('when the cached inventory changes through a grant, a use or an equip, then the next read shows the change', async () => {
    const player = await t.player();
    const potion = await f.item({ kind: 'utility', consumable: true });
    const skin = await f.item({ gameId, slot: 'weapon_skin' });
    const [potionEntry] = await f.grant(player.id, [{ itemId: potion, quantity: 5 }]);
    expect((await list(player.token)).items.map((e) => e.quantity)).toEqual([5]);
    expect((await list(player.token)).items.map((e) => e.quantity)).toEqual([5]); // served from the cache

    const [skinEntry] = await f.grant(player.id, [{ itemId: skin }]);
    expect((await list(player.token)).items).toHaveLength(2);

    await t.request('POST', `/user/inventory/${potionEntry}/use`, { token: player.token, headers: { 'idempotency-key': f.unique('k') }, body: { quantity: 2 } });
    expect((await list(player.token)).items.find((e) => e.id === potionEntry)!.quantity).toBe(3);

    const character = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'Hero', gameId } });
    await t.request('PUT', `/user/characters/${character.body.id}/equipment/weapon_skin`, { token: player.token, body: { inventoryItemId: skinEntry } });
    expect((await list(player.token)).items.find((e) => e.id === skinEntry)!.equippedBy).toEqual([character.body.id]);

    await t.request('DELETE', `/user/characters/${character.body.id}/equipment/weapon_skin`, { token: player.token });
    expect((await list(player.token)).items.find((e) => e.id === skinEntry)!.equippedBy).toEqual([]);
  });

  it('when a game server grants items through POST /service/grants, then the cached inventory shows them at once', async () => {
    const player = await t.player();
    const skin = await f.item({ name: 'Trophy Skin' });
    const lives = await f.item({ kind: 'utility', consumable: true, maxStack: 5 });
    expect((await list(player.token)).items).toEqual([]); // cached empty
    const grant = (items: unknown[]) => t.request('POST', '/service/grants', {
      token: t.serviceToken, headers: { 'idempotency-key': f.unique('grant') }, body: { userId: player.id, items, reason: 'tournament reward' },
    });
    expect((await grant([{ itemId: skin, quantity: 1 }, { itemId: lives, quantity: 3 }])).status).toBe(201);
    const page = await list(player.token);
    expect(page.items.map((e) => [e.itemId, e.quantity, e.source]).sort()).toEqual([[skin, 1, 'grant'], [lives, 3, 'grant']].sort());

    // Rewarding what is already owned or past the stack answers 409 and changes nothing.
    const again = await grant([{ itemId: skin, quantity: 1 }]);
    expect([again.status, again.body.code]).toEqual([409, 'already_owned']);
    const overflow = await grant([{ itemId: lives, quantity: 3 }]);
    expect([overflow.status, overflow.body.code]).toEqual([409, 'stack_limit_reached']);
    expect((await list(player.token)).items.find((e) => e.itemId === lives)!.quantity).toBe(3);
  });

  it("when an operator renames an owned item, then the player's cached inventory and characters show it on the next read", async () => {
    const player = await t.player();
    const skin = await f.item({ name: 'Old Name', kind: 'platform_skin', slot: 'weapon_skin' });
    const [entry] = await f.grant(player.id, [{ itemId: skin }]);
    const character = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'Hero' } });
    await t.request('PUT', `/user/characters/${character.body.id}/equipment/weapon_skin`, { token: player.token, body: { inventoryItemId: entry } });
    const characterPath = `/user/characters/${character.body.id}`;
    // Fill every cache the player reads.
    expect((await list(player.token)).items[0]!.name).toBe('Old Name');
    expect((await list(player.token, '?equipped=true')).items[0]!.name).toBe('Old Name');
    expect((await t.request('GET', characterPath, { token: player.token })).body.equipment[0].name).toBe('Old Name');
    expect((await t.request('GET', '/user/characters', { token: player.token })).body.items[0].equipment[0].name).toBe('Old Name');

    const patched = await t.request('PATCH', `/admin/items/${skin}`, { token: t.adminToken, body: { name: 'New Name' } });
    expect(patched.status, patched.text).toBe(200);

    expect((await list(player.token)).items[0]!.name).toBe('New Name');
    expect((await list(player.token, '?equipped=true')).items[0]!.name).toBe('New Name');
    expect((await t.request('GET', characterPath, { token: player.token })).body.equipment[0].name).toBe('New Name');
    expect((await t.request('GET', '/user/characters', { token: player.token })).body.items[0].equipment[0].name).toBe('New Name');
  });

  it("when two players own items, then each sees only their own inventory", async () => {
    const [a, b] = [await t.player(), await t.player()];
    await f.grant(a.id, [{ itemId: await f.item() }]);
    expect((await list(b.token)).items).toEqual([]);
    expect((await list(a.token)).items).toHaveLength(1);
  });
});

describe('a process that dies between a commit and its invalidation', () => {
  it("when a process restarts after a write it never invalidated, then the player's inventory and characters are read fresh", async () => {
    const player = await t.player();
    const lives = await f.item({ name: 'Extra Life', kind: 'utility', consumable: true, maxStack: 10 });
    const [entry] = await f.grant(player.id, [{ itemId: lives, quantity: 5 }]);
    const hero = (await t.request('POST', '/user/characters', { token: player.token, body: { name: 'Before' } })).body;
    // The player's pages are cached in Redis.
    expect((await list(player.token)).items.map((e) => e.quantity)).toEqual([5]);
    expect((await t.request('GET', `/user/characters/${hero.id}`, { token: player.token })).body.name).toBe('Before');
    expect((await t.request('GET', '/user/characters', { token: player.token })).body.items[0].name).toBe('Before');

    // A use and a rename commit, and the process is killed before it invalidates: the rows change, nothing is bumped.
    const db = t.runtime.deps.db;
    await db.query('UPDATE inventory_items SET quantity = 2 WHERE id = $1', [entry]);
    await db.query('UPDATE characters SET name = $2 WHERE id = $1', [hero.id, 'After']);

    // The service comes back (a new process on the same database and Redis) and the player reads.
    const restarted = await startTestApp({ redis: true, databaseUrl: t.config.databaseUrl });
    try {
      const read = (path: string) => restarted.request('GET', path, { token: player.token });
      expect((await read('/user/inventory')).body.items.map((e: { quantity: number }) => e.quantity)).toEqual([2]);
      expect((await read(`/user/characters/${hero.id}`)).body.name).toBe('After');
      expect((await read('/user/characters')).body.items[0].name).toBe('After');
    } finally {
      await restarted.close(); // its database is the suite's: closing does not drop it
    }
  });
});

describe('the inventory page query plan', () => {
  it('when a page is read, then inventory_items_user_idx serves both the filter and the order (no sort node)', async () => {
    const player = await t.player();
    await f.grant(player.id, [{ itemId: await f.item() }, { itemId: await f.item() }]);
    const { listInventoryPage } = await import('../../src/modules/inventory/inventory-list.repository.js');
    const plan = await indexPlanOf(t.runtime.deps.db, (executor) => listInventoryPage(executor, { userId: player.id, filter: {}, after: { acquiredAt: new Date().toISOString(), id: crypto.randomUUID() }, limit: 21 }));
    expect(plan).toContain('inventory_items_user_idx');
    expect(plan).not.toContain('"Node Type":"Sort"');
  });
});
