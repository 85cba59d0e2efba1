// A refund that commits after the worker leased a voucher line but before the mail left: the worker looks at the line
// again right before talking to SMTP and sends nothing. (It used to send the codes anyway — the player had both the
// gems back and the codes — and only noted afterwards that they "went out". A refund landing during the SMTP
// conversation itself still cannot stop the mail: refunds.test.ts.)
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createUser, fulfillmentRow, placeOrder, startSmtp, type TestSmtp } from './fixtures.js';

let t: TestApp;
let smtp: TestSmtp;

beforeAll(async () => {
  smtp = await startSmtp();
  t = await startTestApp({ workers: true, env: { SMTP_URL: smtp.url, MAIL_FROM: 'store@bb.test', JOB_RETRY_BASE_MS: '100' } });
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

describe('a refund between the lease and the mail', () => {
  it('when the order is refunded after the worker took the line but before it sent the mail, then no mail is sent and the line stays cancelled', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    await t.request('POST', `/admin/items/${itemId}/vouchers`, { token: t.adminToken, body: { codes: ['RACE-1'] } });
    const userId = await createUser(t);

    // Hold the worker inside its delivery attempt (the lease is taken, the mail not yet sent) while the refund commits.
    const users = t.runtime.services.users;
    const findUser = users.findUser.bind(users);
    let entered!: () => void;
    const inAttempt = new Promise<void>((resolve) => { entered = resolve; });
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    users.findUser = async (executor, id) => {
      if (id === userId) {
        entered();
        await released;
      }
      return findUser(executor, id);
    };
    try {
      const { orderId, fulfillments: [f] } = await placeOrder(t, { userId, items: [{ itemId }] });
      await inAttempt;
      expect((await fulfillmentRow(t, f!.fulfillmentId)).attempts).toBe(1);
      const refunded = await t.request('POST', `/admin/orders/${orderId}/refund`, { token: t.adminToken, headers: { 'idempotency-key': randomUUID() }, body: {} });
      expect(refunded.status).toBe(200);
      release();

      const history = async () => (await t.request('GET', `/admin/fulfillments/${f!.fulfillmentId}`, { token: t.adminToken })).body;
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // the attempt finishes; a mail would be in by now
      expect(smtp.mails.filter((m) => m.messageId?.includes(f!.fulfillmentId))).toHaveLength(0);
      const body = await history();
      expect(body.status).toBe('cancelled');
      expect(body.events.some((e: { detail: string }) => e.detail.includes('went out'))).toBe(false);
    } finally {
      users.findUser = findUser;
      release?.();
    }
  });
});
