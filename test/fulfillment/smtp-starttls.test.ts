// An SMTP server as `smtp-server` starts by default: it advertises STARTTLS with a certificate nobody can verify
// (its built-in test certificate). SMTP_URL=smtp://… asks for plain SMTP; nodemailer upgrades opportunistically
// anyway, and with verification on every voucher mail failed ("certificate has expired") until dead-lettered.
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createUser, placeOrder, waitForStatus } from './fixtures.js';

let t: TestApp;
let server: SMTPServer;
const mails: Array<{ to: string[]; secure: boolean; raw: string }> = [];

beforeAll(async () => {
  server = new SMTPServer({
    authOptional: true,
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), secure: session.secure, raw: Buffer.concat(chunks).toString('utf8') });
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  t = await startTestApp({ workers: true, env: { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'store@bb.test' } });
});
afterAll(async () => {
  await t?.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('voucher mail over an SMTP server offering STARTTLS with an unverifiable certificate', () => {
  it('when SMTP_URL is smtp://, then the mail is delivered (opportunistic TLS, as MTAs do) with its code', async () => {
    const itemId = await createItem(t, { deliveryType: 'email', name: 'Coffee voucher' });
    await t.request('POST', `/admin/items/${itemId}/vouchers`, { token: t.adminToken, body: { codes: ['TLS-CODE-1'] } });
    const userId = await createUser(t, 'tls@players.test');
    const { fulfillments: [f] } = await placeOrder(t, { userId, items: [{ itemId }] });
    const row = await waitForStatus(t, f!.fulfillmentId, 'delivered', 20_000);
    expect(row.attempts).toBe(1);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(['tls@players.test']);
    expect(mails[0]!.secure).toBe(true); // upgraded: not sent in clear just because the certificate is unverifiable
    expect(mails[0]!.raw).toContain('TLS-CODE-1');
  });
});
