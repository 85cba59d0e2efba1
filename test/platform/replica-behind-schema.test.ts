import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicationPair, type ReplicationPair } from '../support/replica.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';

// Found by the issue #6 acceptance re-check. Reads routed to the replica failed with 500 whenever the replica could
// not run them for a reason of its own: a standby that has not yet replayed the migrations the starting service
// just applied on the primary (`relation "listings" does not exist`), or a replica URL naming a database the
// replica does not have (yet). Only network-level errors fell back to the primary.
let pair: ReplicationPair;
const apps: TestApp[] = [];
const drops: Array<() => Promise<void>> = [];
beforeAll(async () => {
  pair = await startReplicationPair();
  await pair.createDatabase('store');
});
afterAll(async () => {
  await pair?.resumeReplay().catch(() => undefined);
  await Promise.all(apps.map((app) => app.close()));
  await Promise.all(drops.map((drop) => drop()));
  await pair?.stop();
});

async function readsSucceed(app: TestApp): Promise<void> {
  const player = await app.player();
  for (const [path, token] of [['/store/items', undefined], ['/games', undefined], ['/user/inventory', player.token], ['/user/purchases', player.token], ['/user/characters', player.token], ['/user/wallet/transactions', player.token]] as const) {
    const response = await app.request('GET', path, { token });
    expect(response.status, `${path}: ${response.text}`).toBe(200);
  }
}

describe('a replica that cannot run the reads yet', () => {
  it('when the standby has not replayed the migrations applied at start, then reads are served by the primary, not 500', async () => {
    await pair.pauseReplay();
    try {
      // The service migrates the primary as it starts; the standby, paused, has none of the tables.
      const app = await startTestApp({ databaseUrl: pair.primaryUrl('store'), env: { DATABASE_REPLICA_URL: pair.replicaUrl('store') } });
      apps.push(app);
      // The standby really is behind: it has the database but none of the tables.
      const onStandby = new pg.Client({ connectionString: pair.replicaUrl('store') });
      await onStandby.connect();
      try {
        expect((await onStandby.query("SELECT to_regclass('listings') IS NULL AS missing")).rows[0].missing).toBe(true);
      } finally {
        await onStandby.end();
      }
      await readsSucceed(app);
    } finally {
      await pair.resumeReplay();
    }
  });

  it('when the replica URL names a database the replica does not have, then reads are served by the primary, not 500', async () => {
    const primary = await createTestDatabase();
    drops.push(primary.drop);
    const missing = new URL(primary.url);
    missing.pathname = `/bb_missing_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const app = await startTestApp({ databaseUrl: primary.url, env: { DATABASE_REPLICA_URL: missing.toString() } });
    apps.push(app);
    await readsSucceed(app);
  });
});
