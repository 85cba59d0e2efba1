// db.withTx sends BEGIN with the work's first statement and lets a statement left in flight travel with the
// COMMIT (pg pipeline mode). These tests hold the guarantees that must survive that: any failed statement rolls
// the whole transaction back and surfaces as its own error, never as a silent success, and nothing the work
// sends after the transaction ended reaches the connection.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { settleInOrder, type Database } from '../../src/platform/db.js';
import { runIdempotent } from '../../src/platform/idempotency.js';
import { DomainError } from '../../src/platform/errors.js';

let t: TestApp;
let db: Database;
beforeAll(async () => {
  t = await startTestApp();
  db = t.runtime.deps.db;
  await db.query('CREATE TABLE tx_probe (id uuid PRIMARY KEY, n int NOT NULL CHECK (n >= 0))');
});
afterAll(async () => t?.close());

const probes = async (id: string) => (await db.query('SELECT 1 FROM tx_probe WHERE id = $1', [id])).rowCount;

describe('pipelined transactions', () => {
  it('when the work succeeds, then BEGIN and COMMIT bracket it and its writes are visible afterwards', async () => {
    const id = randomUUID();
    const result = await db.withTx(async (tx) => {
      await tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 1)', [id]);
      return 'done';
    });
    expect(result).toBe('done');
    expect(await probes(id)).toBe(1);
  });

  it('when the first statement (sent with BEGIN) fails, then the error is thrown and nothing commits', async () => {
    const id = randomUUID();
    await expect(db.withTx(async (tx) => {
      await tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, -1)', [id]);
    })).rejects.toMatchObject({ code: '23514' });
    expect(await probes(id)).toBe(0);
  });

  it('when a statement left in flight with the COMMIT fails, then the transaction rolls back and that statement\'s error is thrown', async () => {
    const id = randomUUID();
    await expect(db.withTx(async (tx) => {
      await tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 1)', [id]);
      void tx.query('UPDATE tx_probe SET n = n - 5 WHERE id = $1', [id]).catch(() => undefined);
      return 'looked fine';
    })).rejects.toMatchObject({ code: '23514' });
    expect(await probes(id)).toBe(0);
  });

  it('when statements are sent together and the first fails, then settleInOrder reports the first and the rest roll back with it', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await expect(db.withTx(async (tx) => {
      await settleInOrder([
        tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, -1)', [a]),
        tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 1)', [b]),
      ]);
    })).rejects.toMatchObject({ code: '23514' });
    expect([await probes(a), await probes(b)]).toEqual([0, 0]);
  });

  it('when a branch of the work sends a statement after the transaction ended, then it is refused, not run outside the transaction', async () => {
    const id = randomUUID();
    let straggler: Promise<unknown> | undefined;
    await expect(db.withTx(async (tx) => {
      straggler = new Promise((resolve) => setTimeout(resolve, 30)).then(() => tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 1)', [id]));
      straggler.catch(() => undefined);
      throw new Error('a sibling step failed');
    })).rejects.toThrow('a sibling step failed');
    await expect(straggler).rejects.toThrow('the transaction has ended');
    expect(await probes(id)).toBe(0);
  });
});

describe('the idempotency fence travelling with the COMMIT', () => {
  it('when the claim is taken over while the work runs, then the work rolls back and the caller gets idempotency_in_progress', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    const id = randomUUID();
    const outcome = runIdempotent(db, request, async (tx) => {
      await tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 1)', [id]);
      // Another process decided this claim was dead and took it over (a fresh lock_token).
      await db.query('UPDATE idempotency_keys SET lock_token = gen_random_uuid() WHERE scope = $1 AND key = $2', [request.scope, request.key]);
      return { status: 201, body: { id } };
    });
    await expect(outcome).rejects.toBeInstanceOf(DomainError);
    await expect(outcome).rejects.toMatchObject({ code: 'idempotency_in_progress' });
    expect(await probes(id)).toBe(0);
    const { rows } = await db.query<{ status: string }>('SELECT status FROM idempotency_keys WHERE scope = $1 AND key = $2', [request.scope, request.key]);
    expect(rows).toEqual([{ status: 'in_progress' }]); // the new holder's claim, untouched
  });

  it('when the claim holds, then the response is stored with the work in one commit and replayed afterwards', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    const id = randomUUID();
    const first = await runIdempotent(db, request, async (tx) => {
      await tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 1)', [id]);
      return { status: 201, body: { id } };
    });
    expect(first).toEqual({ status: 201, body: { id }, replayed: false });
    const again = await runIdempotent(db, request, async () => {
      throw new Error('must not run twice');
    });
    expect(again).toEqual({ status: 201, body: { id }, replayed: true });
    expect(await probes(id)).toBe(1);
  });
});
