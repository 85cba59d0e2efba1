// One API instance stalls in the middle of a purchase (a stop-the-world pause, a frozen VM, a network partition that
// drops packets instead of resetting the connection): its transaction holds the row locks it took, the listing's stock
// row among them when the listing is limited, and PostgreSQL keeps them for as long as the session lives. Every other
// instance's buyers of that listing queue behind it. They must not all fail: the stalled session has to give its
// locks back before the waiters' lock_timeout (10 s) runs out.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing } from '../catalog/fixtures.js';

let a: TestApp;
let b: TestApp;

beforeAll(async () => {
  a = await startTestApp({ redis: true });
  b = await startTestApp({ redis: true, databaseUrl: a.config.databaseUrl });
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

async function funded(app: TestApp, gems: number) {
  const player = await app.player();
  const grant = await app.request('POST', '/service/grants', { token: app.serviceToken, headers: { 'idempotency-key': randomUUID() }, body: { userId: player.id, gems, reason: 'test' } });
  expect(grant.status, grant.text).toBe(201);
  return player;
}

describe('an instance stalled mid-purchase', () => {
  it('when it holds a limited listing\'s stock row and stops answering, then a purchase of that listing on another instance still succeeds, and the stalled one is rolled back', async () => {
    const item = await createItem(a, { consumable: true, maxStack: 1000 });
    const listing = await createListing(a, { price: 10, stock: 50, items: [{ itemId: item.id, quantity: 1 }] });
    const buyer = await funded(b, 100);

    // Instance A's purchase transaction took the stock row (step 7) and then its process stopped answering before the
    // COMMIT went out: here its own pool's transaction, idle for longer than the waiters' lock timeout.
    let stalledOutcome: unknown;
    const stalled = a.runtime.deps.db.withTx(async (tx) => {
      await tx.query('UPDATE listings SET stock_remaining = stock_remaining - 1 WHERE id = $1 AND stock_remaining >= 1', [listing.id]);
      await new Promise((resolve) => setTimeout(resolve, 14_000));
      return 'committed';
    }, { maxAttempts: 1 }).then((value) => (stalledOutcome = value), (error: unknown) => (stalledOutcome = error));
    await new Promise((resolve) => setTimeout(resolve, 200));

    const started = Date.now();
    const bought = await b.request('POST', '/store/purchases', { token: buyer.token, headers: { 'idempotency-key': randomUUID() }, body: { listingId: listing.id } });
    const waited = Date.now() - started;
    expect(bought.status, `${bought.text} after ${waited} ms`).toBe(201);
    expect(waited).toBeLessThan(10_000);

    await stalled;
    expect(stalledOutcome).toBeInstanceOf(Error); // its session was ended: nothing it did is kept

    const admin = await a.request('GET', `/admin/listings/${listing.id}`, { token: a.adminToken });
    expect(admin.body).toMatchObject({ stock: 50, stockRemaining: 49 });
  }, 40_000);
});
