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

  it('when faults are injected with an unknown name, a wrong type or a body that is not an object, then 400 naming the problem and the faults in force are unchanged', async () => {
    const inject = async (body: string) => {
      const response = await fetch(`${sim.url}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: response.status, body: (await response.json()) as { error?: string; faults?: Record<string, unknown> } };
    };
    const before = await inject(JSON.stringify({ unavailable: 0 }));
    expect(before.status).toBe(200);
    const refused: Array<[string, RegExp]> = [
      ['null', /object/],
      ['[1]', /object/],
      [JSON.stringify({ unavailble: 3 }), /unknown fault "unavailble"/],
      [JSON.stringify({ unavailable: 'abc' }), /unavailable/],
      [JSON.stringify({ unavailable: -5 }), /unavailable/],
      [JSON.stringify({ slow: 3 }), /slow/],
      [JSON.stringify({ throttled: { count: 2 } }), /throttled\.retryAfterSeconds/],
      [JSON.stringify({ userErrors: { count: 1 } }), /userErrors\.message/],
    ];
    for (const [body, error] of refused) {
      const response = await inject(body);
      expect(response.status, body).toBe(400);
      expect(response.body.error, body).toMatch(error);
    }
    expect((await inject('{}')).body.faults).toEqual(before.body.faults);
    // An advance with a body that is not an object is refused the same way, not a 500.
    const id = await createOrder('bb-order-null-body');
    const response = await fetch(`${sim.url}/_sim/orders/${encodeURIComponent(id)}/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' });
    expect(response.status).toBe(400);
  });
});
