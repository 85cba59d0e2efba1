// POST /user/characters with an optional Idempotency-Key: a create retried after a lost answer must not make a
// second character. Without the key the route behaves as before (every create is a new character).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { fixtures } from '../inventory/fixtures.js';

let t: TestApp;
let gameId: string;

beforeAll(async () => {
  t = await startTestApp();
  gameId = await fixtures(t).game();
});
afterAll(async () => t?.close());

const create = (token: string, body: unknown, key?: string) =>
  t.request('POST', '/user/characters', { token, body, headers: key === undefined ? {} : { 'idempotency-key': key } });

async function charactersOf(userId: string): Promise<number> {
  const { rows } = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM characters WHERE user_id = $1', [userId]);
  return rows[0]!.n;
}

describe('creating a character with an Idempotency-Key', () => {
  it('when 25 creates share one key, then exactly one character exists and every 201 carries its id', async () => {
    const player = await t.player();
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 25 }, () => create(player.token, { name: 'Once', gameId }, key)));
    const created = responses.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(created.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    // Those that arrived while the first held the key are told so, as on every keyed route.
    for (const r of responses.filter((r) => r.status !== 201)) expect([r.status, r.body.code]).toEqual([409, 'idempotency_in_progress']);
    expect(await charactersOf(player.id)).toBe(1);

    const retry = await create(player.token, { name: 'Once', gameId }, key);
    expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    expect(retry.body).toEqual(created[0]!.body);
    expect(await charactersOf(player.id)).toBe(1);
  });

  it('when a create is retried after its success, then the first 201 is replayed and the list shows one character', async () => {
    const player = await t.player();
    const key = randomUUID();
    const first = await create(player.token, { name: 'Retried' }, key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // gameId absent and null ask for the same thing: the key sees one request.
    const retry = await create(player.token, { name: 'Retried', gameId: null }, key);
    expect([retry.status, retry.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    expect(retry.body).toEqual(first.body);
    const list = await t.request('GET', '/user/characters', { token: player.token });
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([first.body.id]);
  });

  it('when the key is reused with another body, then 422 idempotency_key_reused and nothing is created', async () => {
    const player = await t.player();
    const key = randomUUID();
    expect((await create(player.token, { name: 'First' }, key)).status).toBe(201);
    const reused = await create(player.token, { name: 'Second' }, key);
    expect([reused.status, reused.body.code]).toEqual([422, 'idempotency_key_reused']);
    expect(await charactersOf(player.id)).toBe(1);
  });

  it('when the key is longer than 255 characters or empty, then 400 and nothing is created', async () => {
    const player = await t.player();
    for (const key of ['k'.repeat(256), '']) {
      const refused = await create(player.token, { name: 'Long' }, key);
      expect([refused.status, refused.body.code]).toEqual([400, 'validation_failed']);
    }
    expect((await create(player.token, { name: 'Max' }, 'k'.repeat(255))).status).toBe(201);
    expect(await charactersOf(player.id)).toBe(1);
  });

  it('when no key is sent, then two identical creates make two characters', async () => {
    const player = await t.player();
    const [a, b] = [await create(player.token, { name: 'Twin' }), await create(player.token, { name: 'Twin' })];
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
    expect(a.headers.get('idempotent-replayed')).toBeNull();
    expect(await charactersOf(player.id)).toBe(2);
  });

  it('when another player sends the same key string, then they get a character of their own', async () => {
    const [alice, bob] = [await t.player(), await t.player()];
    const key = randomUUID();
    const mine = await create(alice.token, { name: 'Shared' }, key);
    const theirs = await create(bob.token, { name: 'Shared' }, key);
    expect([mine.status, theirs.status]).toEqual([201, 201]);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect([await charactersOf(alice.id), await charactersOf(bob.id)]).toEqual([1, 1]);
  });

  it('when a keyed create is refused, then the refusal is stored and replayed, even once the cause is gone', async () => {
    const player = await t.player();
    const key = randomUUID();
    const missingGame = randomUUID();
    const refused = await create(player.token, { name: 'Lost', gameId: missingGame }, key);
    expect([refused.status, refused.body.code]).toEqual([404, 'not_found']);
    const again = await create(player.token, { name: 'Lost', gameId: missingGame }, key);
    expect([again.status, again.body.code, again.headers.get('idempotent-replayed')]).toEqual([404, 'not_found', 'true']);

    const full = await t.player();
    for (let i = 0; i < 20; i++) expect((await create(full.token, { name: `N${i}` })).status).toBe(201);
    const capKey = randomUUID();
    const capped = await create(full.token, { name: 'One more' }, capKey);
    expect([capped.status, capped.body.code]).toEqual([409, 'limit_reached']);
    const { rows } = await t.runtime.deps.db.query<{ id: string }>('SELECT id FROM characters WHERE user_id = $1 LIMIT 1', [full.id]);
    expect((await t.request('DELETE', `/user/characters/${rows[0]!.id}`, { token: full.token })).status).toBe(204);
    // Stripe's semantics: the key's answer is the first one; a new attempt needs a new key.
    const replayed = await create(full.token, { name: 'One more' }, capKey);
    expect([replayed.status, replayed.body.code, replayed.headers.get('idempotent-replayed')]).toEqual([409, 'limit_reached', 'true']);
    expect((await create(full.token, { name: 'One more' }, randomUUID())).status).toBe(201);
  });

  it('when a keyed create is replayed, then the player\'s cached list is dropped before the answer leaves', async () => {
    const player = await t.player();
    const key = randomUUID();
    const first = await create(player.token, { name: 'Cached' }, key);
    // A list cached without the character stands for an instance whose first attempt died between its commit and
    // its invalidation: the replay must drop it.
    await t.runtime.deps.db.query('DELETE FROM characters WHERE id = $1', [first.body.id]);
    expect((await t.request('GET', '/user/characters', { token: player.token })).body.items).toEqual([]);
    await t.runtime.deps.db.query(
      'INSERT INTO characters (id, user_id, name, game_id) VALUES ($1, $2, $3, NULL)', [first.body.id, player.id, 'Cached'],
    );
    const replay = await create(player.token, { name: 'Cached' }, key);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const list = await t.request('GET', '/user/characters', { token: player.token });
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([first.body.id]);
  });
});
