// Shopify cancels an order only once it has no live fulfillment: a merchant who stops a parcel that was already
// fulfilled cancels the fulfillment first (fulfillments/update, status cancelled), then the order (orders/cancelled).
// The line was `shipped` by then; it stayed shipped for ever and the player's gems never came back, though the issue
// says orders/cancelled refunds the line. A parcel that Shopify still lists as a live fulfillment has left: it stays.
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { buyMerch, useShopifyStack, waitFor, waitForStatus } from './fixtures.js';

const TOKEN = 'shpat_cancel_shipped';
const SECRET = 'cancel-shipped-secret';
let t: TestApp;
let sim: ShopifySimulator;
useShopifyStack({ accessToken: TOKEN, webhookSecret: SECRET }, (stack) => ({ t, sim } = stack));

const balanceOf = async (token: string) => (await t.request('GET', '/user/wallet', { token })).body.balance as number;
const processed = (gid: string) => waitFor(async () => {
  const { rows } = await t.runtime.deps.db.query<{ open: number; total: number }>(
    `SELECT count(*) FILTER (WHERE processed_at IS NULL)::int AS open, count(*)::int AS total FROM webhook_events
      WHERE topic = 'orders/cancelled' AND payload->>'admin_graphql_api_id' = $1`,
    [gid],
  );
  return (rows[0]!.total === 1 && rows[0]!.open === 0) || undefined;
}, 'the orders/cancelled webhook processed');

async function shipped() {
  const bought = await buyMerch(t);
  await waitForStatus(t, bought.fulfillmentId, 'processing');
  const order = sim.findOrder(bought.orderId)!;
  await sim.sendWebhook('fulfillments/create', { id: 31, order_id: order.numericId, status: 'success', tracking_company: 'UPS', tracking_number: '1ZCANCEL', tracking_url: 'https://t.example/1ZCANCEL' });
  await waitForStatus(t, bought.fulfillmentId, 'shipped');
  return { ...bought, order, balance: await balanceOf(bought.player.token) };
}

const cancelled = (order: { numericId: number; id: string }, orderId: string, fulfillmentStatus: string) => ({
  id: order.numericId,
  admin_graphql_api_id: order.id,
  tags: `bb-order-${orderId}`,
  cancelled_at: new Date().toISOString(),
  cancel_reason: 'customer',
  fulfillments: [{ id: 31, status: fulfillmentStatus, tracking_number: '1ZCANCEL' }],
});

describe('orders/cancelled for a shipped line', () => {
  it('when Shopify cancelled the fulfillment and then the order, then the line is cancelled and the gems come back once', async () => {
    const { order, orderId, fulfillmentId, player, balance } = await shipped();
    await sim.sendWebhook('fulfillments/update', { id: 31, order_id: order.numericId, status: 'cancelled', tracking_number: '1ZCANCEL' });
    const webhook = cancelled(order, orderId, 'cancelled');
    await sim.sendWebhook('orders/cancelled', webhook);
    await waitForStatus(t, fulfillmentId, 'cancelled');
    await processed(order.id);
    expect(await balanceOf(player.token)).toBe(balance + 300);
    await sim.sendWebhook('orders/cancelled', webhook); // a second delivery under new ids refunds nothing more
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await balanceOf(player.token)).toBe(balance + 300);
    const mine = await t.request('GET', `/user/purchases/${orderId}`, { token: player.token });
    expect(mine.body.lines[0].fulfillment.events.map((e: { status: string }) => e.status)).toEqual(['pending', 'processing', 'shipped', 'shipped', 'cancelled']);
  });

  it('when the order is cancelled while Shopify still lists the parcel as a live fulfillment, then the line stays shipped and nothing is refunded', async () => {
    const { order, orderId, fulfillmentId, player, balance } = await shipped();
    await sim.sendWebhook('orders/cancelled', cancelled(order, orderId, 'success'));
    await processed(order.id);
    const row = await t.request('GET', `/admin/fulfillments/${fulfillmentId}`, { token: t.adminToken });
    expect(row.body.status).toBe('shipped');
    expect(await balanceOf(player.token)).toBe(balance);
  });
});
