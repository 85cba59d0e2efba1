// A database that has become read-only (a failover that left DATABASE_URL on the demoted node, a primary fenced
// read-only, default_transaction_read_only set during maintenance) is an outage, not a bug (black-box run
// 2026-11-25): every purchase, grant and first request of a new player answered 500 internal_error (SQLSTATE 25006,
// "cannot execute INSERT in a read-only transaction").
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { createItem, createListing, fundedPlayer } from '../purchases/fixtures.js';

let t: TestApp;
let admin: pg.Client;
let name: string;
beforeAll(async () => {
  t = await startTestApp();
  name = new URL(t.config.databaseUrl!).pathname.slice(1);
  admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
});
afterAll(async () => {
  await admin?.query(`ALTER DATABASE ${name} RESET default_transaction_read_only`).catch(() => undefined);
  await admin?.end();
  await t?.close();
});

const reconnectAll = () => admin.query('SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1', [name]);

describe('the database turning read-only', () => {
  it('when every new session is read-only, then writes answer 503 service_unavailable with Retry-After, and the retry with the same key succeeds once it is writable again', async () => {
    const player = await fundedPlayer(t, 100);
    const listingId = await createListing(t, { price: 5, items: [{ itemId: await createItem(t, { consumable: true }) }] });
    const key = randomUUID();

    await admin.query(`ALTER DATABASE ${name} SET default_transaction_read_only = on`);
    await reconnectAll();
    const purchase = await t.request('POST', '/store/purchases', { token: player.token, body: { listingId, quantity: 1 }, headers: { 'idempotency-key': key } });
    const grant = await t.request('POST', '/service/grants', { token: t.serviceToken, body: { userId: player.id, gems: 5, reason: 'read-only' }, headers: { 'idempotency-key': randomUUID() } });
    for (const refused of [purchase, grant]) {
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('service_unavailable');
      expect(refused.headers.get('retry-after')).not.toBeNull();
    }

    await admin.query(`ALTER DATABASE ${name} RESET default_transaction_read_only`);
    await reconnectAll();
    const retried = await t.request('POST', '/store/purchases', { token: player.token, body: { listingId, quantity: 1 }, headers: { 'idempotency-key': key } });
    expect(retried.status).toBe(201);
    expect((await t.request('GET', '/user/wallet', { token: player.token })).body.balance).toBe(95);
  });
});
