import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

async function newUser(): Promise<string> {
  const id = crypto.randomUUID();
  await t.runtime.deps.db.withTx((tx) => t.runtime.services.users.ensureUserExistsInTx(tx, id));
  return id;
}

describe('wallet contract: creditUserInTx / debitUserInTx', () => {
  it('when gems are credited then debited, then the balance follows and each transfer has two entries summing to zero', async () => {
    const { services } = t.runtime;
    const { db } = t.runtime.deps;
    const userId = await newUser();
    const credit = await db.withTx((tx) =>
      services.wallet.creditUserInTx(tx, { userId, amount: 100, counterparty: 'issuance', reason: 'grant', referenceType: 'grant', referenceId: 'g1' }),
    );
    expect(credit.balanceAfter).toBe(100);
    const debit = await db.withTx((tx) =>
      services.wallet.debitUserInTx(tx, { userId, amount: 30, counterparty: 'store_revenue', reason: 'purchase', referenceType: 'order', referenceId: 'o1' }),
    );
    expect(debit.balanceAfter).toBe(70);
    const { rows } = await db.query<{ transfer_id: string; n: number; total: number; user_legs: number }>(
      `SELECT e.transfer_id, count(*)::int AS n, sum(e.amount)::int AS total, count(e.balance_after)::int AS user_legs
         FROM ledger_entries e WHERE e.transfer_id = ANY($1) GROUP BY e.transfer_id`,
      [[credit.transferId, debit.transferId]],
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ n: 2, total: 0, user_legs: 1 });
  });

  it('when a debit exceeds the balance, then insufficient_funds and nothing is written', async () => {
    const { services } = t.runtime;
    const { db } = t.runtime.deps;
    const userId = await newUser();
    const before = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_transfers')).rows[0]!.n;
    await expect(
      db.withTx((tx) =>
        services.wallet.debitUserInTx(tx, { userId, amount: 1, counterparty: 'store_revenue', reason: 'purchase', referenceType: 'order', referenceId: 'o2' }),
      ),
    ).rejects.toMatchObject({ code: 'insufficient_funds' });
    const after = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_transfers')).rows[0]!.n;
    expect(after).toBe(before);
  });

  it('when the amount is zero, negative or fractional, then validation_failed', async () => {
    const { services } = t.runtime;
    const { db } = t.runtime.deps;
    const userId = await newUser();
    for (const amount of [0, -5, 1.5, Number.NaN]) {
      await expect(
        db.withTx((tx) => services.wallet.creditUserInTx(tx, { userId, amount, counterparty: 'issuance', reason: 'grant', referenceType: 'grant', referenceId: 'x' })),
      ).rejects.toMatchObject({ code: 'validation_failed' });
    }
  });
});
