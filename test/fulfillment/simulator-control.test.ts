// The simulator's control API (docs/fulfillment.md § The simulator), as people and black-box tests drive it over HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startShopifySimulator, type ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { createSimulatorOrder } from './fixtures.js';

const TOKEN = 'shpat_control';
let sim: ShopifySimulator;
beforeAll(async () => {
  sim = await startShopifySimulator({ webhookSecret: 's', accessToken: TOKEN, webhookRetries: { attempts: 0, baseMs: 1 } });
});
afterAll(async () => sim?.close());

const createOrder = (tag: string) => createSimulatorOrder(sim.url, TOKEN, tag);

const advance = async (id: string, step: unknown) => {
  const response = await fetch(`${sim.url}/_sim/orders/${encodeURIComponent(id)}/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ step }) });
  return { status: response.status, body: (await response.json()) as { webhooks?: Array<{ topic: string }>; error?: string } };
};

describe('the simulator control API', () => {
  it('when a step is not one the simulator knows, then 400 naming the steps, and the order and its webhooks are untouched', async () => {
    const id = await createOrder('bb-order-steps');
    const sent = sim.webhooks.length;
    for (const step of ['shipped', 'DELIVERED', 42, '']) {
      const response = await advance(id, step);
      expect(response.status).toBe(400);
      expect(response.body.error).toMatch(/fulfill, in_transit, out_for_delivery, delivered, failure, cancel/);
    }
    expect(sim.findOrder(id)!.fulfillment).toBeNull();
    expect(sim.webhooks.length).toBe(sent);
    expect((await advance(id, 'in_transit')).body.webhooks!.map((w) => w.topic)).toEqual(['fulfillments/create', 'orders/fulfilled', 'fulfillments/update', 'fulfillment_events/create']);
  });

  it('when an order is cancelled, then it can be neither fulfilled nor cancelled again (409), as in Shopify; an unknown order is 404', async () => {
    const id = await createOrder('bb-order-cancelled');
    expect((await advance(id, 'cancel')).status).toBe(200);
    const sent = sim.webhooks.length;
    expect((await advance(id, 'fulfill')).status).toBe(409);
    expect((await advance(id, 'cancel')).status).toBe(409);
    expect(sim.webhooks.length).toBe(sent);
    expect((await advance('gid://shopify/Order/1', 'fulfill')).status).toBe(404);
  });
});
