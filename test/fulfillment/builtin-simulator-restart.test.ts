// With no SHOPIFY_ADMIN_URL the Shopify simulator lives in the service's process, orders in memory. A parcel whose
// order the previous process had created must still reach the player after a restart (a deploy, a crash) on the same
// database: the new simulator takes over the parcels the database has open, instead of never having heard of them.
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { buyMerch, fulfillmentRow, waitFor, waitForStatus } from './fixtures.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
const apps: TestApp[] = [];
afterAll(async () => {
  for (const app of apps) await app.runtime.close().catch(() => undefined);
  await database?.drop();
});

/** The service as `npm start` runs it: the API with its workers and the built-in simulator, webhooks to its own port. */
async function startService(): Promise<TestApp> {
  const app = await startTestApp({ databaseUrl: database.url });
  apps.push(app);
  const workers = await app.runtime.startWorkers();
  workers.listeningAt(app.baseUrl);
  return app;
}

describe('the built-in Shopify simulator across a restart of the service', () => {
  it('when the service stops after the Shopify order was created, then after the restart the parcel still ships and is delivered, with its first tracking number', async () => {
    database = await createTestDatabase();
    const first = await startService();
    const bought = await buyMerch(first);
    const created = await waitForStatus(first, bought.fulfillmentId, 'processing', 20_000);
    await first.runtime.close(); // the simulator goes with it, before its first step (4 s)

    const second = await startService();
    const delivered = await waitFor(async () => {
      const row = await fulfillmentRow(second, bought.fulfillmentId);
      return row.status === 'delivered' ? row : undefined;
    }, 'the parcel to be delivered after the restart', 40_000);
    expect(delivered.external_id).toBe(created.external_id);
    expect(delivered.tracking_number).toMatch(/^1Z/);
    const events = await second.runtime.deps.db.query<{ status: string }>(
      'SELECT status FROM fulfillment_events WHERE fulfillment_id = $1 ORDER BY created_at, id', [bought.fulfillmentId]);
    expect(events.rows.map((e) => e.status)).toEqual(expect.arrayContaining(['pending', 'processing', 'shipped', 'delivered']));
  }, 90_000);
});
