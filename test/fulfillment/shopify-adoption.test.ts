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
