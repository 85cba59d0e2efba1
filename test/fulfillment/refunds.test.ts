// Refunds against fulfillment: a refund cancels every line that has not arrived — dead letters included — so
// nothing is delivered for an order whose gems went back.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createUser, fulfillmentRow, placeOrder, startSmtp, waitForStatus, type TestSmtp } from './fixtures.js';

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

const refund = (orderId: string) =>
  t.request('POST', `/admin/orders/${orderId}/refund`, { token: t.adminToken, headers: { 'idempotency-key': randomUUID() }, body: {} });

describe('refunds and undelivered lines', () => {
  it('when an order whose voucher mail was dead-lettered is refunded, then the line is cancelled and an operator retry sends no mail', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    await t.request('POST', `/admin/items/${itemId}/vouchers`, { token: t.adminToken, body: { codes: ['DEAD-1'] } });
    smtp.setMode('reject');
    const { orderId, fulfillments: [f] } = await placeOrder(t, { userId: await createUser(t), items: [{ itemId }] });
    await waitForStatus(t, f!.fulfillmentId, 'failed');
    smtp.setMode('accept');

    const refunded = await refund(orderId);
    expect(refunded.status).toBe(200);
    expect((await fulfillmentRow(t, f!.fulfillmentId)).status).toBe('cancelled');

    const retry = await t.request('POST', `/admin/fulfillments/${f!.fulfillmentId}/retry`, { token: t.adminToken });
    expect(retry.status).toBe(409);
    expect(retry.body.code).toBe('invalid_state');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(smtp.mails.filter((m) => m.messageId?.includes(f!.fulfillmentId))).toHaveLength(0);
    expect((await fulfillmentRow(t, f!.fulfillmentId)).status).toBe('cancelled');
    const history = await t.request('GET', `/admin/fulfillments/${f!.fulfillmentId}`, { token: t.adminToken });
    expect(history.body.events.at(-1)).toMatchObject({ status: 'cancelled' });
  });

  it('when an order with a delivered line is refunded, then the delivered line stays delivered', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    await t.request('POST', `/admin/items/${itemId}/vouchers`, { token: t.adminToken, body: { codes: ['KEPT-1'] } });
    const { orderId, fulfillments: [f] } = await placeOrder(t, { userId: await createUser(t), items: [{ itemId }] });
    await waitForStatus(t, f!.fulfillmentId, 'delivered');
    expect((await refund(orderId)).status).toBe(200);
    expect((await fulfillmentRow(t, f!.fulfillmentId)).status).toBe('delivered');
  });

  it('when an order is refunded while its voucher mail is mid-send, then the line stays cancelled and its history says the mail went out', async () => {
    const itemId = await createItem(t, { deliveryType: 'email' });
    await t.request('POST', `/admin/items/${itemId}/vouchers`, { token: t.adminToken, body: { codes: ['INFLIGHT-1'] } });
    smtp.setMode('hang');
    const hungBefore = smtp.hung;
    const { orderId, fulfillments: [f] } = await placeOrder(t, { userId: await createUser(t), items: [{ itemId }] });
    for (const deadline = Date.now() + 15_000; smtp.hung === hungBefore; ) {
      if (Date.now() > deadline) throw new Error('the mail never reached the SMTP server');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await refund(orderId)).status).toBe(200);
    smtp.setMode('accept');
    const history = async () => (await t.request('GET', `/admin/fulfillments/${f!.fulfillmentId}`, { token: t.adminToken })).body;
    for (const deadline = Date.now() + 15_000; !(await history()).events.some((e: { detail: string }) => e.detail.includes('went out')); ) {
      if (Date.now() > deadline) throw new Error(`no event for the mail sent after the refund: ${JSON.stringify((await history()).events)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { status, events } = await history();
    expect(status).toBe('cancelled');
    expect(events.map((e: { status: string }) => e.status)).toEqual(['pending', 'cancelled', 'cancelled']);
    expect(smtp.mails.filter((m) => m.messageId?.includes(f!.fulfillmentId))).toHaveLength(1);
  });
});
