import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { balanceOf, count, expectLedgerConsistent } from '../purchases/fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const sign = (raw: string, secret = t.config.paymentsWebhookSecret) => createHmac('sha256', secret).update(raw).digest('hex');
const send = (raw: string, signature: string | undefined) =>
  t.request('POST', '/webhooks/payments', { body: raw, headers: signature === undefined ? {} : { 'x-signature': signature } });
const event = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ eventId: `evt_${randomUUID()}`, userId: randomUUID(), gems: 500, amountCents: 499, currency: 'USD', ...overrides });

describe('POST /webhooks/payments', () => {
  it('when a correctly signed top-up arrives, then the user (created if new) is credited from the top-ups account', async () => {
    const raw = event();
    const { userId, eventId } = JSON.parse(raw);
    const response = await send(raw, sign(raw));
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ eventId, userId, gems: 500, balanceAfter: 500 });
    expect(await balanceOf(t, userId)).toBe(500);
    await expectLedgerConsistent(t);
  });

  it('when the signature is missing, wrong, made with another secret, or the body was tampered with, then 401 and nothing is stored', async () => {
    const raw = event();
    const { userId, eventId } = JSON.parse(raw);
    const tampered = raw.replace('"gems":500', '"gems":50000');
    for (const [body, signature] of [[raw, undefined], [raw, 'deadbeef'], [raw, sign(raw, 'other-secret')], [tampered, sign(raw)], ['{"oops"', 'zz']] as const) {
      const response = await send(body, signature);
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('unauthorized');
    }
    expect(await count(t, `webhook_events WHERE external_id = $1`, [eventId])).toBe(0);
    expect(await balanceOf(t, userId)).toBe(0);
  });

  it('when the same event is delivered again, then 200 with the same result and no second credit', async () => {
    const raw = event({ gems: 120 });
    const { userId } = JSON.parse(raw);
    const first = await send(raw, sign(raw));
    const again = await send(raw, sign(raw));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await balanceOf(t, userId)).toBe(120);
  });

  it('when an event is redelivered re-serialized (other key order, spacing, currency case, extra fields), then it is the same event: 200 and replayed', async () => {
    const raw = event({ gems: 70 });
    const parsed = JSON.parse(raw);
    expect((await send(raw, sign(raw))).status).toBe(200);
    const reordered = JSON.stringify({ currency: 'usd', amountCents: 499, gems: 70, userId: parsed.userId.toUpperCase(), eventId: parsed.eventId, livemode: true }, null, 2);
    const again = await send(reordered, sign(reordered));
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await balanceOf(t, parsed.userId)).toBe(70);
  });

  it('when the same eventId arrives with another user, amount or price, then 409 idempotency_conflict and nothing moves', async () => {
    const raw = event({ gems: 80 });
    const { userId, eventId } = JSON.parse(raw);
    expect((await send(raw, sign(raw))).status).toBe(200);
    const other = randomUUID();
    for (const changed of [{ gems: 8000 }, { userId: other }, { amountCents: 1 }, { currency: 'EUR' }]) {
      const body = event({ eventId, userId, gems: 80, ...changed });
      const response = await send(body, sign(body));
      expect(response.status, body).toBe(409);
      expect(response.body).toMatchObject({ status: 409, code: 'idempotency_conflict' });
    }
    expect(await balanceOf(t, userId)).toBe(80);
    expect(await balanceOf(t, other)).toBe(0);
    expect(await count(t, `webhook_events WHERE external_id = $1`, [eventId])).toBe(1);
    await expectLedgerConsistent(t);
  });

  it('when 10 copies of one event arrive in parallel, then the user is credited exactly once', async () => {
    const raw = event({ gems: 77 });
    const { userId } = JSON.parse(raw);
    const responses = await Promise.all(Array.from({ length: 10 }, () => send(raw, sign(raw))));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(responses.map((r) => r.body.transferId)).size).toBe(1);
    expect(await balanceOf(t, userId)).toBe(77);
    await expectLedgerConsistent(t);
  });

  it('when a signed body is malformed or invalid (negative gems, bad user id), then 400 and nothing is credited', async () => {
    for (const raw of ['{"eventId":', event({ gems: -5 }), event({ gems: 1.5 }), event({ userId: 'x' }), event({ currency: 'dollars' })]) {
      const response = await send(raw, sign(raw));
      expect(response.status, raw).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect(await count(t, `webhook_events WHERE source = 'payments' AND payload->>'gems' IN ('-5', '1.5')`)).toBe(0);
  });

  it('when a signed event carries an extra field nested 100,000 levels deep, then 400 and nothing is credited', async () => {
    const userId = randomUUID();
    const raw = event({ userId, note: 'DEEP' }).replace('"DEEP"', `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    const response = await send(raw, sign(raw));
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect(await balanceOf(t, userId)).toBe(0);
  });
});
