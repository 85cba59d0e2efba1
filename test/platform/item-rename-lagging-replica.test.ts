import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicationPair, type ReplicationPair } from '../support/replica.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGame, createItem } from '../catalog/fixtures.js';

// Found by the issue #6 acceptance re-check. An operator's edit of an item definition drops every player's cached
// inventory and character pages (they embed the item's name), but the refills read through readerFor(userId): a
// player who wrote nothing lately reads the replica, which had not replayed the edit yet. The refill cached the
// old name for the page TTL (5 min), long after the replica caught up. The storefront and the games list note their
// admin writes for this reason (docs/read-replica.md); item definitions did not.
let pair: ReplicationPair;
let app: TestApp;
beforeAll(async () => {
  pair = await startReplicationPair();
  await pair.createDatabase('store');
  app = await startTestApp({ databaseUrl: pair.primaryUrl('store'), env: { DATABASE_REPLICA_URL: pair.replicaUrl('store') } });
});
afterAll(async () => {
  await pair?.resumeReplay().catch(() => undefined);
  await app?.close();
  await pair?.stop();
});

describe('item definition edited while the replica is behind', () => {
  it('when an admin renames an item, then a player who wrote nothing sees the new name in inventory and loadout at once and after the replica catches up', async () => {
    const game = await createGame(app, ['weapon_skin']);
    const item = await createItem(app, { name: 'Old Name', kind: 'game_skin', gameId: game.id, slot: 'weapon_skin' });
    const player = await app.player();
    const granted = await app.request('POST', '/service/grants', { token: app.serviceToken, body: { userId: player.id, items: [{ itemId: item.id, quantity: 1 }], reason: 'test' }, headers: { 'idempotency-key': randomUUID() } });
    expect(granted.status, granted.text).toBe(201);
    const character = await app.request('POST', '/user/characters', { token: player.token, body: { name: 'Hero', gameId: game.id } });
    expect(character.status, character.text).toBe(201);
    const entry = (await app.request('GET', '/user/inventory', { token: player.token })).body.items[0];
    const equipped = await app.request('PUT', `/user/characters/${character.body.id}/equipment/weapon_skin`, { token: player.token, body: { inventoryItemId: entry.id } });
    expect(equipped.status, equipped.text).toBe(200);
    await pair.waitForCatchUp();

    const names = async () => {
      const inventory = await app.request('GET', '/user/inventory', { token: player.token });
      const loadout = await app.request('GET', `/user/characters/${character.body.id}`, { token: player.token });
      expect([inventory.status, loadout.status]).toEqual([200, 200]);
      return [inventory.body.items[0]?.name, loadout.body.equipment[0]?.name];
    };
    expect(await names()).toEqual(['Old Name', 'Old Name']); // cached now, from the caught-up replica

    await pair.pauseReplay();
    try {
      const renamed = await app.request('PATCH', `/admin/items/${item.id}`, { token: app.adminToken, body: { name: 'New Name' } });
      expect(renamed.status, renamed.text).toBe(200);
      // The replica really is behind: reading the definition there would show the old name.
      const onReplica = await app.runtime.deps.db.replica.query<{ name: string }>('SELECT name FROM item_definitions WHERE id = $1', [item.id]);
      expect(onReplica.rows[0]!.name).toBe('Old Name');
      expect(await names()).toEqual(['New Name', 'New Name']);
    } finally {
      await pair.resumeReplay();
    }
    await pair.waitForCatchUp();
    expect(await names()).toEqual(['New Name', 'New Name']);
  });
});
