// A voucher pool is shared by every buyer, and codes are claimed with SKIP LOCKED: a purchase that holds codes only
// to roll back (its wallet was short) makes the buyers next to it skip free codes and answer out_of_stock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { balanceOf, count, createItem, createListing, expectLedgerConsistent, fundedPlayer, key } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const buy = (token: string, body: unknown) => t.request('POST', '/store/purchases', { token, headers: key(), body });

describe('a voucher pool under a storm of buyers, some of them short of gems', () => {
  it('when 10 funded and 20 short buyers race for 10 codes, then every funded buyer gets a code, every short one insufficient_funds, and the pool is empty', async () => {
    for (let round = 0; round < 3; round++) {
      const voucher = await createItem(t, { kind: 'voucher', consumable: true, deliveryType: 'email' });
      const upload = await t.request('POST', `/admin/items/${voucher}/vouchers`, {
        token: t.adminToken,
        body: { codes: Array.from({ length: 10 }, (_, i) => `POOL-${round}-${i}-${voucher.slice(0, 8)}`) },
      });
      expect(upload.status).toBeLessThan(300);
      const listing = await createListing(t, { price: 10, items: [{ itemId: voucher }] });
      const funded = await Promise.all(Array.from({ length: 10 }, () => fundedPlayer(t, 10)));
      const short = await Promise.all(Array.from({ length: 20 }, () => fundedPlayer(t, 5)));
      // The short buyers surround the funded ones, so their transactions overlap the funded buyers' claims.
      const [before, fundedAnswers, after] = await Promise.all([
        Promise.all(short.slice(0, 10).map((p) => buy(p.token, { listingId: listing }))),
        Promise.all(funded.map((p) => buy(p.token, { listingId: listing }))),
        Promise.all(short.slice(10).map((p) => buy(p.token, { listingId: listing }))),
      ]);
      expect(fundedAnswers.map((r) => `${r.status} ${r.body.code ?? ''}`), `round ${round}`).toEqual(Array(10).fill('201 '));
      for (const r of [...before, ...after]) expect([r.status, r.body.code]).toEqual([409, 'insufficient_funds']);
      expect(await count(t, 'orders WHERE listing_id = $1', [listing])).toBe(10);
      expect(await count(t, 'voucher_codes WHERE item_id = $1 AND claimed_at IS NULL', [voucher])).toBe(0);
      for (const p of funded) expect(await balanceOf(t, p.id)).toBe(0);
      for (const p of short) expect(await balanceOf(t, p.id)).toBe(5);
    }
    await expectLedgerConsistent(t);
  });
});
