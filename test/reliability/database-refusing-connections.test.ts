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

  it('when PostgreSQL is out of connection slots (53300 too_many_connections), then 503 service_unavailable, not 500', () => {
    const request = { log: { warn: () => undefined, error: () => undefined } } as unknown as FastifyRequest;
    const error = Object.assign(new Error('sorry, too many clients already'), { code: '53300' });
    expect(toProblem(error, request)).toMatchObject({ status: 503, code: 'service_unavailable' });
  });
});
