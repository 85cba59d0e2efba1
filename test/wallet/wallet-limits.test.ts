// Amounts at the edge of what a wallet and a JSON number can hold: a balance must stay exact as a JS number
// (the int8 parser turns bigint into number), and the ledger verifier must not be fooled by float sums.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { balanceOf, count, createItem, createListing, expectLedgerConsistent, key } from '../purchases/fixtures.js';
import { MAX_WALLET_BALANCE } from '../../src/modules/wallet/wallet.schemas.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

/** A free listing of 10,000 gem packs of 10^9 gems each: buying 100 of it credits 10^15 gems. */
async function hugeGemPack(): Promise<string> {
  const itemId = await createItem(t, { kind: 'gem_pack', consumable: true, deliveryType: 'functional', effect: { gems: 1_000_000_000 } });
  return createListing(t, { price: 0, items: [{ itemId, quantity: 10_000 }] });
}

describe('the largest balance a wallet holds', () => {
  it('is far below 2^53, so every balance is an exact JS number', () => {
    expect(Number.isSafeInteger(MAX_WALLET_BALANCE)).toBe(true);
    expect(MAX_WALLET_BALANCE).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER / 8);
  });

  it('when a purchase would credit a wallet past it, then 409 limit_reached, no order, and the balance stays exact', async () => {
    const listingId = await hugeGemPack();
    const player = await t.player();
    let balance = 0;
    for (let attempt = 0; ; attempt += 1) {
      expect(attempt, 'a wallet must refuse credits past MAX_WALLET_BALANCE').toBeLessThan(12);
      const response = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId, quantity: 100 } });
      if (response.status !== 201) {
        expect(response.status).toBe(409);
        expect(response.body.code).toBe('limit_reached');
        break;
      }
      balance += 1e15;
      expect(response.body.balanceAfter).toBe(balance);
      expect(balance).toBeLessThanOrEqual(MAX_WALLET_BALANCE);
    }
    expect(await balanceOf(t, player.id)).toBe(balance);
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(balance / 1e15);
    const wallet = await t.request('GET', '/user/wallet', { token: player.token });
    expect(wallet.body.balance).toBe(balance);
    await expectLedgerConsistent(t);
  });

  it('when an adjustment, a grant or a top-up would go past it, then 409 limit_reached and nothing is credited', async () => {
    const listingId = await hugeGemPack();
    const player = await t.player();
    for (let attempt = 0; ; attempt += 1) {
      expect(attempt, 'a wallet must refuse credits past MAX_WALLET_BALANCE').toBeLessThan(12);
      const response = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId, quantity: 100 } });
      if (response.status !== 201) break;
    }
    const before = await balanceOf(t, player.id);
    const room = MAX_WALLET_BALANCE - before;
    const over = Math.min(room + 1, 1_000_000_000);
    if (room < 1_000_000_000) {
      const adjusted = await t.request('POST', `/admin/users/${player.id}/wallet/adjustments`, { token: t.adminToken, headers: key(), body: { amount: over, reason: 'too much' } });
      expect(adjusted.status).toBe(409);
      expect(adjusted.body.code).toBe('limit_reached');
      const granted = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId: player.id, gems: over, reason: 'too much' } });
      expect(granted.status).toBe(409);
      expect(granted.body.code).toBe('limit_reached');
      expect(await count(t, 'grants WHERE user_id = $1', [player.id])).toBe(0);
      const raw = JSON.stringify({ eventId: `full-${player.id}`, userId: player.id, gems: over, amountCents: 1, currency: 'USD' });
      const signature = createHmac('sha256', t.config.paymentsWebhookSecret).update(raw).digest('hex');
      const topUp = await t.request('POST', '/webhooks/payments', { body: raw, headers: { 'x-signature': signature } });
      expect(topUp.status).toBe(409);
      expect(topUp.body.code).toBe('limit_reached');
      expect(await count(t, "webhook_events WHERE source = 'payments' AND external_id = $1", [`full-${player.id}`])).toBe(0);
    }
    expect(await balanceOf(t, player.id)).toBe(before);
    await expectLedgerConsistent(t);
  });
});
