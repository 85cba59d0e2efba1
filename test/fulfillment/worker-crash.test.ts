import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase } from '../support/database.js';
import { createItem, createUser, fulfillmentRow, placeOrder, waitFor, waitForStatus, startSmtp, codesInMail, type TestSmtp } from './fixtures.js';

let smtp: TestSmtp;
let database: { url: string; drop: () => Promise<void> };
const apps: TestApp[] = [];

beforeAll(async () => {
  smtp = await startSmtp();
  database = await createTestDatabase();
});
afterAll(async () => {
  for (const app of apps) await app.runtime.close().catch(() => undefined);
  await smtp?.stop();
  await database?.drop();
});

describe('a worker that dies mid-delivery', () => {
  it('when the worker stops during a hanging SMTP send and another starts, then the voucher is delivered exactly once', async () => {
    const first = await startTestApp({ workers: true, databaseUrl: database.url, env: { SMTP_URL: smtp.url } });
    apps.push(first);
    const itemId = await createItem(first, { deliveryType: 'email' });
    await first.request('POST', `/admin/items/${itemId}/vouchers`, { token: first.adminToken, body: { codes: ['CRASH-CODE'] } });

    smtp.mode = 'hang';
    const { fulfillments: [f] } = await placeOrder(first, { userId: await createUser(first), items: [{ itemId }] });
    await waitFor(async () => smtp.hung >= 1, 'the send to hang');
    const during = await fulfillmentRow(first, f!.fulfillmentId);
    expect(during).toMatchObject({ status: 'pending', attempts: 1 }); // the attempt was recorded before sending

    // The worker gives up waiting and hands the job back, as a shutdown that outlives its grace period does.
    await first.runtime.deps.jobs.stop({ timeoutMs: 1000 });
    smtp.forgetHeld(); // the first send stays unanswered until the server drops it
    smtp.mode = 'accept';
    const second = await startTestApp({ workers: true, databaseUrl: database.url, env: { SMTP_URL: smtp.url } });
    apps.push(second);

    const delivered = await waitForStatus(second, f!.fulfillmentId, 'delivered');
    expect(delivered.attempts).toBe(2);
    // The first worker's send finally fails when the server drops it; it must not undo or repeat anything.
    await smtp.stop();
    await first.runtime.deps.jobs.whenIdle();
    const mails = smtp.mails.filter((m) => m.messageId?.includes(f!.fulfillmentId));
    expect(mails).toHaveLength(1);
    expect(codesInMail(mails[0]!)).toEqual(['CRASH-CODE']);
    expect((await fulfillmentRow(second, f!.fulfillmentId)).status).toBe('delivered');
  });
});
