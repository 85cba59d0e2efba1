// /metrics reports the database: the pool's connections open and idle and the requests waiting for one (the first
// sign that the database or DB_POOL_SIZE is the bottleneck), and the transactions retried after a deadlock or a
// serialization failure. Real PostgreSQL.
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

  it('when two transactions deadlock, then the one PostgreSQL breaks is retried and bb_db_transaction_retries_total counts it', async () => {
    const { db } = t.runtime.deps;
    const scrape = async () => Number(/^bb_db_transaction_retries_total (\d+)$/m.exec((await t.request('GET', '/metrics')).text)?.[1]);
    const [a, b] = await Promise.all([t.player(), t.player()].map(async (created) => {
      const player = await created;
      expect((await t.request('GET', '/user/wallet', { token: player.token })).status).toBe(200); // provisions the wallet row
      return player.id;
    }));
    const before = await scrape();
    // Each locks one wallet row, waits until the other holds its own, then asks for the other's: a deadlock.
    let holding = 0;
    const lockBoth = (first: string, second: string) => db.withTx(async (tx) => {
      await tx.query('SELECT 1 FROM ledger_accounts WHERE user_id = $1 FOR UPDATE', [first]);
      holding += 1;
      const deadline = Date.now() + 5000;
      while (holding < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      await tx.query('SELECT 1 FROM ledger_accounts WHERE user_id = $1 FOR UPDATE', [second]);
    });
    await Promise.all([lockBoth(a!, b!), lockBoth(b!, a!)]); // both finish: the victim ran again
    expect(await scrape() - before).toBeGreaterThanOrEqual(1);
  });
});
