// Character profiles over real HTTP: create, list, read, rename, delete, the cap and cross-player refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { fixtures } from '../inventory/fixtures.js';

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let gameId: string;

beforeAll(async () => {
  t = await startTestApp();
  f = fixtures(t);
  gameId = await f.game();
});
afterAll(async () => t?.close());

const create = (token: string, body: unknown) => t.request('POST', '/user/characters', { token, body });

describe('character profiles', () => {
  it('when a player creates a game character and a platform avatar, then both are listed with empty equipment', async () => {
    const player = await t.player();
    const hero = await create(player.token, { name: 'Hero', gameId });
    expect(hero.status).toBe(201);
    expect(hero.body).toMatchObject({ name: 'Hero', gameId, equipment: [] });
    const avatar = await create(player.token, { name: 'Me' });
    expect(avatar.body.gameId).toBeNull();
    expect((await create(player.token, { name: 'Also me', gameId: null })).status).toBe(201);

    const list = await t.request('GET', '/user/characters', { token: player.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((c: { name: string }) => c.name)).toEqual(['Hero', 'Me', 'Also me']);
    expect(list.body.nextCursor).toBeNull();
    const one = await t.request('GET', `/user/characters/${hero.body.id}`, { token: player.token });
    expect(one.body).toEqual(hero.body);
    expect(one.body).not.toHaveProperty('userId');
  });

  it('when characters span pages, then the cursor walks all of them once', async () => {
    const player = await t.player();
    for (let i = 0; i < 5; i++) await create(player.token, { name: `C${i}` });
    const first = await t.request('GET', '/user/characters?limit=3', { token: player.token });
    const second = await t.request('GET', `/user/characters?limit=3&cursor=${encodeURIComponent(first.body.nextCursor)}`, { token: player.token });
    expect([...first.body.items, ...second.body.items].map((c: { name: string }) => c.name)).toEqual(['C0', 'C1', 'C2', 'C3', 'C4']);
    expect(second.body.nextCursor).toBeNull();
  });

  it('when the list is shaped with fields=, then each character carries only those fields and id; unknown names are a 400', async () => {
    const player = await t.player();
    await create(player.token, { name: 'Shaped', gameId });
    const shaped = await t.request('GET', '/user/characters?fields=name,gameId', { token: player.token });
    expect(shaped.status).toBe(200);
    expect(shaped.body.items).toEqual([{ id: expect.any(String), name: 'Shaped', gameId }]);
    expect((await t.request('GET', '/user/characters?fields=id', { token: player.token })).body.items).toEqual([{ id: expect.any(String) }]);
    for (const fields of ['userId', 'name,bogus', '', 'name;gameId']) {
      const refused = await t.request('GET', `/user/characters?fields=${fields}`, { token: player.token });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('validation_failed');
    }
  });

  it('when the game is unknown or the input is malformed, then 404 / 400 and nothing is created', async () => {
    const player = await t.player();
    const unknownGame = await create(player.token, { name: 'X', gameId: crypto.randomUUID() });
    expect(unknownGame.status).toBe(404);
    expect(unknownGame.body.code).toBe('not_found');
    for (const body of [{}, { name: '' }, { name: ' padded ' }, { name: 'x'.repeat(65) }, { name: 'ok', gameId: 'nope' }, { name: 'ok', level: 3 }, { name: 'bell\u0007' }, { name: '\u200b\u200b' }, { name: '\ufeffAda' }]) {
      const response = await create(player.token, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect((await t.request('GET', '/user/characters', { token: player.token })).body.items).toEqual([]);
  });

  it('when a name joins emoji with a zero-width joiner, then it is accepted: only invisible edges are refused', async () => {
    const player = await t.player();
    const created = await create(player.token, { name: 'Dev \u{1F469}\u200d\u{1F4BB}' });
    expect(created.status).toBe(201);
    expect(created.body.name).toBe('Dev \u{1F469}\u200d\u{1F4BB}');
  });

  it('when a player reaches the cap, then the next create is 409 limit_reached, even when requests race', async () => {
    const player = await t.player();
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => create(player.token, { name: `N${i}` })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(20);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'limit_reached')).toBe(true);
    const count = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM characters WHERE user_id = $1', [player.id]);
    expect(count.rows[0]!.n).toBe(20);
  });

  it('when a character is renamed and deleted, then reads follow and the items it wore stay owned', async () => {
    const player = await t.player();
    const hero = (await create(player.token, { name: 'Old', gameId })).body;
    const [entry] = await f.grant(player.id, [{ itemId: await f.item({ gameId, slot: 'emote', kind: 'game_item' }) }]);
    await t.request('PUT', `/user/characters/${hero.id}/equipment/emote`, { token: player.token, body: { inventoryItemId: entry } });
    const renamed = await t.request('PATCH', `/user/characters/${hero.id}`, { token: player.token, body: { name: 'New' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'New', equipment: [{ slot: 'emote', inventoryItemId: entry }] });
    expect((await t.request('GET', `/user/characters/${hero.id}`, { token: player.token })).body.name).toBe('New');

    expect((await t.request('DELETE', `/user/characters/${hero.id}`, { token: player.token })).status).toBe(204);
    expect((await t.request('GET', `/user/characters/${hero.id}`, { token: player.token })).status).toBe(404);
    const inventory = await t.request('GET', '/user/inventory', { token: player.token });
    expect(inventory.body.items).toEqual([expect.objectContaining({ id: entry, equippedBy: [] })]);
  });

  it("when another player reads, renames, deletes or equips someone's character, then 404 and no data", async () => {
    const owner = await t.player();
    const intruder = await t.player();
    const hero = (await create(owner.token, { name: 'Mine', gameId })).body;
    const [entry] = await f.grant(intruder.id, [{ itemId: await f.item({ gameId, slot: 'weapon_skin' }) }]);
    const attempts = [
      t.request('GET', `/user/characters/${hero.id}`, { token: intruder.token }),
      t.request('PATCH', `/user/characters/${hero.id}`, { token: intruder.token, body: { name: 'Stolen' } }),
      t.request('DELETE', `/user/characters/${hero.id}`, { token: intruder.token }),
      t.request('PUT', `/user/characters/${hero.id}/equipment/weapon_skin`, { token: intruder.token, body: { inventoryItemId: entry } }),
      t.request('DELETE', `/user/characters/${hero.id}/equipment/weapon_skin`, { token: intruder.token }),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('not_found');
      expect(response.text).not.toContain('Mine');
    }
    expect((await t.request('GET', '/user/characters', { token: intruder.token })).body.items).toEqual([]);
    expect((await t.request('GET', `/user/characters/${hero.id}`, { token: owner.token })).body).toMatchObject({ name: 'Mine', equipment: [] });
  });
});

describe('creating a character while its game is being deleted', () => {
  it('when an operator deletes the game (its transaction still open), then the create waits and answers 404, never a 500', async () => {
    const player = await t.player();
    const doomed = await f.game(['emote']);
    const operator = await t.runtime.deps.db.withTx(async (tx) => {
      await tx.query('DELETE FROM game_slots WHERE game_id = $1', [doomed]);
      await tx.query('DELETE FROM games WHERE id = $1', [doomed]);
      let settled = false;
      const creating = create(player.token, { name: 'Late', gameId: doomed }).finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { creating, settledBeforeCommit: settled };
    });
    expect(operator.settledBeforeCommit).toBe(false); // it waited for the operator's commit
    const response = await operator.creating;
    expect(response.status, response.text).toBe(404);
    expect(response.body.code).toBe('not_found');
    expect((await t.request('GET', '/user/characters', { token: player.token })).body.items).toEqual([]);
  });
});

describe('names that would look empty or change when stored', () => {
  it('when a name is only an invisible filler (Hangul fillers, a Braille blank) or starts with one, then 400 and nothing is created', async () => {
    const player = await t.player();
    for (const name of ['\u3164', '\u115f', '\u1160', '\uffa0', '\u2800', '\u3164\u3164Ada', 'Ada\u2800', '\u0301']) {
      const response = await create(player.token, { name });
      expect(response.status, JSON.stringify(name)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect((await t.request('GET', '/user/characters', { token: player.token })).body.items).toEqual([]);
  });

  it('when a name carries a lone surrogate or a line separator, then 400: the name would be stored as something else or span lines', async () => {
    const player = await t.player();
    const hero = (await create(player.token, { name: 'Hero' })).body;
    for (const name of ['A\ud800', '\udfffB', 'a\u2028b', 'a\u2029b']) {
      const created = await create(player.token, { name });
      expect(created.status, JSON.stringify(name)).toBe(400);
      const renamed = await t.request('PATCH', `/user/characters/${hero.id}`, { token: player.token, body: { name } });
      expect(renamed.status, JSON.stringify(name)).toBe(400);
    }
    // A filler or accent inside a name is fine; so is a real surrogate pair (an emoji).
    for (const name of ['Ada\u3164Lovelace', 'Jose\u0301', '\u{1F409} Dragon']) {
      const created = await create(player.token, { name });
      expect(created.status, JSON.stringify(name)).toBe(201);
      expect(created.body.name).toBe(name);
    }
    expect((await t.request('GET', `/user/characters/${hero.id}`, { token: player.token })).body.name).toBe('Hero');
  });
});

describe('a delete retried after the first attempt died before invalidating', () => {
  it("when the retry answers 404 on another instance, then the player's cached list no longer shows the character", async () => {
    const first = await startTestApp({ redis: true });
    const second = await startTestApp({ redis: true, databaseUrl: first.config.databaseUrl });
    try {
      const player = await first.player();
      const hero = (await second.request('POST', '/user/characters', { token: player.token, body: { name: 'Gone' } })).body;
      const names = async () => (await second.request('GET', '/user/characters', { token: player.token })).body.items.map((c: { name: string }) => c.name);
      expect(await names()).toEqual(['Gone']); // cached
      const { inventory } = first.runtime.services;
      const invalidateUser = inventory.invalidateUser;
      inventory.invalidateUser = async () => undefined; // the process dies right after the commit
      expect((await first.request('DELETE', `/user/characters/${hero.id}`, { token: player.token })).status).toBe(204);
      inventory.invalidateUser = invalidateUser;
      expect(await names()).toEqual(['Gone']); // stale: nobody invalidated

      const retried = await second.request('DELETE', `/user/characters/${hero.id}`, { token: player.token });
      expect(retried.status).toBe(404);
      expect(await names()).toEqual([]);
      expect((await second.request('GET', `/user/characters/${hero.id}`, { token: player.token })).status).toBe(404);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
