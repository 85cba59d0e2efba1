// A shopify-cancel job pg-boss gives up on — every run of it stopped without an outcome (its worker killed or stopped
// mid-call, or an error outside the call) — landed in pg-boss's shared dead-letter queue, which nothing works: the
// refunded order's Shopify order was never cancelled, so the parcel shipped for gems already given back, and nothing
// told an operator (no error on the lines, no error log), unlike a cancellation that fails for good.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { startShopifySimulator, type ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { buyMerch, fulfillmentRow, waitFor, waitForStatus } from './fixtures.js';

const TOKEN = 'shpat_dead_cancel_token';
const SECRET = 'dead-shopify-cancel-test-secret';
let sim: ShopifySimulator;
let database: { url: string; drop: () => Promise<void> };
const apps: TestApp[] = [];

beforeAll(async () => {
  sim = await startShopifySimulator({ webhookSecret: SECRET, accessToken: TOKEN });
  database = await createTestDatabase();
});
// Each case's workers stop with it: they would take the next case's jobs.
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close().catch(() => undefined);
});
afterAll(async () => {
  await sim?.close();
  await database?.drop();
});

const start = async (workers: boolean, maxAttempts: number) => {
  const app = await startTestApp({
    workers,
    databaseUrl: database.url,
    env: { SHOPIFY_ADMIN_URL: sim.url, SHOPIFY_ACCESS_TOKEN: TOKEN, SHOPIFY_WEBHOOK_SECRET: SECRET, JOB_MAX_ATTEMPTS: String(maxAttempts), JOB_RETRY_BASE_MS: '100' },
  });
  apps.push(app);
  sim.setWebhookUrl(`${app.baseUrl}/webhooks/shopify`);
  return app;
};

/** A processing Shopify line refunded with no worker running, its shopify-cancel job then given up on by pg-boss. */
async function refundedWithDeadCancel(maxAttempts: number) {
  const buyer = await start(true, maxAttempts);
  const { orderId, fulfillmentId } = await buyMerch(buyer);
  await waitForStatus(buyer, fulfillmentId, 'processing');
  await buyer.close();
  apps.splice(apps.indexOf(buyer), 1);

  const api = await start(false, maxAttempts);
  const refunded = await api.request('POST', `/admin/orders/${orderId}/refund`, { token: api.adminToken, headers: { 'idempotency-key': randomUUID() }, body: { reason: 'customer asked' } });
  expect(refunded.status).toBe(200);
  const { db, jobs } = api.runtime.deps;
  const { rows: [job] } = await db.query<{ id: string }>(`SELECT id FROM pgboss.job WHERE name = 'shopify-cancel' AND data->>'orderId' = $1`, [orderId]);
  // What pg-boss does once every run of it failed: the last failure dead-letters it.
  await db.query(`UPDATE pgboss.job SET retry_count = retry_limit WHERE name = 'shopify-cancel' AND id = $1`, [job!.id]);
  await jobs.boss.fail('shopify-cancel', job!.id);
  return { api, orderId, fulfillmentId, shopifyOrder: () => sim.orders.find((o) => o.tags.includes(`bb-order-${orderId}`)) };
}

describe('a shopify-cancel job that pg-boss gives up on', () => {
  it('when attempts are left, then the cancellation is tried again and the Shopify order is cancelled', async () => {
    const { shopifyOrder } = await refundedWithDeadCancel(2);
    expect(shopifyOrder()?.cancelledAt ?? null).toBeNull();
    await start(true, 2);
    await waitFor(async () => shopifyOrder()?.cancelledAt, 'the Shopify order cancelled');
    expect(shopifyOrder()!.cancellations).toHaveLength(1);
  }, 120_000);

  it('when it was the last attempt allowed, then the cancelled line shows the error for an operator to cancel the order by hand', async () => {
    const { api, fulfillmentId, shopifyOrder } = await refundedWithDeadCancel(1);
    await start(true, 1);
    const row = await waitFor(async () => {
      const current = await fulfillmentRow(api, fulfillmentId);
      return current.last_error ? current : undefined;
    }, 'the error on the line');
    expect(row.status).toBe('cancelled');
    expect(row.last_error).toMatch(/Shopify order cancel failed: .*stopped/);
    const events = (await api.request('GET', `/admin/fulfillments/${fulfillmentId}`, { token: api.adminToken })).body.events as Array<{ detail: string }>;
    expect(events.at(-1)!.detail).toMatch(/failed for good.*cancel the order in Shopify/);
    expect(shopifyOrder()?.cancelledAt ?? null).toBeNull();
  }, 120_000);
});
