// Shopify webhooks about orders that are not ours. Every order we create carries the tag `bb-order-<our order id>`,
// and the `orders/*` payloads carry the order's tags: an `orders/*` webhook without our tag, or with a tag naming an
// order we do not have, can never become ours, however long it is retried. It is recorded as such at once (processed,
// with the reason), instead of failing its job until pg-boss dead-letters it (a shop that also sells other goods sent
// every one of its orders into the dead-letter queue, beside the real failures operators must look at).
import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { buyMerch, fulfillmentRow, useShopifyStack, waitFor, waitForStatus } from './fixtures.js';

const TOKEN = 'shpat_foreign_orders';
const SECRET = 'shopify-webhook-foreign-orders-secret';
let t: TestApp;
let sim: ShopifySimulator;
useShopifyStack({ accessToken: TOKEN, webhookSecret: SECRET }, (stack) => ({ t, sim } = stack));

async function send(topic: string, payload: object): Promise<string> {
  const body = JSON.stringify(payload);
  const webhookId = randomUUID();
  const response = await t.request('POST', '/webhooks/shopify', {
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-hmac-sha256': createHmac('sha256', SECRET).update(body).digest('base64'),
      'x-shopify-webhook-id': webhookId,
      'x-shopify-event-id': randomUUID(),
    },
  });
  expect(response.status).toBe(200);
  expect(response.body.duplicate).toBe(false);
  return webhookId;
}

const stored = async (webhookId: string) =>
  (await t.runtime.deps.db.query<{ processed: boolean; error: string | null }>(
    `SELECT processed_at IS NOT NULL AS processed, error FROM webhook_events WHERE source = 'shopify' AND external_id = $1`,
    [webhookId],
  )).rows[0]!;

/** pg-boss's jobs for one stored webhook: how often they failed. */
const jobFailures = async (webhookId: string) =>
  (await t.runtime.deps.db.query<{ failures: number }>(
    `SELECT coalesce(sum(j.retry_count), 0)::int + count(*) FILTER (WHERE j.state = 'failed')::int AS failures
       FROM pgboss.job j JOIN webhook_events w ON j.data->>'webhookEventId' = w.id::text
      WHERE j.name = 'shopify-webhook' AND w.external_id = $1`,
    [webhookId],
  )).rows[0]!.failures;

describe('orders/* webhooks about orders that are not ours', () => {
  it('when an order without our tag is fulfilled or cancelled in the shop, then the webhook is recorded as not ours at once, never retried', async () => {
    const numeric = 90_000_000_000 + Math.floor(Math.random() * 1e9);
    const order = { id: numeric, admin_graphql_api_id: `gid://shopify/Order/${numeric}`, tags: 'wholesale, vip', fulfillments: [] };
    const fulfilled = await send('orders/fulfilled', order);
    const cancelled = await send('orders/cancelled', { ...order, cancelled_at: new Date().toISOString() });
    for (const webhookId of [fulfilled, cancelled]) {
      const row = await waitFor(async () => { const r = await stored(webhookId); return r.processed ? r : undefined; }, 'the foreign webhook processed', 8_000);
      expect(row.error).toMatch(/not about an order of ours/);
      expect(await jobFailures(webhookId)).toBe(0);
    }
  });

  it('when the bb-order tag names an order we do not have (another environment sharing the shop), then it is recorded as not ours at once', async () => {
    const numeric = 91_000_000_000 + Math.floor(Math.random() * 1e9);
    const webhookId = await send('orders/cancelled', {
      id: numeric,
      admin_graphql_api_id: `gid://shopify/Order/${numeric}`,
      tags: `bb-order-${randomUUID()}`,
      cancelled_at: new Date().toISOString(),
    });
    const row = await waitFor(async () => { const r = await stored(webhookId); return r.processed ? r : undefined; }, 'the foreign webhook processed', 8_000);
    expect(row.error).toMatch(/not about an order of ours/);
    expect(await jobFailures(webhookId)).toBe(0);
  });

  it('when a tagged webhook is about one of our orders, then it still applies (the tag links an order we never heard back about)', async () => {
    sim.injectFaults({ dropOrderCreateResponse: 1, unavailable: 0 });
    const { orderId, fulfillmentId } = await buyMerch(t);
    const order = await waitFor(async () => sim.orders.find((o) => o.tags.includes(`bb-order-${orderId}`)), 'the Shopify order');
    await sim.advance(order.id, 'cancel');
    await waitForStatus(t, fulfillmentId, 'cancelled');
    expect((await fulfillmentRow(t, fulfillmentId)).external_id).toBe(order.id);
  });
});
