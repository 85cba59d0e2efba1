// /metrics reports the database pool: connections open and idle, and requests waiting for a connection, the first
// sign that the database or DB_POOL_SIZE is the bottleneck. Real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { DB_POOL_SIZE: '2' } });
});
afterAll(async () => t?.close());

async function poolGauges(): Promise<Record<string, number>> {
  const response = await t.request('GET', '/metrics');
  expect(response.status).toBe(200);
  const gauges: Record<string, number> = {};
  for (const match of response.text.matchAll(/^bb_db_pool_connections\{state="(\w+)"\} (\d+)$/gm)) gauges[match[1]!] = Number(match[2]);
  return gauges;
}

describe('database pool metrics', () => {
  it('when every connection is held and a request needs one, then /metrics shows it waiting; when they are released, nothing waits', async () => {
    const player = await t.player();
    const { db } = t.runtime.deps;
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let holding = 0;
    // Both connections of the pool taken by transactions that wait for the test.
    const holders = [1, 2].map(() => db.withTx(async (tx) => {
      await tx.query('SELECT 1');
      holding += 1;
      await held;
    }));
    while (holding < 2) await new Promise((resolve) => setTimeout(resolve, 10));

    const wallet = t.request('GET', '/user/wallet', { token: player.token }); // needs a connection: waits
    let during: Record<string, number> = {};
    for (let i = 0; i < 50 && !(during.waiting! > 0); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      during = await poolGauges();
    }
    expect(during).toMatchObject({ total: 2, idle: 0 });
    expect(during.waiting).toBeGreaterThanOrEqual(1);

    release();
    await Promise.all(holders);
    expect((await wallet).status).toBe(200);
    const after = await poolGauges();
    expect(after.waiting).toBe(0);
    expect(after.total).toBeGreaterThanOrEqual(1);
  });
});
