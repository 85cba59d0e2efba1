// The platform's idempotency keys as the money-moving endpoints rely on them: retries of deadlocked or
// serialization-failed transactions compose with the key's claim, and expired keys are purged.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { purgeExpiredKeys, runIdempotent } from '../../src/platform/idempotency.js';
import { balanceOf, count, createItem, createListing, db, expectLedgerConsistent, fundedPlayer } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

async function newUser(): Promise<string> {
  const id = randomUUID();
  await db(t).withTx((tx) => t.runtime.services.users.ensureUserExistsInTx(tx, id));
  return id;
}

const credit = (userId: string, amount: number) => ({ userId, amount, counterparty: 'issuance' as const, reason: 'grant' as const, referenceType: 'test', referenceId: randomUUID() });

describe('idempotent work and transaction retries', () => {
  it('when the guarded transaction fails with a serialization error, then it is retried under the same claim and its effect commits once', async () => {
    const userId = await newUser();
    let attempts = 0;
    const result = await runIdempotent(db(t), { scope: 'test', key: randomUUID(), fingerprint: 'f' }, async (tx) => {
      attempts++;
      const { balanceAfter } = await t.runtime.services.wallet.creditUserInTx(tx, credit(userId, 10));
      if (attempts === 1) throw Object.assign(new Error('could not serialize access'), { code: '40001' });
      return { status: 201, body: { balanceAfter } };
    });
    expect(attempts).toBe(2);
    expect(result).toEqual({ status: 201, body: { balanceAfter: 10 }, replayed: false });
    expect(await balanceOf(t, userId)).toBe(10);
    await expectLedgerConsistent(t);
  });

  it('when two keyed transactions deadlock for real, then PostgreSQL aborts one, it is retried, and both commit exactly once', async () => {
    const [a, b] = [await newUser(), await newUser()];
    let arrived = 0;
    let release!: () => void;
    const bothHoldFirstLock = new Promise<void>((resolve) => (release = resolve));
    const crossed = (first: string, second: string) => {
      let attempt = 0;
      return runIdempotent(db(t), { scope: 'test', key: randomUUID(), fingerprint: 'f' }, async (tx) => {
        attempt++;
        await t.runtime.services.wallet.creditUserInTx(tx, credit(first, 1));
        if (attempt === 1) {
          if (++arrived === 2) release();
          await bothHoldFirstLock;
        }
        await t.runtime.services.wallet.creditUserInTx(tx, credit(second, 1));
        return { status: 200, body: { attempt } };
      });
    };
    const results = await Promise.all([crossed(a, b), crossed(b, a)]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    // One ran once; the deadlock's victim ran again (on a loaded machine a retry may itself meet the survivor's locks
    // and be retried once more: transparent either way). Each committed exactly once: the balances say so.
    const [once, retried] = results.map((r) => (r.body as { attempt: number }).attempt).sort();
    expect(once).toBe(1);
    expect(retried).toBeGreaterThanOrEqual(2);
    expect([await balanceOf(t, a), await balanceOf(t, b)]).toEqual([2, 2]);
    await expectLedgerConsistent(t);
  });
});

describe('released claims', () => {
  it('when the work fails unexpectedly, then the claim is released and a retry with the same key runs afresh', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    await expect(runIdempotent(db(t), request, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await count(t, 'idempotency_keys WHERE scope = $1 AND key = $2', [request.scope, request.key])).toBe(0);
    const retry = await runIdempotent(db(t), request, async () => ({ status: 201, body: { ok: true } }));
    expect(retry).toEqual({ status: 201, body: { ok: true }, replayed: false });
  });
});

describe('purgeExpiredKeys', () => {
  it('when keys are older than 24 hours, then they are deleted and younger ones kept', async () => {
    const scope = `purge-${randomUUID()}`;
    await db(t).query(
      `INSERT INTO idempotency_keys (scope, key, request_hash, status, lock_token, created_at, response_status, response_body)
       VALUES ($1, 'old', 'h', 'completed', gen_random_uuid(), now() - interval '25 hours', 201, '{}'),
              ($1, 'young', 'h', 'completed', gen_random_uuid(), now() - interval '23 hours', 201, '{}')`,
      [scope],
    );
    expect(await purgeExpiredKeys(db(t))).toBeGreaterThanOrEqual(1);
    expect(await count(t, 'idempotency_keys WHERE scope = $1 AND key = $2', [scope, 'old'])).toBe(0);
    expect(await count(t, 'idempotency_keys WHERE scope = $1 AND key = $2', [scope, 'young'])).toBe(1);
  });

  it('when an expired key is reused before the purge ran, then the request runs afresh instead of replaying', async () => {
    const scope = `expired-${randomUUID()}`;
    await db(t).query(
      `INSERT INTO idempotency_keys (scope, key, request_hash, status, lock_token, created_at, response_status, response_body)
       VALUES ($1, 'k', 'other', 'completed', gen_random_uuid(), now() - interval '25 hours', 201, '{"old":true}')`,
      [scope],
    );
    const result = await runIdempotent(db(t), { scope, key: 'k', fingerprint: 'new' }, async () => ({ status: 201, body: { fresh: true } }));
    expect(result).toEqual({ status: 201, body: { fresh: true }, replayed: false });
  });
});

describe('a purchase key after its 24 hours', () => {
  const buy = (token: string, idempotencyKey: string, body: unknown) =>
    t.request('POST', '/store/purchases', { token, headers: { 'idempotency-key': idempotencyKey }, body });

  it('when a player reuses a purchase key that expired (or was purged), then it buys afresh instead of answering 409 idempotency_in_progress forever', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 100 });
    const listing = await createListing(t, { price: 10, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 100);
    const reused = `reused-${randomUUID()}`;

    const first = await buy(player.token, reused, { listingId: listing });
    expect(first.status).toBe(201);

    // 25 hours later, before the purge ran: the key's row is expired
    await db(t).query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [reused]);
    const second = await buy(player.token, reused, { listingId: listing, quantity: 2 });
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(second.body.id).not.toBe(first.body.id);

    // and after the purge deleted it
    await db(t).query(`DELETE FROM idempotency_keys WHERE key = $1`, [reused]);
    const third = await buy(player.token, reused, { listingId: listing });
    expect(third.status).toBe(201);
    expect(third.body.id).not.toBe(second.body.id);

    const replay = await buy(player.token, reused, { listingId: listing });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(third.body.id);

    expect(await balanceOf(t, player.id)).toBe(100 - 10 - 20 - 10);
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(3);
    await expectLedgerConsistent(t);
  });
});

describe('a purchase refused as invalid by the work', () => {
  it('when the listing needs an address the request lacks, then the 400 is not stored: the corrected request with the same key buys', async () => {
    const shirt = await createItem(t, { kind: 'merch', consumable: true, deliveryType: 'shopify' });
    const listing = await createListing(t, { price: 10, items: [{ itemId: shirt }] });
    const player = await fundedPlayer(t, 100);
    const idempotencyKey = `fix-${randomUUID()}`;
    const buy = (body: unknown) => t.request('POST', '/store/purchases', { token: player.token, headers: { 'idempotency-key': idempotencyKey }, body });

    const invalid = await buy({ listingId: listing });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('validation_failed');
    expect(await count(t, 'idempotency_keys WHERE key = $1', [idempotencyKey])).toBe(0);
    const again = await buy({ listingId: listing });
    expect(again.status).toBe(400);
    expect(again.headers.get('idempotent-replayed')).toBeNull();

    const shippingAddress = { name: 'Ada', address1: '1 Main St', city: 'Berlin', zip: '10115', country: 'DE' };
    const fixed = await buy({ listingId: listing, shippingAddress });
    expect(fixed.status, fixed.text).toBe(201);
    const replay = await buy({ listingId: listing, shippingAddress });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(fixed.body.id);
    expect(await balanceOf(t, player.id)).toBe(90);
    await expectLedgerConsistent(t);
  });
});
