import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type Database, type Executor } from '../../src/platform/db.js';
import { migrate } from '../../src/db/migrate.js';
import { startReplicationPair, type ReplicationPair } from '../support/replica.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { createItem, createListing } from '../catalog/fixtures.js';

// A real primary and a real streaming standby (test/support/replica.ts). Pausing WAL replay on the standby makes
// the replica lag on demand, so "the replica has not seen this write yet" is a fact we create, not a timing hope.
let pair: ReplicationPair;
let db: Database;
let otherInstance: Database;
let redis: Redis;
beforeAll(async () => {
  pair = await startReplicationPair();
  await pair.createDatabase('store');
  db = await openDatabase({ url: pair.primaryUrl('store'), replicaUrl: pair.replicaUrl('store'), poolSize: 4 });
  otherInstance = await openDatabase({ url: pair.primaryUrl('store'), replicaUrl: pair.replicaUrl('store'), poolSize: 2 });
  await migrate(db);
  redis = new Redis(TEST_REDIS_URL, { enableOfflineQueue: true });
  await pair.waitForCatchUp();
});
afterAll(async () => {
  await pair?.resumeReplay().catch(() => undefined);
  redis?.disconnect();
  await db?.close();
  await otherInstance?.close();
  await pair?.stop();
});

const servedByReplica = async (executor: Executor) =>
  (await executor.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby')).rows[0]!.standby;

const userVisible = async (executor: Executor, id: string) => (await executor.query('SELECT 1 FROM users WHERE id = $1', [id])).rowCount === 1;

async function createUser(database: Database): Promise<string> {
  const id = randomUUID();
  await database.withTx((tx) => tx.query('INSERT INTO users (id) VALUES ($1)', [id]));
  return id;
}

describe('routing', () => {
  it('when a user has written nothing, then their history reads and catalog reads are served by the standby', async () => {
    expect(await servedByReplica(await db.readerFor(randomUUID()))).toBe(true);
    expect(await servedByReplica(db.replica)).toBe(true);
    expect(await servedByReplica(db)).toBe(false);
  });
});

describe('read-your-writes', () => {
  it('when a user writes while the replica is behind, then their reads go to the primary and see the write; others stay on the replica', async () => {
    await pair.pauseReplay();
    try {
      const writer = await createUser(db);
      await db.noteWrite(writer);

      // The replica really has not seen it: reading there would lose the user's own write.
      expect(await userVisible(db.replica, writer)).toBe(false);
      const reader = await db.readerFor(writer);
      expect(await servedByReplica(reader)).toBe(false);
      expect(await userVisible(reader, writer)).toBe(true);
      expect(await servedByReplica(await db.readerFor(randomUUID()))).toBe(true);
    } finally {
      await pair.resumeReplay();
    }
  });

  it('when the replica replays past the write, then the user reads from the replica again and sees it there', async () => {
    await pair.pauseReplay();
    const writer = await createUser(db);
    await db.noteWrite(writer);
    expect(await servedByReplica(await db.readerFor(writer))).toBe(false);

    await pair.resumeReplay();
    await vi.waitFor(async () => expect(await servedByReplica(await db.readerFor(writer))).toBe(true), { timeout: 10_000, interval: 20 });
    expect(await userVisible(await db.readerFor(writer), writer)).toBe(true);
  });

  it('when the write was noted on another instance, then this instance routes the user to the primary through Redis', async () => {
    db.shareWritesThrough(redis);
    otherInstance.shareWritesThrough(redis);
    await pair.pauseReplay();
    try {
      const writer = await createUser(otherInstance);
      await otherInstance.noteWrite(writer);
      const reader = await db.readerFor(writer);
      expect(await servedByReplica(reader)).toBe(false);
      expect(await userVisible(reader, writer)).toBe(true);
    } finally {
      await pair.resumeReplay();
      db.shareWritesThrough(undefined);
      otherInstance.shareWritesThrough(undefined);
    }
  });
});

describe('over HTTP', () => {
  let app: TestApp;
  afterAll(async () => app?.close());

  it('when a player write succeeds, then the write is noted before the response and the next read avoids the lagging replica', async () => {
    app = await startTestApp({ databaseUrl: pair.primaryUrl('store'), env: { DATABASE_REPLICA_URL: pair.replicaUrl('store') } });
    const appDb = app.runtime.deps.db;
    const player = await app.player();
    // A first request provisions the user, so the write below is the only thing the replica is missing.
    await app.request('GET', '/user/characters', { token: player.token });
    await pair.waitForCatchUp();
    expect(await servedByReplica(await appDb.readerFor(player.id))).toBe(true);

    await pair.pauseReplay();
    try {
      const created = await app.request('POST', '/user/characters', { token: player.token, body: { name: 'Ryw' } });
      expect(created.status).toBe(201);
      expect(await servedByReplica(await appDb.readerFor(player.id))).toBe(false);
      const listed = await app.request('GET', '/user/characters', { token: player.token });
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.body)).toContain(created.body.id);
    } finally {
      await pair.resumeReplay();
    }
  });
});

describe('storefront behind a lagging replica', () => {
  it('when an admin changes a listing while the replica is behind, then the storefront shows the change at once and does not cache the replica\'s old catalog', async () => {
    // The bug this pins: the refill right after the admin write's invalidation read the lagging replica and cached
    // the old price (for the page TTL after the replica caught up, for as long as it lagged before that).
    const app = await startTestApp({ databaseUrl: pair.primaryUrl('store'), env: { DATABASE_REPLICA_URL: pair.replicaUrl('store') } });
    try {
      const item = await createItem(app, { name: 'Lagging Skin' });
      const listing = await createListing(app, { title: 'Lagging Offer', price: 100, items: [{ itemId: item.id, quantity: 1 }] });
      await pair.waitForCatchUp();
      const price = async (path: string) => {
        const response = await app.request('GET', path);
        expect(response.status).toBe(200);
        return path.includes('?') ? response.body.items.find((l: { id: string }) => l.id === listing.id)?.price : response.body.price;
      };
      const paths = [`/store/items/${listing.id}`, '/store/items?limit=100&sort=newest'];
      for (const path of paths) expect(await price(path)).toBe(100); // cached now

      await pair.pauseReplay();
      try {
        const patched = await app.request('PATCH', `/admin/listings/${listing.id}`, { token: app.adminToken, body: { price: 150 } });
        expect(patched.status).toBe(200);
        // The replica really is behind: reading the catalog there would show the old price.
        const onReplica = await app.runtime.deps.db.replica.query<{ price: number }>('SELECT price FROM listings WHERE id = $1', [listing.id]);
        expect(onReplica.rows[0]!.price).toBe(100);
        for (const path of paths) expect(await price(path)).toBe(150);
      } finally {
        await pair.resumeReplay();
      }
      await pair.waitForCatchUp();
      for (const path of paths) expect(await price(path)).toBe(150);
    } finally {
      await app.close();
    }
  });

  it('when an admin renames a game while the replica is behind, then GET /games shows the new name at once and does not cache the old one', async () => {
    const app = await startTestApp({ databaseUrl: pair.primaryUrl('store'), env: { DATABASE_REPLICA_URL: pair.replicaUrl('store') } });
    try {
      const created = await app.request('POST', '/admin/games', { token: app.adminToken, body: { slug: `lag-${randomUUID().slice(0, 8)}`, name: 'Before', slots: [] } });
      expect(created.status).toBe(201);
      await pair.waitForCatchUp();
      const name = async () => ((await app.request('GET', '/games?limit=100')).body.items as Array<{ id: string; name: string }>).find((g) => g.id === created.body.id)?.name;
      expect(await name()).toBe('Before'); // cached now

      await pair.pauseReplay();
      try {
        expect((await app.request('PATCH', `/admin/games/${created.body.id}`, { token: app.adminToken, body: { name: 'After' } })).status).toBe(200);
        const onReplica = await app.runtime.deps.db.replica.query<{ name: string }>('SELECT name FROM games WHERE id = $1', [created.body.id]);
        expect(onReplica.rows[0]!.name).toBe('Before'); // the replica really is behind
        expect(await name()).toBe('After');
      } finally {
        await pair.resumeReplay();
      }
      await pair.waitForCatchUp();
      expect(await name()).toBe('After');
    } finally {
      await app.close();
    }
  });
});

describe('failure modes', () => {
  it('when Redis is configured but down, then users are read from the primary, since another instance may hold their write', async () => {
    const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false });
    db.shareWritesThrough(down);
    try {
      expect(await servedByReplica(await db.readerFor(randomUUID()))).toBe(false);
    } finally {
      db.shareWritesThrough(undefined);
      down.disconnect();
    }
  });

  it('when the replica goes down, then reads fall back to the primary instead of failing', async () => {
    const writer = await createUser(db);
    await pair.waitForCatchUp();
    await pair.stopReplica();
    expect(await userVisible(db.replica, writer)).toBe(true);
    expect(await servedByReplica(db.replica)).toBe(false);
    expect(await servedByReplica(await db.readerFor(writer))).toBe(false);
  });
});
