// What a player reads of a delivery that failed: the order's history says that delivery failed and is retried, in
// words meant for players. The mail server's or Shopify's own message (host names, ports, internal codes) stays on
// the operators' view (GET /admin/fulfillments), where the real worker records it.
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing, db, fundedPlayer, key } from './fixtures.js';

const INTERNAL_HOST = 'mx1.internal.bb.example';
let t: TestApp;
let refusing: Server;
let port: number;
beforeAll(async () => {
  // A mail server that greets with a refusal naming its internal host: every delivery attempt fails.
  refusing = createServer((socket) => socket.end(`421 ${INTERNAL_HOST} Service not available, closing channel\r\n`));
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  port = (refusing.address() as { port: number }).port;
  t = await startTestApp({ workers: true, env: { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'store@bb.test', JOB_RETRY_BASE_MS: '100', JOB_MAX_ATTEMPTS: '2' } });
});
afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => refusing?.close(resolve));
});

async function waitUntilFailed(fulfillmentId: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { rows } = await db(t).query<{ status: string }>('SELECT status FROM fulfillments WHERE id = $1', [fulfillmentId]);
    if (rows[0]?.status === 'failed') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fulfillment ${fulfillmentId} never failed`);
}

describe("a player's order whose delivery failed for real", () => {
  it("when the worker dead-letters the line, then the player's history tells so without the mail server's own words", async () => {
    const voucher = await createItem(t, { kind: 'voucher', consumable: true, deliveryType: 'email' });
    await db(t).query(`INSERT INTO voucher_codes (item_id, code) VALUES ($1, 'CODE-FAILS')`, [voucher]);
    const listing = await createListing(t, { price: 5, items: [{ itemId: voucher }] });
    const player = await fundedPlayer(t, 5);
    const order = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId: listing } });
    expect(order.status).toBe(201);
    const fulfillmentId = order.body.lines[0].fulfillment.id;
    await waitUntilFailed(fulfillmentId);

    // The operators' view keeps the real message (here: the mail server's refusal, naming its host).
    const admin = await t.request('GET', `/admin/fulfillments/${fulfillmentId}`, { token: t.adminToken });
    expect(JSON.stringify(admin.body)).toContain(INTERNAL_HOST);

    const detail = await t.request('GET', `/user/purchases/${order.body.id}`, { token: player.token });
    expect(detail.status).toBe(200);
    const line = detail.body.lines[0].fulfillment;
    expect(line.status).toBe('failed');
    expect(line.events.map((e: { status: string }) => e.status)).toEqual(['pending', 'pending', 'failed']);
    for (const event of [...line.events, ...detail.body.events]) {
      expect(event.detail, JSON.stringify(event)).not.toMatch(/internal|421|greeting|socket/i);
    }
    expect(line.events[1].detail).toMatch(/delivery attempt 1 failed/);
    expect(line.events[2].detail).toMatch(/delivery failed/);
    expect(JSON.stringify(detail.body)).not.toContain(INTERNAL_HOST);

    // An operator retries it: the player reads that support did, not which operator.
    const adminId = randomUUID();
    const retried = await t.request('POST', `/admin/fulfillments/${fulfillmentId}/retry`, { token: await t.token('admin', adminId), headers: key() });
    expect(retried.status, retried.text).toBeLessThan(300);
    const afterRetry = await t.request('GET', `/user/purchases/${order.body.id}`, { token: player.token });
    expect(afterRetry.text).not.toContain(adminId);
    expect(afterRetry.body.lines[0].fulfillment.events[3]).toMatchObject({ status: 'pending', detail: 'retry requested by support' });
  });

  it("when the Shopify order of a refunded parcel could not be cancelled, then the player's history shows neither Shopify's words nor the operators' instructions", async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 10 });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 5);
    const order = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId: listing } });
    const fulfillmentId = order.body.lines[0].fulfillment.id;
    // The events shopify/cancel.ts writes when Shopify refuses the cancel (here on an inventory line, whose history is read the same way).
    await db(t).query(
      `INSERT INTO fulfillment_events (fulfillment_id, status, detail) VALUES
         ($1, 'cancelled', 'shopify cancel attempt 1 failed: Shopify 502 at shop-internal.myshopify.com; retrying in 2 s'),
         ($1, 'cancelled', 'shopify cancel attempt 2 failed for good: Shopify 502 at shop-internal.myshopify.com — the parcel may still ship; cancel the order in Shopify')`,
      [fulfillmentId],
    );
    const detail = await t.request('GET', `/user/purchases/${order.body.id}`, { token: player.token });
    // `Shopify 502`, not a bare 502: the answer carries random UUIDs, and one holding the digits 502 (…-4502-…) is no leak.
    expect(detail.text).not.toMatch(/shop-internal|Shopify 502|cancel the order in Shopify/);
    expect(detail.body.lines[0].fulfillment.events.slice(-2).map((e: { detail: string }) => e.detail)).toEqual([
      'stopping the parcel: attempt 1 failed, retrying',
      'the parcel could not be stopped automatically; support will stop it',
    ]);
  });
});
