import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { codesInMail, createItem, createUser, fulfillmentRow, placeOrder, startSmtp, waitFor, waitForStatus, type TestSmtp } from './fixtures.js';

let t: TestApp;
let smtp: TestSmtp;

beforeAll(async () => {
  smtp = await startSmtp();
  t = await startTestApp({ workers: true, env: { SMTP_URL: smtp.url, MAIL_FROM: 'Store <store@bb.test>' } });
});
afterAll(async () => {
  await t?.close();
  await smtp?.stop();
});

const upload = (itemId: string, codes: unknown) => t.request('POST', `/admin/items/${itemId}/vouchers`, { token: t.adminToken, body: { codes } });

describe('voucher code upload', () => {
  it('when codes repeat within the upload and against the pool, then they are counted as duplicates and stored once', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    const first = await upload(itemId, ['AAA-1', 'AAA-2', 'AAA-1', '  AAA-3  ']);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ added: 3, duplicates: 1 });
    const second = await upload(itemId, ['AAA-3', 'AAA-4']);
    expect(second.body).toMatchObject({ added: 1, duplicates: 1, available: 4 });
    const { rows } = await t.runtime.deps.db.query<{ code: string }>('SELECT code FROM voucher_codes WHERE item_id = $1 ORDER BY code', [itemId]);
    expect(rows.map((r) => r.code)).toEqual(['AAA-1', 'AAA-2', 'AAA-3', 'AAA-4']);
  });

  it('when a code holds a lone surrogate or a control character, then 400 and nothing is stored (it used to be stored as another code: U+FFFD)', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    for (const bad of ['\ud800GIFT', 'GIFT\udc00', 'GI\nFT', 'GI\u0007FT']) {
      const response = await upload(itemId, ['GOOD-1', bad]);
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    const { rows } = await t.runtime.deps.db.query('SELECT code FROM voucher_codes WHERE item_id = $1', [itemId]);
    expect(rows).toEqual([]);
    // Surrounding whitespace, line ends of a pasted list included, is still trimmed; an emoji is a code point, not a surrogate.
    expect((await upload(itemId, [' GOOD-2\r\n', 'GOOD-😀'])).body).toMatchObject({ added: 2, duplicates: 0 });
  });

  it('when 20 uploads of the same codes in different orders run at once, then every one answers 200 and each code is added once', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    const codes = Array.from({ length: 2000 }, (_, i) => `STORM-${i}`);
    const orders = [codes, [...codes].reverse(), [...codes.slice(1000), ...codes.slice(0, 1000)]];
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => upload(itemId, orders[i % orders.length])));
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    expect(responses.reduce((sum, r) => sum + r.body.added, 0)).toBe(2000);
    expect(responses.reduce((sum, r) => sum + r.body.duplicates, 0)).toBe(19 * 2000);
  });

  it('when the item is unknown, not delivered by email, or the codes are empty, then 404 / 409 / 400 and nothing is stored', async () => {
    expect((await upload('00000000-0000-4000-8000-000000000000', ['X'])).status).toBe(404);
    const inventoryItem = await createItem(t, { deliveryType: 'inventory' });
    const wrongType = await upload(inventoryItem, ['X']);
    expect(wrongType.status).toBe(409);
    expect(wrongType.body.code).toBe('invalid_state');
    const emailItem = await createItem(t, { deliveryType: 'email' });
    for (const codes of [[], ['   '], [''], ['x'.repeat(201)], [{ code: 'X' }], null]) {
      const response = await upload(emailItem, codes);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    const player = await t.player();
    expect((await t.request('POST', `/admin/items/${emailItem}/vouchers`, { token: player.token, body: { codes: ['X'] } })).status).toBe(403);
    const { rows } = await t.runtime.deps.db.query('SELECT 1 FROM voucher_codes WHERE item_id = ANY($1::uuid[])', [[inventoryItem, emailItem]]);
    expect(rows).toHaveLength(0);
  });
  it('when an operator deletes the item while its codes are being uploaded, then the upload waits and answers 404, never 500', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    const deleter = await t.runtime.deps.db.withTx(async (tx) => {
      // The DELETE holds the item's row; the upload arrives meanwhile, and the DELETE commits under it.
      await tx.query('DELETE FROM item_definitions WHERE id = $1', [itemId]);
      const uploading = upload(itemId, ['GONE-1', 'GONE-2']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { uploading };
    });
    const response = await deleter.uploading;
    expect(response.status, response.text).toBe(404);
    expect(response.body.code).toBe('not_found');
    const { rows } = await t.runtime.deps.db.query('SELECT 1 FROM voucher_codes WHERE item_id = $1', [itemId]);
    expect(rows).toEqual([]);
  });

  it('when codes are uploaded for a listed voucher, then the storefront shows the new stock at once, not after its cache expires', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    const listing = await t.request('POST', '/admin/listings', { token: t.adminToken, body: { title: 'Gift card', price: 10, items: [{ itemId, quantity: 1 }] } });
    expect(listing.status).toBe(201);
    const before = await t.request('GET', `/store/items/${listing.body.id}`);
    expect(before.body.stockRemaining).toBe(0); // read now, so the page is cached
    await upload(itemId, ['FRESH-1', 'FRESH-2', 'FRESH-3']);
    const after = await t.request('GET', `/store/items/${listing.body.id}`);
    expect(after.body.stockRemaining).toBe(3);
  });
});

describe('voucher delivery by email', () => {
  it('when eight players buy the same voucher at once, then each gets a different code in exactly one mail', async () => {
    const itemId = await createItem(t, { deliveryType: 'email', name: 'Steam Gift Card' });
    await upload(itemId, Array.from({ length: 10 }, (_, i) => `GIFT-${i}`));
    const users = await Promise.all(Array.from({ length: 8 }, () => createUser(t)));
    const orders = await Promise.all(users.map((userId) => placeOrder(t, { userId, items: [{ itemId }] })));
    expect(orders.every((o) => o.fulfillments[0]!.status === 'pending')).toBe(true);

    for (const order of orders) await waitForStatus(t, order.fulfillments[0]!.fulfillmentId, 'delivered');
    const mails = smtp.mails.filter((m) => orders.some((o) => m.messageId?.includes(o.fulfillments[0]!.fulfillmentId)));
    expect(mails).toHaveLength(8);
    const codes = mails.flatMap(codesInMail);
    expect(new Set(codes).size).toBe(8);
    expect(codes.every((code) => /^GIFT-\d$/.test(code))).toBe(true);
    expect(mails.every((m) => /multipart\/alternative/i.test(m.raw) && /text\/html/i.test(m.raw))).toBe(true);
    const { rows } = await t.runtime.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM voucher_codes WHERE item_id = $1 AND claimed_at IS NULL', [itemId]);
    expect(rows[0]!.n).toBe(2);
  });

  it('when the pool has fewer codes than the line needs, then out_of_stock and nothing is written', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    await upload(itemId, ['ONLY-ONE']);
    const userId = await createUser(t);
    await expect(placeOrder(t, { userId, items: [{ itemId, quantity: 2 }] })).rejects.toMatchObject({ code: 'out_of_stock' });
    const { rows } = await t.runtime.deps.db.query<{ orders: number; free: number }>(
      `SELECT (SELECT count(*)::int FROM orders WHERE user_id = $1) AS orders,
              (SELECT count(*)::int FROM voucher_codes WHERE item_id = $2 AND claimed_at IS NULL) AS free`,
      [userId, itemId],
    );
    expect(rows[0]).toEqual({ orders: 0, free: 1 });
  });

  it('when SMTP is down at first and comes back, then the mail goes out once and the fulfillment is delivered', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    await upload(itemId, ['RETRY-CODE']);
    const userId = await createUser(t);
    await smtp.stop();
    const before = smtp.mails.length;
    const { fulfillments: [f] } = await placeOrder(t, { userId, items: [{ itemId }] });
    const failedOnce = await waitFor(async () => {
      const row = await fulfillmentRow(t, f!.fulfillmentId);
      return row.attempts >= 1 && row.last_error ? row : undefined;
    }, 'a failed first attempt');
    expect(failedOnce.status).toBe('pending');
    await smtp.start();
    const delivered = await waitForStatus(t, f!.fulfillmentId, 'delivered');
    expect(delivered.attempts).toBeGreaterThanOrEqual(2);
    const mails = smtp.mails.slice(before).filter((m) => m.messageId?.includes(f!.fulfillmentId));
    expect(mails).toHaveLength(1);
    expect(codesInMail(mails[0]!)).toEqual(['RETRY-CODE']);
    const detail = await t.request('GET', `/admin/fulfillments/${f!.fulfillmentId}`, { token: t.adminToken });
    expect(detail.body.events.map((e: { status: string }) => e.status)).toEqual(['pending', 'pending', 'delivered']);
  });

  it('when the delivery job runs again after delivery, then no second mail is sent', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    await upload(itemId, ['ONCE-CODE']);
    const { fulfillments: [f] } = await placeOrder(t, { userId: await createUser(t), items: [{ itemId }] });
    await waitForStatus(t, f!.fulfillmentId, 'delivered');
    await t.runtime.services.fulfillment.deliver(f!.fulfillmentId, { id: 'a-replayed-job', retryCount: 0 });
    expect(smtp.mails.filter((m) => m.messageId?.includes(f!.fulfillmentId))).toHaveLength(1);
  });

  it('when the player has no email address, then the fulfillment fails at once with the reason, visible to operators', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    await upload(itemId, ['NOBODY-CODE']);
    const { fulfillments: [f] } = await placeOrder(t, { userId: await createUser(t, null), items: [{ itemId }] });
    const failed = await waitForStatus(t, f!.fulfillmentId, 'failed');
    expect(failed.last_error).toMatch(/no email/);
    const list = await t.request('GET', '/admin/fulfillments?status=failed', { token: t.adminToken });
    expect(list.body.items.map((i: { id: string }) => i.id)).toContain(f!.fulfillmentId);
  });

  it("when the player's email claim is not one address (a list, a display name, no domain), then no mail goes to anyone and the fulfillment fails at once with the reason", async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    const emails = ['buyer@players.test, someone-else@elsewhere.test', 'Buyer <buyer@players.test>', 'not-an-email', 'buyer@players.test\r\nBcc: x@elsewhere.test'];
    await upload(itemId, emails.map((_, i) => `ODD-ADDRESS-${i}`));
    const before = smtp.mails.length;
    for (const email of emails) {
      const { fulfillments: [f] } = await placeOrder(t, { userId: await createUser(t, email), items: [{ itemId }] });
      const failed = await waitForStatus(t, f!.fulfillmentId, 'failed');
      expect(failed.last_error).toMatch(/not a single email address/);
      expect(failed.attempts).toBe(1); // retrying cannot fix it: the identity provider owns the address
    }
    expect(smtp.mails.slice(before).flatMap((m) => m.to)).toEqual([]);
  });
});
