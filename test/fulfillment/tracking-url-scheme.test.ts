// The tracking URL comes from Shopify (a merchant, a carrier app, whoever can edit a fulfillment) and is shown to the
// player as a link (GET /user/purchases/:id). Only http(s) URLs are kept: a `javascript:` or `data:` URL is a script
// in the game client's or a web shop's page (OWASP API10, unsafe consumption of APIs). The number and carrier stay.
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { buyMerch, useShopifyStack, waitFor, waitForStatus } from './fixtures.js';

const TOKEN = 'shpat_tracking_url';
const SECRET = 'tracking-url-scheme-secret';
let t: TestApp;
let sim: ShopifySimulator;
useShopifyStack({ accessToken: TOKEN, webhookSecret: SECRET }, (stack) => ({ t, sim } = stack));

async function shippedWith(trackingUrl: unknown, topic: 'fulfillments/create' | 'orders/fulfilled' = 'fulfillments/create') {
  const { orderId, fulfillmentId, player } = await buyMerch(t);
  await waitForStatus(t, fulfillmentId, 'processing');
  const order = sim.findOrder(orderId)!;
  const fulfillment = { id: 7, order_id: order.numericId, status: 'success', shipment_status: 'in_transit', tracking_company: 'UPS', tracking_number: '1ZSCHEME', tracking_url: trackingUrl };
  await sim.sendWebhook(topic, topic === 'fulfillments/create'
    ? fulfillment
    : { id: order.numericId, admin_graphql_api_id: order.id, tags: `bb-order-${orderId}`, fulfillments: [fulfillment] });
  await waitForStatus(t, fulfillmentId, 'shipped');
  const mine = await waitFor(async () => {
    const response = await t.request('GET', `/user/purchases/${orderId}`, { token: player.token });
    return response.body.lines[0].fulfillment.trackingNumber ? response.body.lines[0].fulfillment : undefined;
  }, 'the tracking on the order');
  return mine as { trackingNumber: string; trackingCompany: string; trackingUrl: string | null };
}

describe('tracking URL from Shopify', () => {
  it.each([
    ['javascript:alert(document.cookie)', 'fulfillments/create'],
    ['JaVaScRiPt:alert(1)', 'orders/fulfilled'],
    ['data:text/html,<script>alert(1)</script>', 'fulfillments/create'],
    ['//evil.example/x', 'fulfillments/create'],
  ] as const)('when the URL is %s (%s), then the parcel ships with its number and carrier but no link', async (url, topic) => {
    const tracking = await shippedWith(url, topic);
    expect(tracking.trackingNumber).toBe('1ZSCHEME');
    expect(tracking.trackingCompany).toBe('UPS');
    expect(tracking.trackingUrl).toBeNull();
  });

  it('when the URL is https, then the player gets it as sent', async () => {
    const tracking = await shippedWith('https://www.ups.com/track?tracknum=1ZSCHEME');
    expect(tracking.trackingUrl).toBe('https://www.ups.com/track?tracknum=1ZSCHEME');
  });
});
