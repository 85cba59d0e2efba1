// Refunds reach Shopify: refunding an order whose parcel is in Shopify (processing, not shipped) cancels the
// Shopify order once — restocked, no Shopify refund, no mail — and its orders/cancelled echo refunds nothing more.
// A line Shopify never saw gets no order afterwards, and needs no cancel.
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { ADDRESS, buyMerch as buyFixture, createItem, fulfillmentRow, useShopifyStack, waitFor, waitForStatus } from './fixtures.js';

const TOKEN = 'shpat_cancel_token';
const SECRET = 'shopify-cancel-test-secret';
let t: TestApp;
let sim: ShopifySimulator;
useShopifyStack({ accessToken: TOKEN, webhookSecret: SECRET, env: { JOB_RETRY_BASE_MS: '300' } }, (stack) => ({ t, sim } = stack));
beforeEach(() => sim.injectFaults({ unavailable: 0, slow: { count: 0, delayMs: 0 }, cancelUserErrors: { count: 0, message: '' }, dropOrderCancelResponse: 0 }));

const ordersTagged = (orderId: string) => sim.orders.filter((o) => o.tags.includes(`bb-order-${orderId}`));
const history = async (id: string) => (await t.request('GET', `/admin/fulfillments/${id}`, { token: t.adminToken })).body.events as Array<{ status: string; detail: string }>;
const balanceOf = async (token: string) => (await t.request('GET', '/user/wallet', { token })).body.balance as number;
const refund = (orderId: string) =>
  t.request('POST', `/admin/orders/${orderId}/refund`, { token: t.adminToken, headers: { 'idempotency-key': randomUUID() }, body: { reason: 'customer asked' } });

const buyMerch = () => buyFixture(t);

/** Every orders/cancelled webhook Shopify sent for this order has been stored and processed by its job. */
const echoProcessed = (shopifyOrderGid: string, count: number) => waitFor(async () => {
  const { rows } = await t.runtime.deps.db.query<{ pending: number; total: number }>(
    `SELECT count(*) FILTER (WHERE processed_at IS NULL)::int AS pending, count(*)::int AS total
       FROM webhook_events WHERE topic = 'orders/cancelled' AND payload->>'admin_graphql_api_id' = $1`,
    [shopifyOrderGid],
  );
  return (rows[0]!.total === count && rows[0]!.pending === 0) || undefined;
}, `${count} orders/cancelled webhook(s) processed`);

const cancelRequests = () => sim.requests.filter((r) => r.operation === 'orderCancel');

describe('refunds cancel the Shopify order', () => {
  it('when a processing Shopify line is refunded, then the Shopify order is cancelled exactly once (restock, no Shopify refund, no mail), the gems come back once and the echo refunds nothing', async () => {
    const { orderId, fulfillmentId, player } = await buyMerch();
    const processing = await waitForStatus(t, fulfillmentId, 'processing');

    const refunded = await refund(orderId);
    expect(refunded.status).toBe(200);
    expect((await fulfillmentRow(t, fulfillmentId)).status).toBe('cancelled');
    expect(await balanceOf(player.token)).toBe(500);

    const [order] = ordersTagged(orderId);
    await waitFor(async () => order!.cancelledAt, 'the Shopify order cancelled');
    await echoProcessed(processing.external_id!, 1);
    await waitFor(async () => (await history(fulfillmentId)).some((e) => /shopify order gid:\/\/shopify\/Order\/\d+ cancelled/.test(e.detail)), 'the cancellation in the history');

    expect(ordersTagged(orderId)).toHaveLength(1);
    expect(order!.cancellations).toEqual([{ reason: 'CUSTOMER', refund: false, restock: true, notifyCustomer: false }]);
    // The echo of our own cancel: stored, processed, no second refund, no status change.
    expect(sim.webhooks.filter((w) => w.topic === 'orders/cancelled' && JSON.parse(w.body).admin_graphql_api_id === order!.id)).toHaveLength(1);
    expect(await balanceOf(player.token)).toBe(500);
    const events = await history(fulfillmentId);
    expect(events.map((e) => e.status)).toEqual(['pending', 'processing', 'cancelled', 'cancelled']);
    expect(events.at(-1)!.detail).toMatch(/shopify order gid:\/\/shopify\/Order\/\d+ cancelled/);
    expect((await fulfillmentRow(t, fulfillmentId)).status).toBe('cancelled');

    // A second refund is refused and asks Shopify nothing more.
    const before = cancelRequests().length;
    expect((await refund(orderId)).status).toBe(409);
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(cancelRequests().length).toBe(before);
    expect(order!.cancellations).toHaveLength(1);
  });

  it('when Shopify answers 503 twice to the cancel, then the retries cancel the order once', async () => {
    const { orderId, fulfillmentId, player } = await buyMerch();
    const processing = await waitForStatus(t, fulfillmentId, 'processing');
    const from = sim.requests.length;
    sim.injectFaults({ unavailable: 2 });

    expect((await refund(orderId)).status).toBe(200);
    const [order] = ordersTagged(orderId);
    await waitFor(async () => order!.cancelledAt, 'the Shopify order cancelled', 20_000);
    await echoProcessed(processing.external_id!, 1);
    await waitFor(async () => (await history(fulfillmentId)).some((e) => /shopify order gid:\/\/shopify\/Order\/\d+ cancelled/.test(e.detail)), 'the cancellation in the history');

    expect(sim.requests.slice(from).filter((r) => r.operation === 'orderCancel').map((r) => r.status)).toEqual([503, 503, 200]);
    expect(order!.cancellations).toHaveLength(1);
    const details = (await history(fulfillmentId)).map((e) => e.detail);
    expect(details.filter((d) => /shopify cancel attempt \d failed: Shopify answered 503; retrying/.test(d))).toHaveLength(2);
    expect(await balanceOf(player.token)).toBe(500);
    expect((await fulfillmentRow(t, fulfillmentId)).last_error).toBeNull();
  });

  it('when Shopify refuses the cancel (a userError), then it is not retried blindly and the cancelled line shows the error for operators', async () => {
    const { orderId, fulfillmentId } = await buyMerch();
    await waitForStatus(t, fulfillmentId, 'processing');
    sim.injectFaults({ cancelUserErrors: { count: 1, message: 'Order cannot be cancelled right now' } });

    expect((await refund(orderId)).status).toBe(200);
    const row = await waitFor(async () => {
      const current = await fulfillmentRow(t, fulfillmentId);
      return current.last_error ? current : undefined;
    }, 'the cancel failure recorded');
    expect(row.status).toBe('cancelled');
    expect(row.last_error).toMatch(/Shopify order cancel failed: .*Order cannot be cancelled right now/);
    expect((await history(fulfillmentId)).at(-1)!.detail).toMatch(/failed for good.*cancel the order in Shopify/);
    expect(ordersTagged(orderId)[0]!.cancelledAt).toBeNull();
    const listed = await t.request('GET', `/admin/fulfillments/${fulfillmentId}`, { token: t.adminToken });
    expect(listed.body).toMatchObject({ status: 'cancelled', error: expect.stringMatching(/Shopify order cancel failed/) });
  });

  it('when the Shopify order was already cancelled, or our stored id is unknown to Shopify, then the cancel job succeeds without a second cancellation', async () => {
    const { orderId, fulfillmentId } = await buyMerch();
    const processing = await waitForStatus(t, fulfillmentId, 'processing');
    expect((await refund(orderId)).status).toBe(200);
    const [order] = ordersTagged(orderId);
    await waitFor(async () => order!.cancelledAt, 'the Shopify order cancelled');
    await echoProcessed(processing.external_id!, 1);

    // The job again (pg-boss may run a job twice), and once with an id Shopify does not know (found by tag instead).
    await t.runtime.services.fulfillment.cancelShopifyOrder({ orderId, externalId: processing.external_id });
    await t.runtime.services.fulfillment.cancelShopifyOrder({ orderId, externalId: 'gid://shopify/Order/1' });
    expect(order!.cancellations).toHaveLength(1);
    const details = (await history(fulfillmentId)).map((e) => e.detail);
    expect(details.filter((d) => /was already cancelled/.test(d))).toHaveLength(2);

    // An order Shopify never had: nothing to cancel.
    const none = randomUUID();
    await t.runtime.services.fulfillment.cancelShopifyOrder({ orderId: none, externalId: null });
    expect(ordersTagged(none)).toHaveLength(0);
  });

  it('when a line is refunded while its first delivery attempt is still looking Shopify up, then no Shopify order is ever created and no cancel is needed', async () => {
    const from = sim.requests.length;
    sim.injectFaults({ slow: { count: 1, delayMs: 1500 } });
    const { orderId, fulfillmentId, player } = await buyMerch();
    await waitFor(async () => (await fulfillmentRow(t, fulfillmentId)).attempts === 1 || undefined, 'the first attempt leased');

    expect((await refund(orderId)).status).toBe(200);
    expect(await balanceOf(player.token)).toBe(500);
    // Past the slow lookup, a retry's backoff and the job polling: nothing is created or cancelled.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(ordersTagged(orderId)).toHaveLength(0);
    expect(sim.requests.slice(from).map((r) => r.operation)).toEqual(['orders']); // the slow lookup, nothing after it
    const row = await fulfillmentRow(t, fulfillmentId);
    expect(row.status).toBe('cancelled');
    expect(row.external_id).toBeNull();
  });

  it('when a pending line that Shopify never saw is refunded, then its delivery job creates no order and no cancel is sent', async () => {
    // The line is cancelled before any worker touched it: purchase and refund commit in one transaction, so the
    // delivery job (written by the purchase) first runs on a cancelled line.
    const itemId = await createItem(t, { deliveryType: 'shopify' });
    const player = await t.player();
    await t.request('GET', '/user/wallet', { token: player.token });
    const listing = await t.runtime.deps.db.query<{ id: string }>(`INSERT INTO listings (title, price, delivery_type) VALUES ('Cap', 0, 'shopify') RETURNING id`);
    await t.runtime.deps.db.query('INSERT INTO listing_items (listing_id, item_id, quantity) VALUES ($1, $2, 1)', [listing.rows[0]!.id, itemId]);
    const { db } = t.runtime.deps;
    const [item] = await t.runtime.services.catalog.getItemsInTx(db, [itemId]);
    const cancelsBefore = cancelRequests().length;
    const createsBefore = sim.requests.filter((r) => r.operation === 'orderCreate').length;
    const { orderId, fulfillmentId } = await db.withTx(async (tx) => {
      const { rows: [order] } = await tx.query<{ id: string }>(
        `INSERT INTO orders (user_id, listing_id, quantity, unit_price, total_price, shipping_address) VALUES ($1, $2, 1, 0, 0, $3) RETURNING id`,
        [player.id, listing.rows[0]!.id, JSON.stringify(ADDRESS)],
      );
      const { rows: [line] } = await tx.query<{ id: string }>(
        `INSERT INTO order_lines (order_id, item_id, quantity, delivery_type) VALUES ($1, $2, 1, 'shopify') RETURNING id`,
        [order!.id, itemId],
      );
      const [created] = await t.runtime.services.fulfillment.createForOrderInTx(tx, { orderId: order!.id, userId: player.id, lines: [{ orderLineId: line!.id, item: item!, quantity: 1 }], shippingAddress: ADDRESS });
      const result = await t.runtime.services.purchases.refundOrderInTx(tx, order!.id, { reason: 'changed mind', actor: 'test' });
      expect(result.refunded).toBe(true);
      return { orderId: order!.id, fulfillmentId: created!.fulfillmentId };
    });
    // Its job runs (and a direct run too, as a duplicate delivery would): neither leases a cancelled line.
    await t.runtime.services.fulfillment.deliver(fulfillmentId, { id: randomUUID(), retryCount: 0 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'fulfillment-deliver' AND data->>'fulfillmentId' = $1 AND state = 'completed'`, [fulfillmentId]);
    expect(rows[0]!.n).toBe(1);
    expect(ordersTagged(orderId)).toHaveLength(0);
    expect(sim.requests.filter((r) => r.operation === 'orderCreate').length).toBe(createsBefore);
    expect(cancelRequests().length).toBe(cancelsBefore);
    const row = await fulfillmentRow(t, fulfillmentId);
    expect(row).toMatchObject({ status: 'cancelled', attempts: 0, external_id: null });
    const { rows: cancelJobs } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'shopify-cancel' AND data->>'orderId' = $1`, [orderId]);
    expect(cancelJobs[0]!.n).toBe(0);
  });
});
