// The database refusing new connections is an outage, not a bug (black-box run 2026-11-25): with the service's
// database closed to connections (`ALTER DATABASE … ALLOW_CONNECTIONS false`, as an operator does for maintenance,
// then its sessions ended) every purchase, grant and read answered 500 internal_error, logged as an unhandled error,
// while /readyz rightly said 503. PostgreSQL refuses such a connection with SQLSTATE 55000 ("database … is not
// currently accepting connections"); when it is out of connection slots, with 53300 (too_many_connections). Neither
// is in class 08, which R2 maps to 503.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyRequest } from 'fastify';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { toProblem } from '../../src/platform/http/problem.js';
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
  await admin?.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
  await admin?.end();
  await t?.close();
});

describe('the database refusing new connections', () => {
  it('when the database stops accepting connections and its sessions are ended, then purchases and reads answer 503 service_unavailable with Retry-After, and succeed again once it accepts them', async () => {
    const player = await fundedPlayer(t, 100);
    const listingId = await createListing(t, { price: 5, items: [{ itemId: await createItem(t, { consumable: true }) }] });
    const key = randomUUID();

    await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1', [name]);
    const purchase = await t.request('POST', '/store/purchases', { token: player.token, body: { listingId, quantity: 1 }, headers: { 'idempotency-key': key } });
    const wallet = await t.request('GET', '/user/wallet', { token: player.token });
    for (const refused of [purchase, wallet]) {
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('service_unavailable');
      expect(refused.headers.get('retry-after')).not.toBeNull();
    }

    await admin.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
    const retried = await t.request('POST', '/store/purchases', { token: player.token, body: { listingId, quantity: 1 }, headers: { 'idempotency-key': key } });
    expect(retried.status).toBe(201);
    expect((await t.request('GET', '/user/wallet', { token: player.token })).body.balance).toBe(95);
  });

  // Found black-box (acceptance run 2026-11-25): with the service's database dropped, /readyz said 503 'unreachable'
  // while every uncached read answered 500 internal_error (SQLSTATE 3D000, logged as an unhandled error). A login that
  // PostgreSQL refuses (class 28: a rotated password, a role losing LOGIN, a pg_hba change) is the same outage.
  it('when the database is dropped under the service, then uncached reads answer 503 service_unavailable with Retry-After, as /readyz says, not 500', async () => {
    const other = await startTestApp();
    try {
      const dropped = new URL(other.config.databaseUrl!).pathname.slice(1);
      await admin.query(`DROP DATABASE ${dropped} WITH (FORCE)`);
      expect((await other.request('GET', '/readyz')).status).toBe(503);
      for (const path of ['/store/items?limit=3', '/games', '/admin/items']) {
        const answer = await other.request('GET', path, { token: other.adminToken });
        expect(answer.status, path).toBe(503);
        expect(answer.body.code, path).toBe('service_unavailable');
        expect(answer.headers.get('retry-after'), path).not.toBeNull();
      }
    } finally {
      await other.close();
    }
  });

  it('when PostgreSQL refuses the login (class 28) or names no such database (3D000), then 503 service_unavailable, not 500', () => {
    const request = { log: { warn: () => undefined, error: () => undefined } } as unknown as FastifyRequest;
    for (const [code, message] of [['28P01', 'password authentication failed for user "bb"'], ['28000', 'no pg_hba.conf entry for host'], ['3D000', 'database "bb" does not exist']]) {
      const error = Object.assign(new Error(message), { code });
      expect(toProblem(error, request), code).toMatchObject({ status: 503, code: 'service_unavailable' });
    }
  });

  it('when PostgreSQL is out of connection slots (53300 too_many_connections), then 503 service_unavailable, not 500', () => {
    const request = { log: { warn: () => undefined, error: () => undefined } } as unknown as FastifyRequest;
    const error = Object.assign(new Error('sorry, too many clients already'), { code: '53300' });
    expect(toProblem(error, request)).toMatchObject({ status: 503, code: 'service_unavailable' });
  });
});
