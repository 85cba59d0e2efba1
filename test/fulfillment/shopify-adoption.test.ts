// An order created in Shopify whose answer we lost (a timeout, a crash) is adopted by tag on the next attempt.
// What Shopify already did to it meanwhile (fulfilled, delivered) — news whose webhooks came while the order was
// unknown to us, and ran out of retries — is taken from that same lookup, not left for reconciliation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { startShopifySimulator, type ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { ADDRESS, createItem, createUser, fulfillmentRow, placeOrder } from './fixtures.js';

const TOKEN = 'shpat_test_token';
let t: TestApp;
let sim: ShopifySimulator;

beforeAll(async () => {
  sim = await startShopifySimulator({ webhookSecret: 'adoption-secret', accessToken: TOKEN });
  // No workers: the test runs the delivery attempts itself, so the order of events is exact.
  t = await startTestApp({ workers: false, env: { SHOPIFY_ADMIN_URL: sim.url, SHOPIFY_ACCESS_TOKEN: TOKEN, SHOPIFY_WEBHOOK_SECRET: 'adoption-secret' } });
});
afterAll(async () => {
  await t?.close();
  await sim?.close();
});

async function lostOrder() {
  const itemId = await createItem(t, { deliveryType: 'shopify' });
  const { orderId, fulfillments: [f] } = await placeOrder(t, { userId: await createUser(t), items: [{ itemId }], shippingAddress: ADDRESS });
  sim.injectFaults({ dropOrderCreateResponse: 1 });
  await t.runtime.services.fulfillment.deliver(f!.fulfillmentId, { id: 'attempt-1', retryCount: 0 });
  const afterLoss = await fulfillmentRow(t, f!.fulfillmentId);
  expect(afterLoss).toMatchObject({ status: 'pending', external_id: null });
  expect(sim.findOrder(orderId)).toBeDefined();
  return { orderId, fulfillmentId: f!.fulfillmentId };
}

describe('adopting a Shopify order found by tag', () => {
  it('when the adopted order was already fulfilled in Shopify, then the fulfillment is shipped with its tracking at once', async () => {
    const { orderId, fulfillmentId } = await lostOrder();
    await sim.advance(orderId, 'in_transit'); // webhooks go nowhere: lost while the order was unknown to us
    await t.runtime.services.fulfillment.deliver(fulfillmentId, { id: 'attempt-2', retryCount: 0 });
    const row = await fulfillmentRow(t, fulfillmentId);
    const order = sim.findOrder(orderId)!;
    expect(sim.orders.filter((o) => o.tags.includes(`bb-order-${orderId}`))).toHaveLength(1);
    expect(row.status).toBe('shipped');
    expect(row.external_id).toBe(order.id);
    expect(row.tracking_number).toBe(order.fulfillment!.trackingNumber);
    const history = await t.request('GET', `/admin/fulfillments/${fulfillmentId}`, { token: t.adminToken });
    expect(history.body.events.map((e: { status: string }) => e.status)).toEqual(['pending', 'pending', 'processing', 'shipped']);
  });

  it('when the adopted order was already delivered in Shopify, then the fulfillment is delivered', async () => {
    const { orderId, fulfillmentId } = await lostOrder();
    await sim.advance(orderId, 'delivered');
    await t.runtime.services.fulfillment.deliver(fulfillmentId, { id: 'attempt-2', retryCount: 0 });
    expect((await fulfillmentRow(t, fulfillmentId)).status).toBe('delivered');
  });

  it('when the adopted order is not fulfilled yet, then the fulfillment is processing', async () => {
    const { fulfillmentId } = await lostOrder();
    await t.runtime.services.fulfillment.deliver(fulfillmentId, { id: 'attempt-2', retryCount: 0 });
    expect((await fulfillmentRow(t, fulfillmentId)).status).toBe('processing');
  });
});

describe("an operator's retry of a dead letter whose Shopify order exists", () => {
  /** Sends the webhooks the simulator recorded for this order to the service and runs their jobs, as the worker would. */
  async function receiveWebhooks(orderId: string) {
    const order = sim.findOrder(orderId)!;
    const numeric = String(order.numericId);
    const mine = sim.webhooks.filter((w) => w.body.includes(numeric));
    sim.setWebhookUrl(`${t.baseUrl}/webhooks/shopify`);
    try {
      for (const webhook of mine) await sim.redeliver(webhook);
    } finally {
      sim.setWebhookUrl(undefined);
    }
    const { rows } = await t.runtime.deps.db.query<{ id: string }>('SELECT id FROM webhook_events WHERE processed_at IS NULL ORDER BY id');
    const refund = () => Promise.reject(new Error('no cancellation expected here'));
    // Two rounds: a fulfillment webhook that came before the tagged orders/fulfilled linked the order is retried.
    for (let round = 0; round < 2; round++) {
      for (const { id } of rows) await t.runtime.services.fulfillment.processShopifyWebhook(id, refund).catch(() => undefined);
    }
  }

  it('when Shopify delivered the order while the line was failed, then the retry shows it delivered with its tracking, not processing', async () => {
    const { orderId, fulfillmentId } = await lostOrder();
    sim.injectFaults({ unavailable: 2 }); // attempts 2 and 3 (JOB_MAX_ATTEMPTS) fail: a dead letter
    await t.runtime.services.fulfillment.deliver(fulfillmentId, { id: 'attempt-2', retryCount: 0 });
    await t.runtime.services.fulfillment.deliver(fulfillmentId, { id: 'attempt-3', retryCount: 0 });
    expect((await fulfillmentRow(t, fulfillmentId)).status).toBe('failed');

    // The parcel leaves and arrives anyway; its orders/fulfilled (which carries our tag) links the order to the line.
    await sim.advance(orderId, 'delivered');
    await receiveWebhooks(orderId);
    const order = sim.findOrder(orderId)!;
    expect(await fulfillmentRow(t, fulfillmentId)).toMatchObject({ status: 'failed', external_id: order.id });

    const retried = await t.request('POST', `/admin/fulfillments/${fulfillmentId}/retry`, { token: t.adminToken });
    expect(retried.status).toBe(200);
    await t.runtime.services.fulfillment.deliver(fulfillmentId, { id: 'operator-retry', retryCount: 0 });

    const row = await fulfillmentRow(t, fulfillmentId);
    expect(row.status).toBe('delivered');
    expect(row.tracking_number).toBe(order.fulfillment!.trackingNumber);
    expect(sim.orders.filter((o) => o.tags.includes(`bb-order-${orderId}`))).toHaveLength(1);
    const history = await t.request('GET', `/admin/fulfillments/${fulfillmentId}`, { token: t.adminToken });
    expect(history.body.events.map((e: { status: string }) => e.status).slice(-3)).toEqual(['pending', 'processing', 'delivered']);
  });
});
