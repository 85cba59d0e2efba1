// POST /user/inventory/:id/use and POST /service/users/:userId/inventory/:id/consume over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { fixtures } from './fixtures.js';

let t: TestApp;
let f: ReturnType<typeof fixtures>;

beforeAll(async () => {
  t = await startTestApp();
  f = fixtures(t);
});
afterAll(async () => t?.close());

const use = (token: string, entryId: string, body: unknown = {}, key = f.unique('key')) =>
  t.request('POST', `/user/inventory/${entryId}/use`, { token, body, headers: { 'idempotency-key': key } });
const consume = (userId: string, entryId: string, body: unknown = {}, key = f.unique('key')) =>
  t.request('POST', `/service/users/${userId}/inventory/${entryId}/consume`, { token: t.serviceToken, body, headers: { 'idempotency-key': key } });
const quantityOf = async (entryId: string) =>
  (await t.runtime.deps.db.query<{ quantity: number }>('SELECT quantity FROM inventory_items WHERE id = $1', [entryId])).rows[0]?.quantity;
const entitlement = async (userId: string, name: string) =>
  (await t.runtime.deps.db.query<{ quantity: number }>('SELECT quantity FROM user_entitlements WHERE user_id = $1 AND entitlement = $2', [userId, name])).rows[0]?.quantity;

async function stack(quantity: number, spec: Parameters<ReturnType<typeof fixtures>['item']>[0] = {}) {
  const player = await t.player();
  const itemId = await f.item({ kind: 'utility', consumable: true, maxStack: 10, ...spec });
  const [entryId] = await f.grant(player.id, [{ itemId, quantity }]);
  return { player, itemId, entryId: entryId! };
}

describe('using consumables', () => {
  it('when a player uses units of a stack down to zero, then each use returns what is left and the last one is refused', async () => {
    const { player, entryId, itemId } = await stack(3);
    expect((await use(player.token, entryId, { quantity: 2 })).body).toEqual({ id: entryId, itemId, quantity: 1, effects: {} });
    const last = await t.request('POST', `/user/inventory/${entryId}/use`, { token: player.token, headers: { 'idempotency-key': f.unique('k') } }); // no body: 1
    expect(last.status).toBe(200);
    expect(last.body.quantity).toBe(0);
    const refused = await use(player.token, entryId);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'insufficient_quantity' });
    expect(await quantityOf(entryId)).toBe(0);
    const events = await t.runtime.deps.db.query<{ delta: number; reason: string; actor: string }>(
      'SELECT delta, reason, actor FROM inventory_events WHERE inventory_item_id = $1 ORDER BY id', [entryId]);
    expect(events.rows.map((e) => [e.delta, e.reason])).toEqual([[3, 'grant'], [-2, 'use'], [-1, 'use']]);
    expect(events.rows[1]!.actor).toBe(`player:${player.id}`);
  });

  it('when the body is empty but labelled application/json (curl -H, generic clients), then it means one unit, as no body does', async () => {
    const { player, entryId } = await stack(3);
    const headers = { 'content-type': 'application/json', 'idempotency-key': f.unique('k') };
    const used = await t.request('POST', `/user/inventory/${entryId}/use`, { token: player.token, body: '', headers });
    expect(used.status).toBe(200);
    expect(used.body.quantity).toBe(2);
    const consumed = await t.request('POST', `/service/users/${player.id}/inventory/${entryId}/consume`, {
      token: t.serviceToken, body: '', headers: { ...headers, 'idempotency-key': f.unique('k') },
    });
    expect(consumed.status).toBe(200);
    expect(consumed.body.quantity).toBe(1);
    // Still JSON: a body that is not JSON, or poisons a prototype, is refused and uses nothing.
    for (const body of ['{bad', '{"__proto__": {"quantity": 1}}']) {
      const refused = await t.request('POST', `/user/inventory/${entryId}/use`, { token: player.token, body, headers: { ...headers, 'idempotency-key': f.unique('k') } });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('validation_failed');
    }
    expect(await quantityOf(entryId)).toBe(1);
  });

  it('when a client reads the OpenAPI document, then use and consume take an optional body whose quantity defaults to 1', async () => {
    const { body: doc } = await t.request('GET', '/openapi.json');
    for (const path of ['/user/inventory/{id}/use', '/service/users/{userId}/inventory/{id}/consume']) {
      const requestBody = doc.paths[path].post.requestBody;
      expect(requestBody.required, path).toBe(false);
      expect(requestBody.content['application/json'].schema.properties.quantity.default, path).toBe(1);
      expect(requestBody.content['application/json'].schema.required, path).toBeUndefined();
    }
  });

  it('when more units are asked than the stack holds, then 409 insufficient_quantity and nothing changes', async () => {
    const { player, entryId } = await stack(2);
    const response = await use(player.token, entryId, { quantity: 3 });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('insufficient_quantity');
    expect(await quantityOf(entryId)).toBe(2);
  });

  it('when 10 uses of a stack of 2 run in parallel, then exactly 2 succeed and the stack ends at zero', async () => {
    const { player, entryId } = await stack(2);
    const responses = await Promise.all(Array.from({ length: 10 }, () => use(player.token, entryId)));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(2);
    expect(responses.filter((r) => r.status === 409 && r.body.code === 'insufficient_quantity')).toHaveLength(8);
    expect(await quantityOf(entryId)).toBe(0);
  });

  it('when a use is retried with the same Idempotency-Key, then the first answer is replayed and only one unit is used', async () => {
    const { player, entryId } = await stack(5);
    const first = await use(player.token, entryId, { quantity: 1 }, 'same-key');
    const replay = await use(player.token, entryId, { quantity: 1 }, 'same-key');
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(await quantityOf(entryId)).toBe(4);
    const reused = await use(player.token, entryId, { quantity: 2 }, 'same-key');
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('idempotency_key_reused');
  });

  it('when the Idempotency-Key is missing or the quantity is invalid, then 400 and nothing is used', async () => {
    const { player, entryId } = await stack(2);
    const noKey = await t.request('POST', `/user/inventory/${entryId}/use`, { token: player.token, body: {} });
    expect(noKey.status).toBe(400);
    for (const body of [{ quantity: 0 }, { quantity: -1 }, { quantity: 1.5 }, { quantity: 'two' }, { quantity: 1, extra: true }]) {
      const response = await use(player.token, entryId, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect(await quantityOf(entryId)).toBe(2);
  });

  it('when a non-consumable is used, then 409 not_available', async () => {
    const player = await t.player();
    const [entryId] = await f.grant(player.id, [{ itemId: await f.item() }]);
    const response = await use(player.token, entryId!);
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('not_available');
  });

  it("when a player uses another player's entry or an unknown id, then 404 and the owner's stack is untouched", async () => {
    const { entryId } = await stack(2);
    const intruder = await t.player();
    for (const id of [entryId, crypto.randomUUID()]) {
      const response = await use(intruder.token, id);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('not_found');
      expect(response.text).not.toContain('quantity');
    }
    expect((await use(intruder.token, 'not-a-uuid')).status).toBe(400);
    expect(await quantityOf(entryId)).toBe(2);
  });
});

describe('functional utility items', () => {
  it('when a name-change card is used, then the name_change entitlement grows and the response says so', async () => {
    const { player, entryId } = await stack(2, { effect: { nameChange: 1 } });
    const response = await use(player.token, entryId, { quantity: 2 });
    expect(response.status).toBe(200);
    expect(response.body.effects).toEqual({ nameChange: { added: 2, total: 2 } });
    expect(await entitlement(player.id, 'name_change')).toBe(2);
  });

  it('when a name-change card is spelled as a functional effect is (name_change), then its use works the same', async () => {
    // Operators write effects in lower case with underscores (the item validation asks it of functional items, the
    // entitlement is name_change); the camel-case key is the older spelling, kept for the items that carry it.
    const { player, entryId } = await stack(1, { effect: { name_change: 1 } });
    const response = await use(player.token, entryId);
    expect(response.status, response.text).toBe(200);
    expect(response.body.effects).toEqual({ name_change: { added: 1, total: 1 } });
    expect(await entitlement(player.id, 'name_change')).toBe(1);
  });

  it('when an item carries an effect that is not registered, then the use is refused and the stack is untouched', async () => {
    const { player, entryId } = await stack(1, { effect: { gems: 500 } });
    const response = await use(player.token, entryId);
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('not_available');
    expect(await quantityOf(entryId)).toBe(1);
  });

  it('when a use would push a counter past what the API can report exactly (2^53 - 1), then 409 limit_reached and nothing is used', async () => {
    // An inventory item's effect is not bounded by the catalog (only functional items' are): an operator's huge value
    // made the counter lose precision (the answer said 45021597764222980 for 45021597764222973) or overflow bigint (400).
    const { player, entryId } = await stack(5, { effect: { lives: 4_000_000_000_000_000 } });
    const first = await use(player.token, entryId, { quantity: 2 });
    expect(first.status, first.text).toBe(200);
    expect(first.body.effects).toEqual({ lives: { added: 8_000_000_000_000_000, total: 8_000_000_000_000_000 } });
    for (const quantity of [1, 3]) {
      const refused = await use(player.token, entryId, { quantity });
      expect(refused.status, refused.text).toBe(409);
      expect(refused.body.code).toBe('limit_reached');
    }
    expect(await quantityOf(entryId)).toBe(3);
    expect(await entitlement(player.id, 'lives')).toBe(8_000_000_000_000_000);
  });
});

describe('game servers consuming items', () => {
  it("when a service consumes an extra life, then the player's stack shrinks and the lives effect is applied", async () => {
    const { player, entryId } = await stack(3, { effect: { lives: 1 } });
    const response = await consume(player.id, entryId, { quantity: 2 });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ id: entryId, quantity: 1, effects: { lives: { added: 2, total: 2 } } });
    const event = await t.runtime.deps.db.query<{ reason: string; actor: string }>(
      `SELECT reason, actor FROM inventory_events WHERE inventory_item_id = $1 AND delta < 0`, [entryId]);
    expect(event.rows).toEqual([{ reason: 'consume', actor: expect.stringMatching(/^service:/) }]);
  });

  it("when a game server names the player with an upper-case UUID, then the player's cached inventory shows the consume at once", async () => {
    const { player, entryId } = await stack(3);
    const before = await t.request('GET', '/user/inventory', { token: player.token }); // warms the player's cache
    expect(before.body.items[0].quantity).toBe(3);
    const response = await consume(player.id.toUpperCase(), entryId.toUpperCase());
    expect(response.status).toBe(200);
    expect(response.body.quantity).toBe(2);
    const after = await t.request('GET', '/user/inventory', { token: player.token });
    expect(after.body.items[0].quantity).toBe(2);
  });

  it("when the entry belongs to another user than the path names, then 404; a player calling it gets 403", async () => {
    const { entryId, player } = await stack(1);
    expect((await consume(crypto.randomUUID(), entryId)).status).toBe(404);
    const asPlayer = await t.request('POST', `/service/users/${player.id}/inventory/${entryId}/consume`, { token: player.token, body: {}, headers: { 'idempotency-key': 'x' } });
    expect(asPlayer.status).toBe(403);
    expect(await quantityOf(entryId)).toBe(1);
  });
});

describe('a retry after the first attempt died between its commit and its invalidation', () => {
  it("when the retry is replayed by another instance, then the player's cached inventory shows the use", async () => {
    // Two instances on one database and one Redis; the first one commits uses but "dies" before invalidating.
    const first = await startTestApp({ redis: true });
    const second = await startTestApp({ redis: true, databaseUrl: first.config.databaseUrl });
    try {
      const g = fixtures(first);
      const player = await first.player();
      const itemId = await g.item({ kind: 'utility', consumable: true, maxStack: 10 });
      const [entryId] = await g.grant(player.id, [{ itemId, quantity: 5 }]);
      const quantityOn = async (app: TestApp) => (await app.request('GET', '/user/inventory', { token: player.token })).body.items[0].quantity;
      expect(await quantityOn(second)).toBe(5); // the player's page is cached (Redis, and the second's memory)

      const { inventory } = first.runtime.services;
      const invalidateUser = inventory.invalidateUser;
      inventory.invalidateUser = async () => undefined; // the process dies right after the commit
      const [used, consumed] = [
        await first.request('POST', `/user/inventory/${entryId}/use`, { token: player.token, body: { quantity: 1 }, headers: { 'idempotency-key': 'use-1' } }),
        await first.request('POST', `/service/users/${player.id}/inventory/${entryId}/consume`, { token: first.serviceToken, body: { quantity: 2 }, headers: { 'idempotency-key': 'consume-1' } }),
      ];
      inventory.invalidateUser = invalidateUser;
      expect([used.status, consumed.status]).toEqual([200, 200]);
      expect(await quantityOn(second)).toBe(5); // stale: nobody invalidated

      // The client heard nothing and retries the use on the other instance: a replay, which must drop the old page.
      const retried = await second.request('POST', `/user/inventory/${entryId}/use`, { token: player.token, body: { quantity: 1 }, headers: { 'idempotency-key': 'use-1' } });
      expect(retried.headers.get('idempotent-replayed')).toBe('true');
      expect(retried.body.quantity).toBe(4);
      expect(await quantityOn(second)).toBe(2);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('when a game server retries a consume that was replayed, then the player reads the stack after it', async () => {
    const first = await startTestApp({ redis: true });
    const second = await startTestApp({ redis: true, databaseUrl: first.config.databaseUrl });
    try {
      const g = fixtures(first);
      const player = await first.player();
      const [entryId] = await g.grant(player.id, [{ itemId: await g.item({ kind: 'utility', consumable: true, maxStack: 10 }), quantity: 3 }]);
      const quantityOn = async (app: TestApp) => (await app.request('GET', '/user/inventory', { token: player.token })).body.items[0].quantity;
      expect(await quantityOn(second)).toBe(3);
      const { inventory } = first.runtime.services;
      const invalidateUser = inventory.invalidateUser;
      inventory.invalidateUser = async () => undefined;
      const consume = (app: TestApp) => app.request('POST', `/service/users/${player.id.toUpperCase()}/inventory/${entryId}/consume`, {
        token: first.serviceToken, body: { quantity: 1 }, headers: { 'idempotency-key': 'life-lost' } });
      expect((await consume(first)).status).toBe(200);
      inventory.invalidateUser = invalidateUser;
      expect(await quantityOn(second)).toBe(3);
      const retried = await consume(second);
      expect(retried.headers.get('idempotent-replayed')).toBe('true');
      expect(await quantityOn(second)).toBe(2);
    } finally {
      await second.close();
      await first.close();
    }
  });
});
