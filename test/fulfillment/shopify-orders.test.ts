import { beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { ADDRESS, createItem, createUser, fulfillmentRow, placeOrder, useShopifyStack, waitFor, waitForStatus } from './fixtures.js';

const TOKEN = 'shpat_test_token';
const SECRET = 'shopify-webhook-test-secret';
let t: TestApp;
let sim: ShopifySimulator;
useShopifyStack({ accessToken: TOKEN, webhookSecret: SECRET }, (stack) => ({ t, sim } = stack));
beforeEach(() => sim.injectFaults({ unavailable: 0, throttled: { count: 0, retryAfterSeconds: 1 }, dropOrderCreateResponse: 0, userErrors: { count: 0, message: '' } }));

const ordersTagged = (orderId: string) => sim.orders.filter((o) => o.tags.includes(`bb-order-${orderId}`));

async function merchOrder(quantity = 1) {
  const itemId = await createItem(t, { deliveryType: 'shopify', variantId: 'gid://shopify/ProductVariant/777' });
  const userId = await createUser(t, 'buyer@players.test');
  return placeOrder(t, { userId, items: [{ itemId, quantity }], shippingAddress: ADDRESS });
}

describe('Shopify orders', () => {
  it('when a merch line is bought, then one Shopify order is created with the variant, address, email and tag, and the fulfillment is processing', async () => {
    const { orderId, fulfillments: [f] } = await merchOrder(2);
    expect(f!.status).toBe('pending');
    const row = await waitForStatus(t, f!.fulfillmentId, 'processing');
    const [order] = ordersTagged(orderId);
    expect(ordersTagged(orderId)).toHaveLength(1);
    expect(row.external_id).toBe(order!.id);
    expect(order!.lineItems).toEqual([{ variantId: 'gid://shopify/ProductVariant/777', quantity: 2 }]);
    expect(order!.email).toBe('buyer@players.test');
    expect(order!.shippingAddress).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', address1: '12 Analytical St', city: 'London', zip: 'N1 9GU', countryCode: 'GB' });
  });

  it('when a parcel is sent, then the tag lookup comes first, worded as the contract writes it, and orderCreate carries the tag', async () => {
    const from = sim.requests.length;
    const { orderId, fulfillments: [f] } = await merchOrder();
    await waitForStatus(t, f!.fulfillmentId, 'processing');
    const mine = sim.requests.slice(from).filter((r) => JSON.stringify(r).includes(orderId));
    expect(mine.map((r) => r.operation)).toEqual(['orders', 'orderCreate']);
    // API.md: the lookup `orders(first: 1, query: "tag:bb-order-<order id>")`, readable in the document itself (and
    // in the variables, for a server that reads them there).
    expect(mine[0]!.query).toContain(`orders(first: 1, query: "tag:bb-order-${orderId}")`);
    expect(mine[0]!.variables).toMatchObject({ query: `tag:bb-order-${orderId}` });
    expect(mine[1]!.query).toMatch(/orderCreate\(order: \$order, options: \$options\)/);
    expect(mine[1]!.variables).toMatchObject({ order: { tags: [`bb-order-${orderId}`], lineItems: [{ variantId: 'gid://shopify/ProductVariant/777', quantity: 1 }] } });
  });

  it('when a merch item names its variant by the numeric id or by another handle, then the Shopify order is created all the same (the numeric id as its GID)', async () => {
    const numeric = await createItem(t, { deliveryType: 'shopify', variantId: '44012345678' });
    const handle = await createItem(t, { deliveryType: 'shopify', variantId: 'tee-black-m' });
    const userId = await createUser(t, 'variants@players.test');
    const { orderId, fulfillments } = await placeOrder(t, { userId, items: [{ itemId: numeric }, { itemId: handle }], shippingAddress: ADDRESS });
    for (const f of fulfillments) await waitForStatus(t, f.fulfillmentId, 'processing');
    const [order] = ordersTagged(orderId);
    expect(order!.lineItems).toEqual(expect.arrayContaining([
      { variantId: 'gid://shopify/ProductVariant/44012345678', quantity: 1 },
      { variantId: 'tee-black-m', quantity: 1 },
    ]));
  });

  it("when the player's email claim is not one plain address, then the Shopify order is created without it (Shopify would refuse the order) and the parcel still ships", async () => {
    const itemId = await createItem(t, { deliveryType: 'shopify', variantId: 'gid://shopify/ProductVariant/778' });
    const userId = await createUser(t, 'buyer@players.test, someone-else@elsewhere.test');
    const { orderId, fulfillments: [f] } = await placeOrder(t, { userId, items: [{ itemId }], shippingAddress: ADDRESS });
    await waitForStatus(t, f!.fulfillmentId, 'processing');
    expect(ordersTagged(orderId)).toHaveLength(1);
    expect(ordersTagged(orderId)[0]!.email).toBeNull();
  });

  it('when the order has no shipping address, then the purchase is refused with validation_failed', async () => {
    const itemId = await createItem(t, { deliveryType: 'shopify' });
    await expect(placeOrder(t, { userId: await createUser(t), items: [{ itemId }], shippingAddress: null })).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('when Shopify answers 503 first, then the retry creates exactly one Shopify order', async () => {
    sim.injectFaults({ unavailable: 1 });
    const { orderId, fulfillments: [f] } = await merchOrder();
    const row = await waitForStatus(t, f!.fulfillmentId, 'processing');
    expect(row.attempts).toBe(2);
    expect(ordersTagged(orderId)).toHaveLength(1);
  });

  it('when Shopify throttles with 429 and Retry-After, then the worker waits and succeeds with one order', async () => {
    sim.injectFaults({ throttled: { count: 1, retryAfterSeconds: 2 } });
    const { orderId, fulfillments: [f] } = await merchOrder();
    await waitFor(async () => (await fulfillmentRow(t, f!.fulfillmentId)).last_error, 'the throttled attempt');
    const detail = await t.request('GET', `/admin/fulfillments/${f!.fulfillmentId}`, { token: t.adminToken });
    expect(detail.body.events.at(-1).detail).toMatch(/429.*retrying in [2-9] s/);
    await waitForStatus(t, f!.fulfillmentId, 'processing');
    expect(ordersTagged(orderId)).toHaveLength(1);
  });

  it('when the orderCreate response is lost after Shopify created the order, then the retry finds it by tag and no second order exists', async () => {
    sim.injectFaults({ dropOrderCreateResponse: 1 });
    const from = sim.requests.length;
    const { orderId, fulfillments: [f] } = await merchOrder();
    const row = await waitForStatus(t, f!.fulfillmentId, 'processing');
    expect(ordersTagged(orderId)).toHaveLength(1);
    expect(row.external_id).toBe(ordersTagged(orderId)[0]!.id);
    // lookup, create (answer lost), lookup (found): never a second orderCreate
    expect(sim.requests.slice(from).map((r) => `${r.operation}:${r.status}`)).toEqual(['orders:200', 'orderCreate:0', 'orders:200']);
  });

  it('when Shopify returns userErrors, then the fulfillment fails with the message, shows in the dead letters, and an operator retry delivers it', async () => {
    sim.injectFaults({ userErrors: { count: 1, message: 'Variant is out of stock' } });
    const { orderId, fulfillments: [f] } = await merchOrder();
    const failed = await waitForStatus(t, f!.fulfillmentId, 'failed');
    expect(failed.last_error).toMatch(/Variant is out of stock/);
    expect(failed.attempts).toBe(1); // userErrors are not retried blindly

    const deadLetters = await t.request('GET', '/admin/fulfillments?status=failed&limit=100', { token: t.adminToken });
    const listed = deadLetters.body.items.find((i: { id: string }) => i.id === f!.fulfillmentId);
    expect(listed).toMatchObject({ status: 'failed', error: expect.stringMatching(/Variant is out of stock/) });

    const retried = await t.request('POST', `/admin/fulfillments/${f!.fulfillmentId}/retry`, { token: t.adminToken });
    expect(retried.status).toBe(200);
    expect(retried.body.status).toBe('pending');
    await waitForStatus(t, f!.fulfillmentId, 'processing');
    expect(ordersTagged(orderId)).toHaveLength(1);

    const again = await t.request('POST', `/admin/fulfillments/${f!.fulfillmentId}/retry`, { token: t.adminToken });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('invalid_state');
    const history = await t.request('GET', `/admin/fulfillments/${f!.fulfillmentId}`, { token: t.adminToken });
    expect(history.body.events.map((e: { status: string }) => e.status)).toEqual(['pending', 'failed', 'pending', 'processing']);
  });

  it('when two merch lines of one order are dead-lettered together, then an operator retry of one sends both in one Shopify order', async () => {
    sim.injectFaults({ userErrors: { count: 1, message: 'Address is not deliverable' } });
    const tee = await createItem(t, { deliveryType: 'shopify', variantId: 'gid://shopify/ProductVariant/801' });
    const cap = await createItem(t, { deliveryType: 'shopify', variantId: 'gid://shopify/ProductVariant/802' });
    const userId = await createUser(t);
    const { orderId, fulfillments: [a, b] } = await placeOrder(t, { userId, items: [{ itemId: tee }, { itemId: cap, quantity: 2 }], shippingAddress: ADDRESS });
    await waitForStatus(t, a!.fulfillmentId, 'failed');
    await waitForStatus(t, b!.fulfillmentId, 'failed');

    const retried = await t.request('POST', `/admin/fulfillments/${a!.fulfillmentId}/retry`, { token: t.adminToken });
    expect(retried.status).toBe(200);
    const rowA = await waitForStatus(t, a!.fulfillmentId, 'processing');
    const rowB = await waitForStatus(t, b!.fulfillmentId, 'processing');
    // One parcel holding both lines: a line marked processing is a line Shopify was asked to ship.
    expect(ordersTagged(orderId)).toHaveLength(1);
    expect(ordersTagged(orderId)[0]!.lineItems).toEqual(expect.arrayContaining([
      { variantId: 'gid://shopify/ProductVariant/801', quantity: 1 },
      { variantId: 'gid://shopify/ProductVariant/802', quantity: 2 },
    ]));
    expect(rowB.external_id).toBe(rowA.external_id);
    // The sibling was retried with it: retrying it again is a retry of a line no longer failed.
    const second = await t.request('POST', `/admin/fulfillments/${b!.fulfillmentId}/retry`, { token: t.adminToken });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe('invalid_state');
    const history = await t.request('GET', `/admin/fulfillments/${b!.fulfillmentId}`, { token: t.adminToken });
    expect(history.body.events.map((e: { status: string }) => e.status)).toEqual(['pending', 'failed', 'pending', 'processing']);
  });

  it('when Shopify keeps failing, then after JOB_MAX_ATTEMPTS the fulfillment is failed with the last error', async () => {
    sim.injectFaults({ unavailable: 100 });
    const { fulfillments: [f] } = await merchOrder();
    const failed = await waitForStatus(t, f!.fulfillmentId, 'failed');
    expect(failed.attempts).toBe(3);
    expect(failed.last_error).toMatch(/503/);
  });

  it('when the admin list is paged, then the cursor walks every fulfillment once and bad input is a 400', async () => {
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: Array<{ id: string }>; nextCursor: string | null } } =
        await t.request('GET', `/admin/fulfillments?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: t.adminToken });
      expect(page.status).toBe(200);
      for (const item of page.body.items) {
        expect(seen.has(item.id)).toBe(false);
        seen.add(item.id);
      }
      cursor = page.body.nextCursor;
    } while (cursor);
    const { rows } = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM fulfillments');
    expect(seen.size).toBe(rows[0]!.n);
    for (const query of ['status=lost', 'cursor=garbage', 'limit=0', 'limit=101']) {
      const response = await t.request('GET', `/admin/fulfillments?${query}`, { token: t.adminToken });
      expect(response.status).toBe(400);
    }
    const shaped = await t.request('GET', '/admin/fulfillments?limit=1&fields=status,error', { token: t.adminToken });
    expect(shaped.status).toBe(200);
    expect(Object.keys(shaped.body.items[0]).sort()).toEqual(['error', 'id', 'status']);
    expect((await t.request('GET', '/admin/fulfillments?fields=bogus', { token: t.adminToken })).status).toBe(400);
    expect((await t.request('GET', '/admin/fulfillments/00000000-0000-4000-8000-000000000000', { token: t.adminToken })).status).toBe(404);
    expect((await t.request('POST', '/admin/fulfillments/00000000-0000-4000-8000-000000000000/retry', { token: t.adminToken })).status).toBe(404);
  });
});
