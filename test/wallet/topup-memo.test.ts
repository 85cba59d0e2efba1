// The memo of a top-up's ledger entry, shown to the player in GET /user/wallet/transactions, states what was paid.
// The webhook carries the amount in minor units (`amountCents`); the memo used to print them as whole units, so a
// $4.99 top-up read "499 USD".
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

async function topUpMemo(amountCents: number, currency: string): Promise<string> {
  const userId = randomUUID();
  const raw = JSON.stringify({ eventId: `evt_${randomUUID()}`, userId, gems: 100, amountCents, currency });
  const signature = createHmac('sha256', t.config.paymentsWebhookSecret).update(raw).digest('hex');
  const delivered = await t.request('POST', '/webhooks/payments', { body: raw, headers: { 'x-signature': signature } });
  expect(delivered.status).toBe(200);
  const list = await t.request('GET', '/user/wallet/transactions', { token: await t.token('player', userId) });
  expect(list.status).toBe(200);
  expect(list.body.items).toHaveLength(1);
  return list.body.items[0].memo;
}

describe('top-up memo', () => {
  it('when a top-up is paid in a currency with cents, then the memo shows the amount in whole units with its decimals', async () => {
    expect(await topUpMemo(499, 'USD')).toBe('4.99 USD');
    expect(await topUpMemo(1, 'usd')).toBe('0.01 USD');
    expect(await topUpMemo(100_000, 'EUR')).toBe('1000.00 EUR');
    expect(await topUpMemo(0, 'USD')).toBe('0.00 USD');
  });

  it('when the currency has no minor unit (JPY) or three (KWD), then the memo follows its ISO 4217 exponent', async () => {
    expect(await topUpMemo(500, 'JPY')).toBe('500 JPY');
    expect(await topUpMemo(1234, 'KWD')).toBe('1.234 KWD');
  });
});
