// The verifier's own arithmetic: every sum it judges is exact (PostgreSQL numeric), never a float sum in JS.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing, expectLedgerConsistent, key } from '../purchases/fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('the ledger verifier', () => {
  it('when wallets together hold more than 2^53 gems next to odd small amounts, then it still finds the ledger balanced', async () => {
    // 10 wallets of 10^15 gems each (a free listing of 10,000 packs of 10^9 gems, bought 100 at a time).
    const itemId = await createItem(t, { kind: 'gem_pack', consumable: true, deliveryType: 'functional', effect: { gems: 1_000_000_000 } });
    const listingId = await createListing(t, { price: 0, items: [{ itemId, quantity: 10_000 }] });
    for (let i = 0; i < 10; i += 1) {
      const player = await t.player();
      const response = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId, quantity: 100 } });
      expect(response.status).toBe(201);
    }
    // One gem from each of three system accounts: the exact totals are 10^16 + 3 (wallets), -(10^16 + 1) (issuance),
    // -1 (adjustments), -1 (top-ups); summed as floats in any order they never come to 0.
    const small = await t.player();
    await t.request('GET', '/user/wallet', { token: small.token });
    const adjusted = await t.request('POST', `/admin/users/${small.id}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount: 1, reason: 'odd' } });
    expect(adjusted.status).toBe(201);
    const granted = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId: small.id, gems: 1, reason: 'odd' } });
    expect(granted.status).toBe(201);
    const raw = JSON.stringify({ eventId: 'odd-1', userId: small.id, gems: 1, amountCents: 1, currency: 'USD' });
    const signature = createHmac('sha256', t.config.paymentsWebhookSecret).update(raw).digest('hex');
    const topUp = await t.request('POST', '/webhooks/payments', { body: raw, headers: { 'x-signature': signature } });
    expect(topUp.status).toBe(200);
    await expectLedgerConsistent(t);
  });

  it("when an earlier entry's balanceAfter disagrees with the entries before it (the latest one still right), then it reports that entry", async () => {
    // A player reads every balanceAfter of their history, not only the last: each must be the sum of the entries up to it.
    const player = await t.player();
    for (const gems of [10, 20, 30]) {
      const granted = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId: player.id, gems, reason: 'chain' } });
      expect(granted.status).toBe(201);
    }
    await expectLedgerConsistent(t);
    const { db } = t.runtime.deps;
    const { rows } = await db.query<{ id: string }>(
      `SELECT e.id FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id WHERE a.user_id = $1 ORDER BY e.id`, [player.id]);
    expect(rows.map((row) => String(row.id))).toHaveLength(3);
    await db.query('UPDATE ledger_entries SET balance_after = 25 WHERE id = $1', [rows[1]!.id]);
    try {
      const report = await t.runtime.services.wallet.verifyLedger();
      expect(report.ok).toBe(false);
      expect(report.violations).toEqual([`entry ${rows[1]!.id} of user ${player.id}: balance_after 25, but the entries up to it sum to 30`]);
    } finally {
      await db.query('UPDATE ledger_entries SET balance_after = 30 WHERE id = $1', [rows[1]!.id]);
    }
    await expectLedgerConsistent(t);
  });
});
