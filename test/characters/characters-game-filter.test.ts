// GET /user/characters?gameId=: one game's roster, paged, with a cursor that belongs to its filter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { indexPlanOf } from '../support/index-plan.js';
import { fixtures } from '../inventory/fixtures.js';

let t: TestApp;
let f: ReturnType<typeof fixtures>;
let gameA: string;
let gameB: string;

beforeAll(async () => {
  t = await startTestApp();
  f = fixtures(t);
  gameA = await f.game();
  gameB = await f.game();
});
afterAll(async () => t?.close());

const create = (token: string, body: unknown) => t.request('POST', '/user/characters', { token, body });
const names = (page: { items: Array<{ name: string }> }) => page.items.map((c) => c.name);

describe('the characters list filtered by game', () => {
  it("when gameId is given, then only that game's characters come back, oldest first, paged with a cursor", async () => {
    const player = await t.player();
    const other = await t.player();
    await create(other.token, { name: 'Not mine', gameId: gameA });
    for (const [name, gameId] of [['A1', gameA], ['Avatar', null], ['B1', gameB], ['A2', gameA], ['A3', gameA]] as const) {
      expect((await create(player.token, { name, gameId })).status).toBe(201);
    }
    // The unfiltered list first: its cached page must not answer the filtered request.
    expect(names((await t.request('GET', '/user/characters', { token: player.token })).body)).toEqual(['A1', 'Avatar', 'B1', 'A2', 'A3']);

    const first = await t.request('GET', `/user/characters?gameId=${gameA}&limit=2`, { token: player.token });
    expect(first.status).toBe(200);
    expect(names(first.body)).toEqual(['A1', 'A2']);
    expect(first.body.items.every((c: { gameId: string }) => c.gameId === gameA)).toBe(true);
    const second = await t.request('GET', `/user/characters?gameId=${gameA}&limit=2&cursor=${first.body.nextCursor}`, { token: player.token });
    expect(second.status).toBe(200);
    expect(names(second.body)).toEqual(['A3']);
    expect(second.body.nextCursor).toBeNull();

    const b = await t.request('GET', `/user/characters?gameId=${gameB.toUpperCase()}`, { token: player.token });
    expect(names(b.body)).toEqual(['B1']);
  });

  it('when the gameId is well-formed but no game of the player (or none at all), then an empty page, like the inventory filter', async () => {
    const player = await t.player();
    await create(player.token, { name: 'Hero', gameId: gameA });
    for (const gameId of [crypto.randomUUID(), gameB]) {
      const characters = await t.request('GET', `/user/characters?gameId=${gameId}`, { token: player.token });
      expect(characters.status).toBe(200);
      expect(characters.body).toEqual({ items: [], nextCursor: null });
      const inventory = await t.request('GET', `/user/inventory?gameId=${gameId}`, { token: player.token });
      expect(inventory.status).toBe(200);
      expect(inventory.body.items).toEqual([]);
    }
  });

  it('when the gameId is malformed, then 400 validation_failed', async () => {
    const player = await t.player();
    for (const gameId of ['nope', '', '123', `${crypto.randomUUID()}x`]) {
      const response = await t.request('GET', `/user/characters?gameId=${gameId}`, { token: player.token });
      expect(response.status, gameId).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });

  it("when a cursor is used with another filter than the one it came from, then 400; with the same game in another case, it pages on", async () => {
    const player = await t.player();
    for (const name of ['A1', 'A2', 'A3']) await create(player.token, { name, gameId: gameA });
    const filtered = (await t.request('GET', `/user/characters?gameId=${gameA}&limit=1`, { token: player.token })).body.nextCursor as string;
    const unfiltered = (await t.request('GET', '/user/characters?limit=1', { token: player.token })).body.nextCursor as string;
    expect(filtered).toBeTruthy();
    expect(unfiltered).toBeTruthy();
    for (const query of [`cursor=${filtered}`, `gameId=${gameB}&cursor=${filtered}`, `gameId=${gameA}&cursor=${unfiltered}`]) {
      const response = await t.request('GET', `/user/characters?limit=1&${query}`, { token: player.token });
      expect(response.status, query).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    const resumed = await t.request('GET', `/user/characters?limit=1&gameId=${gameA.toUpperCase()}&cursor=${filtered}`, { token: player.token });
    expect(resumed.status).toBe(200);
    expect(names(resumed.body)).toEqual(['A2']);
  });
});

describe('the filtered characters query plan', () => {
  it('when the list is filtered by game, then characters_user_idx serves the player and the order (no sort node)', async () => {
    const player = await t.player();
    await create(player.token, { name: 'Hero', gameId: gameA });
    const { listCharacters } = await import('../../src/modules/characters/characters.repository.js');
    const plan = await indexPlanOf(t.runtime.deps.db, (executor) => listCharacters(executor, { userId: player.id, gameId: gameA, after: { createdAt: new Date().toISOString(), id: crypto.randomUUID() }, limit: 21 }));
    expect(plan).toContain('characters_user_idx');
    expect(plan).not.toContain('"Node Type":"Sort"');
  });
});
