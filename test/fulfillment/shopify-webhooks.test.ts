import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import type { ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import { ADDRESS, buyMerch, createItem, createUser, fulfillmentRow, placeOrder, useShopifyStack, waitFor, waitForStatus } from './fixtures.js';

const TOKEN = 'shpat_test_token';
const SECRET = 'shopify-webhook-current-secret';
const PREVIOUS = 'shopify-webhook-previous-secret';
let t: TestApp;
let sim: ShopifySimulator;
useShopifyStack({ accessToken: TOKEN, webhookSecret: SECRET, env: { SHOPIFY_WEBHOOK_SECRET_PREVIOUS: PREVIOUS } }, (stack) => ({ t, sim } = stack));

async function shippedOrder() {
  const itemId = await createItem(t, { deliveryType: 'shopify' });
  const userId = await createUser(t);
  const placed = await placeOrder(t, { userId, items: [{ itemId }], shippingAddress: ADDRESS });
  const fulfillmentId = placed.fulfillments[0]!.fulfillmentId;
  await waitForStatus(t, fulfillmentId, 'processing');
  return { ...placed, fulfillmentId, userId };
}

const storedWebhooks = async () => (await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events')).rows[0]!.n;
const history = async (id: string) => (await t.request('GET', `/admin/fulfillments/${id}`, { token: t.adminToken })).body.events as Array<{ status: string; detail: string }>;
/**
 * Waits until every Shopify webhook stored since `since` has been processed by its job (those that changed
 * nothing included). Earlier tests leave webhooks of unknown orders retrying: they are not this test's.
 */
const webhooksProcessed = (since: Date) => waitFor(async () => {
  const { rows } = await t.runtime.deps.db.query<{ open: number }>(
    `SELECT count(*)::int AS open FROM webhook_events WHERE source = 'shopify' AND received_at >= $1 AND processed_at IS NULL`,
    [since],
  );
  return rows[0]!.open === 0 || undefined;
}, 'every webhook of this test processed');

function signedRequest(body: string, secret: string, headers: Record<string, string> = {}) {
  return t.request('POST', '/webhooks/shopify', {
    body,
    headers: {
      'content-type': 'application/json',
      'x-shopify-topic': 'orders/fulfilled',
      'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
      'x-shopify-webhook-id': randomUUID(),
      'x-shopify-event-id': randomUUID(),
      ...headers,
    },
  });
}

describe('Shopify webhook verification', () => {
  it('when the signature is wrong, missing, or made over a re-serialized body, then 401 and nothing is stored', async () => {
    const before = await storedWebhooks();
    const body = '{"id": 1,  "tags": ""}';
    const reserialized = createHmac('sha256', SECRET).update(JSON.stringify(JSON.parse(body))).digest('base64');
    for (const hmac of ['AAAA', '', 'not base64!', reserialized, createHmac('sha256', 'wrong').update(body).digest('base64')]) {
      const response = await signedRequest(body, SECRET, { 'x-shopify-hmac-sha256': hmac });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('unauthorized');
    }
    const unsigned = await t.request('POST', '/webhooks/shopify', { body, headers: { 'content-type': 'application/json', 'x-shopify-topic': 'orders/fulfilled', 'x-shopify-webhook-id': randomUUID() } });
    expect(unsigned.status).toBe(401);
    expect(await storedWebhooks()).toBe(before);
  });

  it('when signed with the previous secret during a rotation, then it is accepted', async () => {
    const response = await signedRequest('{"id": 2}', PREVIOUS);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: true, duplicate: false });
  });

  it('when signed but malformed (no webhook id, not JSON), then 400 and nothing is stored', async () => {
    const before = await storedWebhooks();
    expect((await signedRequest('{"id": 3}', SECRET, { 'x-shopify-webhook-id': '' })).status).toBe(400);
    expect((await signedRequest('not json', SECRET)).status).toBe(400);
    expect((await signedRequest('[1,2]', SECRET)).status).toBe(400);
    expect(await storedWebhooks()).toBe(before);
  });

  it('when a genuine signed webhook carries text PostgreSQL cannot store (NUL, a lone surrogate), then it is accepted and applied, not refused for ever', async () => {
    // Shopify retries a refused webhook for 48 h and then deletes the subscription: a customer note must not cost us
    // every later webhook of the shop.
    const since = new Date();
    const { orderId, fulfillmentId } = await shippedOrder();
    const order = sim.findOrder(orderId)!;
    const body = JSON.stringify({ id: 9, order_id: order.numericId, status: 'success', shipment_status: 'in_transit', tracking_number: 'NUL-1', note: 'gift\u0000wrap \ud800', ['k\u0000ey']: 1 });
    const response = await signedRequest(body, SECRET, { 'x-shopify-topic': 'fulfillments/update' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ received: true, duplicate: false });
    const shipped = await waitForStatus(t, fulfillmentId, 'shipped');
    expect(shipped.tracking_number).toBe('NUL-1');
    await webhooksProcessed(since);
    const { rows } = await t.runtime.deps.db.query<{ note: string }>(`SELECT payload->>'note' AS note FROM webhook_events WHERE received_at >= $1 AND topic = 'fulfillments/update'`, [since]);
    expect(rows.map((r) => r.note)).toEqual(['gift\ufffdwrap \ufffd']);
  });

  it('when signed but nested thousands of levels deep, then 400 validation_failed and nothing is stored (not a 500)', async () => {
    const before = await storedWebhooks();
    const deep = `{"id": 4, "note": ${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    const response = await signedRequest(deep, SECRET);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect(await storedWebhooks()).toBe(before);
    // Nesting a real payload has (a few levels) is still accepted.
    const shallow = await signedRequest(`{"id": 5, "note": ${'['.repeat(20)}${']'.repeat(20)}}`, SECRET);
    expect(shallow.status).toBe(200);
  });
});

describe('Shopify tracking through webhooks', () => {
  it('when the parcel is fulfilled, in transit and delivered, then the status moves forward with tracking and each change is one event', async () => {
    const since = new Date();
    const { orderId, fulfillmentId } = await shippedOrder();
    await sim.advance(orderId, 'in_transit');
    const shipped = await waitForStatus(t, fulfillmentId, 'shipped');
    expect(shipped.tracking_number).toMatch(/^1Z/);
    expect(shipped.tracking_url).toContain(shipped.tracking_number);
    // The operator's view names tracking like the player's order detail does (trackingNumber, trackingUrl, trackingCompany).
    const admin = await t.request('GET', `/admin/fulfillments/${fulfillmentId}`, { token: t.adminToken });
    expect(admin.body).toMatchObject({ trackingNumber: shipped.tracking_number, trackingUrl: shipped.tracking_url, trackingCompany: expect.any(String) });
    const listed = await t.request('GET', `/admin/fulfillments?status=shipped&fields=trackingNumber,trackingUrl&limit=100`, { token: t.adminToken });
    expect(listed.body.items).toContainEqual({ id: fulfillmentId, trackingNumber: shipped.tracking_number, trackingUrl: shipped.tracking_url });
    await sim.advance(orderId, 'delivered');
    await waitForStatus(t, fulfillmentId, 'delivered');
    await webhooksProcessed(since); // six webhooks; those repeating a status (orders/fulfilled after fulfillments/create) add no event
    expect((await history(fulfillmentId)).map((e) => e.status)).toEqual(['pending', 'processing', 'shipped', 'delivered']);
  });

  it('when the same webhook is delivered twice, then it is stored and processed once', async () => {
    const since = new Date();
    const { orderId, fulfillmentId } = await shippedOrder();
    const [created] = await sim.advance(orderId, 'fulfill');
    await waitForStatus(t, fulfillmentId, 'shipped');
    const again = await sim.redeliver(created!);
    expect(again.status).toBe(200);
    // Same event id under a new webhook id (Shopify retries can re-wrap): still a duplicate.
    const rewrapped = await sim.sendWebhook(created!.topic, JSON.parse(created!.body), { eventId: created!.eventId });
    expect(rewrapped.status).toBe(200);
    const { rows } = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events WHERE external_id = $1 OR event_id = $2', [created!.webhookId, created!.eventId]);
    expect(rows[0]!.n).toBe(1);
    await webhooksProcessed(since);
    expect((await history(fulfillmentId)).map((e) => e.status)).toEqual(['pending', 'processing', 'shipped']);
  });

  it('when one Shopify event fires webhooks of two topics, then both are stored (only a repeat of a topic is a duplicate)', async () => {
    const eventId = randomUUID();
    const body = '{"id": 1, "tags": ""}';
    for (const topic of ['orders/fulfilled', 'fulfillments/create', 'orders/fulfilled']) {
      expect((await signedRequest(body, SECRET, { 'x-shopify-topic': topic, 'x-shopify-event-id': eventId })).status).toBe(200);
    }
    const { rows } = await t.runtime.deps.db.query<{ topic: string }>('SELECT topic FROM webhook_events WHERE event_id = $1 ORDER BY topic', [eventId]);
    expect(rows.map((row) => row.topic)).toEqual(['fulfillments/create', 'orders/fulfilled']);
  });

  it('when "delivered" arrives before "in transit", then the fulfillment stays delivered and the late webhook adds no event', async () => {
    const since = new Date();
    const { orderId, fulfillmentId } = await shippedOrder();
    const order = sim.findOrder(orderId)!;
    sim.setWebhookUrl(undefined); // record, do not send: we deliver them in the wrong order ourselves
    const inTransit = await sim.advance(orderId, 'in_transit');
    const delivered = await sim.advance(orderId, 'delivered');
    sim.setWebhookUrl(`${t.baseUrl}/webhooks/shopify`);
    for (const webhook of [...delivered, ...inTransit]) expect((await sim.redeliver(webhook)).status).toBe(200);
    await waitForStatus(t, fulfillmentId, 'delivered');
    await webhooksProcessed(since); // the late one included, before the history is read
    const statuses = (await history(fulfillmentId)).map((e) => e.status);
    // API.md: status only moves forward and every change is one event — nothing after delivered, no repeats.
    expect(statuses.at(-1)).toBe('delivered');
    expect(statuses.filter((s) => s === 'delivered')).toHaveLength(1);
    expect(new Set(statuses).size).toBe(statuses.length);
    expect((await fulfillmentRow(t, fulfillmentId)).external_id).toBe(order.id);
  });

  it('when a fulfillments/create with other tracking arrives after delivered, then nothing changes: status and tracking stay', async () => {
    const since = new Date();
    const { orderId, fulfillmentId } = await shippedOrder();
    await sim.advance(orderId, 'delivered');
    const delivered = await waitForStatus(t, fulfillmentId, 'delivered');
    expect(delivered.tracking_number).toMatch(/^1Z/);
    const order = sim.findOrder(orderId)!;
    const late = await sim.sendWebhook('fulfillments/create', { id: 1, order_id: order.numericId, status: 'success', shipment_status: null, tracking_number: 'LATE-999', tracking_url: 'https://late.example/LATE-999' });
    expect(late.status).toBe(200);
    await webhooksProcessed(since);
    expect((await history(fulfillmentId)).map((e) => e.status)).toEqual(['pending', 'processing', 'shipped', 'delivered']);
    const after = await fulfillmentRow(t, fulfillmentId);
    expect(after.status).toBe('delivered');
    expect(after.tracking_number).toBe(delivered.tracking_number);
    expect(after.tracking_url).toBe(delivered.tracking_url);
  });

  it('when "delivered" came without tracking and the fulfillment with its tracking comes late, then the tracking is filled in and nothing else changes', async () => {
    const since = new Date();
    const { fulfillmentId } = await shippedOrder();
    const numericId = (await fulfillmentRow(t, fulfillmentId)).external_id!.split('/').pop()!;
    const delivered = await sim.sendWebhook('fulfillment_events/create', { id: 11, order_id: Number(numericId), status: 'delivered', message: 'left at the door' });
    expect(delivered.status).toBe(200);
    expect((await waitForStatus(t, fulfillmentId, 'delivered')).tracking_number).toBeNull();
    const late = await sim.sendWebhook('fulfillments/create', { id: 12, order_id: Number(numericId), status: 'success', shipment_status: null, tracking_company: 'DHL Express', tracking_number: 'JD0001', tracking_url: 'https://track.example/JD0001' });
    expect(late.status).toBe(200);
    await webhooksProcessed(since);
    const after = await fulfillmentRow(t, fulfillmentId);
    expect(after).toMatchObject({ status: 'delivered', tracking_number: 'JD0001', tracking_url: 'https://track.example/JD0001' });
    expect((await history(fulfillmentId)).map((e) => e.status)).toEqual(['pending', 'processing', 'delivered']);
  });

  it('when a webhook names the order by its GID, or Shopify cancels the fulfillment, then the GID matches and a cancelled fulfillment ships nothing', async () => {
    const since = new Date();
    const { fulfillmentId } = await shippedOrder();
    const gid = (await fulfillmentRow(t, fulfillmentId)).external_id!;
    // A cancelled (or failed) fulfillment is news for the history, not a parcel on its way.
    const cancelledFulfillment = await sim.sendWebhook('fulfillments/update', { id: 21, order_id: gid, status: 'cancelled', shipment_status: null, tracking_number: null });
    expect(cancelledFulfillment.status).toBe(200);
    await webhooksProcessed(since);
    expect((await fulfillmentRow(t, fulfillmentId)).status).toBe('processing');
    const events = await history(fulfillmentId);
    expect(events.map((e) => e.status)).toEqual(['pending', 'processing', 'processing']);
    expect(events.at(-1)!.detail).toMatch(/cancelled/);
    const shipped = await sim.sendWebhook('fulfillments/create', { id: 22, order_id: gid, status: 'success', shipment_status: null, tracking_number: 'GID-1' });
    expect(shipped.status).toBe(200);
    expect((await waitForStatus(t, fulfillmentId, 'shipped')).tracking_number).toBe('GID-1');
  });

  it('when orders/fulfilled lists a cancelled fulfillment before the live one, then the tracking is the live parcel\'s', async () => {
    const { orderId, fulfillmentId } = await shippedOrder();
    const order = sim.findOrder(orderId)!;
    const fulfilled = await sim.sendWebhook('orders/fulfilled', {
      id: order.numericId, admin_graphql_api_id: order.id, tags: `bb-order-${orderId}`,
      fulfillments: [
        { id: 1, status: 'cancelled', tracking_number: 'VOID-1', tracking_url: 'https://track.example/VOID-1' },
        { id: 2, status: 'success', tracking_number: 'LIVE-2', tracking_url: 'https://track.example/LIVE-2' },
      ],
    });
    expect(fulfilled.status).toBe(200);
    expect(await waitForStatus(t, fulfillmentId, 'shipped')).toMatchObject({ tracking_number: 'LIVE-2', tracking_url: 'https://track.example/LIVE-2' });
  });

  it('when a carrier failure webhook arrives after delivered, then the delivered history gets no event', async () => {
    const since = new Date();
    const { orderId, fulfillmentId } = await shippedOrder();
    await sim.advance(orderId, 'delivered');
    await waitForStatus(t, fulfillmentId, 'delivered');
    await webhooksProcessed(since);
    const order = sim.findOrder(orderId)!;
    const lateSince = new Date();
    const late = await sim.sendWebhook('fulfillments/update', { id: 1, order_id: order.numericId, status: 'success', shipment_status: 'failure' });
    expect(late.status).toBe(200);
    const lateEvent = await sim.sendWebhook('fulfillment_events/create', { id: 2, order_id: order.numericId, status: 'failure', message: 'late carrier scan' });
    expect(lateEvent.status).toBe(200);
    await webhooksProcessed(lateSince);
    expect((await history(fulfillmentId)).map((e) => e.status)).toEqual(['pending', 'processing', 'shipped', 'delivered']);
    expect((await fulfillmentRow(t, fulfillmentId)).status).toBe('delivered');
  });

  it('when a carrier failure webhook arrives while shipped, then it is recorded in the history and the status stays shipped', async () => {
    const since = new Date();
    const { orderId, fulfillmentId } = await shippedOrder();
    await sim.advance(orderId, 'failure');
    await waitForStatus(t, fulfillmentId, 'shipped');
    await webhooksProcessed(since);
    const events = await history(fulfillmentId);
    expect(events.map((e) => e.status)).toEqual(['pending', 'processing', 'shipped', 'shipped', 'shipped']);
    expect(events.at(-1)!.detail).toMatch(/failure/);
  });

  it('when a storm of webhooks for many parcels arrives at once, shuffled, then every parcel is delivered within seconds, not one webhook per polling tick', async () => {
    const parcels = await Promise.all(Array.from({ length: 15 }, () => shippedOrder()));
    sim.setWebhookUrl(undefined); // recorded now, sent below all at once in a shuffled order
    const recorded = (await Promise.all(parcels.map(async ({ orderId }) => [
      ...(await sim.advance(orderId, 'in_transit')),
      ...(await sim.advance(orderId, 'delivered')),
    ]))).flat();
    sim.setWebhookUrl(`${t.baseUrl}/webhooks/shopify`);
    const shuffled = recorded.map((webhook) => ({ webhook, key: Math.random() })).sort((a, b) => a.key - b.key).map((x) => x.webhook);
    const since = new Date();
    const answers = await Promise.all(shuffled.map((webhook) => sim.redeliver(webhook)));
    expect(answers.map((a) => a.status)).toEqual(shuffled.map(() => 200));
    expect(shuffled.length).toBe(15 * 6);
    // 90 webhooks; one job per polling tick (0.5 s) took 45 s. Processing keeps up with the storm.
    await waitFor(async () => {
      const { rows } = await t.runtime.deps.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM fulfillments WHERE id = ANY($1::uuid[]) AND status = 'delivered'`,
        [parcels.map((p) => p.fulfillmentId)],
      );
      return rows[0]!.n === parcels.length || undefined;
    }, 'every parcel delivered', 15_000);
    await webhooksProcessed(since);
    for (const { fulfillmentId } of parcels) {
      const statuses = (await history(fulfillmentId)).map((e) => e.status);
      expect(statuses.at(-1)).toBe('delivered');
      expect(new Set(statuses).size).toBe(statuses.length); // forward only, one event per change
    }
  });

  it('when Shopify cancels the order, then the fulfillment is cancelled and the gems are refunded once', async () => {
    const { orderId, fulfillmentId, player } = await buyMerch(t);
    await waitForStatus(t, fulfillmentId, 'processing');

    const [cancelled] = await sim.advance(orderId, 'cancel');
    await waitForStatus(t, fulfillmentId, 'cancelled');
    await sim.redeliver(cancelled!);
    await sim.sendWebhook('orders/cancelled', JSON.parse(cancelled!.body)); // a second, distinct cancellation event
    // Only this order's events: earlier tests' events for other orders may still be retrying.
    const shopifyOrderId = String(JSON.parse(cancelled!.body).id);
    await waitFor(async () => {
      const { rows } = await t.runtime.deps.db.query<{ pending: number; total: number }>(
        `SELECT count(*) FILTER (WHERE processed_at IS NULL)::int AS pending, count(*)::int AS total
           FROM webhook_events WHERE topic = 'orders/cancelled' AND payload->>'id' = $1`,
        [shopifyOrderId],
      );
      return (rows[0]!.total === 2 && rows[0]!.pending === 0) || undefined;
    }, 'both cancellation webhooks processed');
    const wallet = await t.request('GET', '/user/wallet', { token: player.token });
    expect(wallet.body.balance).toBe(500);
  });

  it('when Shopify cancels the order of a dead-lettered parcel, then the line is cancelled and the gems come back once: a retry can no longer ship what was refunded', async () => {
    sim.injectFaults({ userErrors: { count: 1, message: 'Address is not deliverable' } });
    const { orderId, fulfillmentId, player } = await buyMerch(t);
    await waitForStatus(t, fulfillmentId, 'failed');
    // The order reached Shopify after all (an operator created it there by hand, with our tag) and is cancelled there.
    const payload = { id: 555000111, admin_graphql_api_id: 'gid://shopify/Order/555000111', tags: `bb-order-${orderId}`, cancel_reason: 'customer' };
    expect((await sim.sendWebhook('orders/cancelled', payload)).status).toBe(200);
    await waitForStatus(t, fulfillmentId, 'cancelled');
    expect((await sim.sendWebhook('orders/cancelled', payload)).status).toBe(200); // a second event: nothing more
    await waitFor(async () => {
      const { rows } = await t.runtime.deps.db.query<{ pending: number }>(
        `SELECT count(*) FILTER (WHERE processed_at IS NULL)::int AS pending FROM webhook_events WHERE topic = 'orders/cancelled' AND payload->>'id' = '555000111'`,
      );
      return rows[0]!.pending === 0 || undefined;
    }, 'both cancellation webhooks processed');
    expect((await t.request('GET', '/user/wallet', { token: player.token })).body.balance).toBe(500);
    const retry = await t.request('POST', `/admin/fulfillments/${fulfillmentId}/retry`, { token: t.adminToken });
    expect(retry.status).toBe(409);
    expect((await history(fulfillmentId)).map((e) => e.status)).toEqual(['pending', 'failed', 'cancelled']);
  });

  it('when Shopify cancels a parcel whose order cannot be refunded (its gem pack already spent), then the line is cancelled with the reason for operators and the webhook is not retried for ever', async () => {
    const shirt = await createItem(t, { deliveryType: 'shopify' });
    const pack = await createItem(t, { deliveryType: 'functional', effect: { gems: 400 } });
    const player = await t.player();
    await t.request('GET', '/user/wallet', { token: player.token });
    const { db } = t.runtime.deps;
    const { wallet } = t.runtime.services;
    await db.withTx((tx) => wallet.creditUserInTx(tx, { userId: player.id, amount: 300, counterparty: 'issuance', reason: 'grant', referenceType: 'grant', referenceId: randomUUID() }));
    const { rows: [listing] } = await db.query<{ id: string }>(`INSERT INTO listings (title, price, delivery_type) VALUES ('Shirt and gems', 300, 'mixed') RETURNING id`);
    await db.query('INSERT INTO listing_items (listing_id, item_id, quantity, position) VALUES ($1, $2, 1, 1), ($1, $3, 1, 2)', [listing!.id, shirt, pack]);
    const bought = await t.request('POST', '/store/purchases', { token: player.token, headers: { 'idempotency-key': randomUUID() }, body: { listingId: listing!.id, shippingAddress: ADDRESS } });
    expect(bought.status).toBe(201);
    expect(bought.body.balanceAfter).toBe(400);
    const orderId = bought.body.id as string;
    const fulfillmentId = bought.body.lines.find((l: { deliveryType: string }) => l.deliveryType === 'shopify').fulfillment.id as string;
    await waitForStatus(t, fulfillmentId, 'processing');
    // The player spends the pack's gems: the order can no longer be reversed (the refund would take them back).
    await db.withTx((tx) => wallet.debitUserInTx(tx, { userId: player.id, amount: 400, counterparty: 'store_revenue', reason: 'purchase', referenceType: 'order', referenceId: randomUUID() }));

    const [cancelled] = await sim.advance(orderId, 'cancel');
    expect(cancelled!.status).toBe(200);
    const row = await waitForStatus(t, fulfillmentId, 'cancelled');
    expect(row.last_error).toMatch(/Shopify cancelled the order but it could not be refunded: .*gems/);
    await waitFor(async () => {
      const { rows } = await db.query<{ processed: boolean }>(`SELECT processed_at IS NOT NULL AS processed FROM webhook_events WHERE external_id = $1`, [cancelled!.webhookId]);
      return rows[0]?.processed || undefined;
    }, 'the cancellation webhook processed once');
    const order = await t.request('GET', `/user/purchases/${orderId}`, { token: player.token });
    expect(order.body.status).toBe('completed'); // not refunded: an operator decides
    expect((await t.request('GET', '/user/wallet', { token: player.token })).body.balance).toBe(0);
    const listed = await t.request('GET', '/admin/fulfillments?status=cancelled&limit=100', { token: t.adminToken });
    expect(listed.body.items.find((f: { id: string }) => f.id === fulfillmentId).error).toMatch(/could not be refunded/);
  });

  it('when the service cannot be reached as Shopify sends a webhook, then the simulator retries it as Shopify does and the parcel moves once the service answers', async () => {
    const { orderId, fulfillmentId } = await shippedOrder();
    sim.setWebhookUrl('http://127.0.0.1:9/webhooks/shopify'); // the service is down (nothing listens there)
    const sent = await sim.advance(orderId, 'fulfill');
    expect(sent.map((w) => w.status)).toEqual([null, null]);
    sim.setWebhookUrl(`${t.baseUrl}/webhooks/shopify`); // and back
    await waitForStatus(t, fulfillmentId, 'shipped', 15_000);
    await waitFor(async () => sent.every((w) => w.status === 200) || undefined, 'both webhooks answered 200 on a retry');
    expect(sent.every((w) => (w.attempts ?? 0) >= 2)).toBe(true);
    // A retry is the same webhook (same ids, same bytes): stored once.
    const { rows } = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events WHERE external_id = ANY($1::text[])', [sent.map((w) => w.webhookId)]);
    expect(rows[0]!.n).toBe(2);
  });

  it('when webhooks were lost, then reconciliation asks Shopify and catches up', async () => {
    const { orderId, fulfillmentId } = await shippedOrder();
    sim.setWebhookUrl(undefined);
    await sim.advance(orderId, 'delivered');
    sim.setWebhookUrl(`${t.baseUrl}/webhooks/shopify`);
    expect((await fulfillmentRow(t, fulfillmentId)).status).toBe('processing');
    const refund = () => Promise.reject(new Error('no refund expected'));
    await t.runtime.services.fulfillment.reconcileShopify(refund, { minAgeSeconds: 0 });
    const row = await fulfillmentRow(t, fulfillmentId);
    expect(row.status).toBe('delivered');
    expect(row.tracking_number).toMatch(/^1Z/);
    expect((await history(fulfillmentId)).at(-1)!.detail).toMatch(/reconciliation/);
  });
});
