// The built-in Shopify simulator lives in the service's process: a restart starts a new one. Order ids must not repeat,
// since webhooks find their parcel by the Shopify order id.
import { afterAll, describe, expect, it } from 'vitest';
import { startShopifySimulator, type ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { createSimulatorOrder } from './fixtures.js';

const TOKEN = 'shpat_restart';
const started: ShopifySimulator[] = [];
afterAll(async () => Promise.all(started.map((sim) => sim.close())));

const createOrder = (sim: ShopifySimulator, tag: string) => createSimulatorOrder(sim.url, TOKEN, tag);

describe('the Shopify simulator across a restart', () => {
  it('when a simulator is replaced by a new one (the service restarted), then the new one never reuses an order id of the old', async () => {
    const first = await startShopifySimulator({ webhookSecret: 's', accessToken: TOKEN });
    started.push(first);
    const before = [await createOrder(first, 'bb-order-a'), await createOrder(first, 'bb-order-b')];
    await first.close();
    started.pop();
    const second = await startShopifySimulator({ webhookSecret: 's', accessToken: TOKEN });
    started.push(second);
    const after = [await createOrder(second, 'bb-order-c'), await createOrder(second, 'bb-order-d')];
    expect(new Set([...before, ...after]).size).toBe(4);
    for (const id of [...before, ...after]) expect(Number(id.split('/').pop())).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER / 10);
  });
});
