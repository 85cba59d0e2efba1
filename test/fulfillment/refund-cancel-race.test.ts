// An operator refunds an order at the moment Shopify's orders/cancelled for it is applied. Both refund: the webhook's
// transaction holds the parcel's line when it refunds, and the operator's refund used to lock the order first and the
// lines after, so each waited for the other — a deadlock PostgreSQL broke after a second, one of them retried.
// Both now lock the order's lines first, then its row. Real PostgreSQL; the race is forced, not hoped for.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { buyMerch, fulfillmentRow, waitFor } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const balanceOf = async (token: string) => (await t.request('GET', '/user/wallet', { token })).body.balance as number;

describe("an operator's refund racing Shopify's cancellation of the same order", () => {
  it('when the refund arrives while the cancellation holds the parcel, then it waits its turn: no deadlock, the gems come back once', async () => {
    const { db } = t.runtime.deps;
    const { orderId, fulfillmentId, player } = await buyMerch(t);
    const shopifyOrder = `gid://shopify/Order/${Date.now()}`;
    await db.query(`UPDATE fulfillments SET external_id = $2, status = 'processing' WHERE id = $1`, [fulfillmentId, shopifyOrder]);
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO webhook_events (source, external_id, topic, payload) VALUES ('shopify', $1, 'orders/cancelled', $2) RETURNING id`,
      [randomUUID(), { admin_graphql_api_id: shopifyOrder, tags: `bb-order-${orderId}`, cancel_reason: 'customer' }],
    );
    // PostgreSQL counts the deadlocks it broke, per database (each test file has its own).
    const deadlocks = async () => (await db.query<{ n: number }>('SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n;
    const before = await deadlocks();

    let operatorRefund: Promise<{ status: number }> | undefined;
    await t.runtime.services.fulfillment.processShopifyWebhook(rows[0]!.id, async (tx, id, meta) => {
      // The webhook holds the parcel's line now. The operator's refund starts and must be blocked before this one goes on.
      operatorRefund ??= t.request('POST', `/admin/orders/${orderId}/refund`, { token: t.adminToken, headers: { 'idempotency-key': randomUUID() }, body: { reason: 'customer asked' } });
      await waitFor(async () => {
        const { rows: waiting } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        return waiting[0]!.n > 0 || undefined;
      }, 'the operator refund to wait for a lock', 10_000);
      return t.runtime.services.purchases.refundOrderInTx(tx, id, meta);
    });
    const answered = await operatorRefund!;

    expect(answered.status).toBeLessThan(500);
    expect(await deadlocks() - before).toBe(0);
    expect((await fulfillmentRow(t, fulfillmentId)).status).toBe('cancelled');
    expect(await balanceOf(player.token)).toBe(500); // 300 paid back once, on top of the 200 left
    const { rows: transfers } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger_transfers WHERE reason = 'refund' AND reference_type = 'order' AND reference_id = $1`, [orderId]);
    expect(transfers[0]!.n).toBe(1);
  });
});
