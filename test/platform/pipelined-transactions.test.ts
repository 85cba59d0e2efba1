// db.withTx sends BEGIN with the work's first statement and lets a statement left in flight travel with the
// COMMIT (pg pipeline mode). These tests hold the guarantees that must survive that: any failed statement rolls
// the whole transaction back and surfaces as its own error, never as a silent success, and nothing the work
// sends after the transaction ended reaches the connection.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { settleInOrder, type Database, type Tx } from '../../src/platform/db.js';
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

/** Socket writes to PostgreSQL while `run` runs (each one a syscall: what the per-tick cork saves). */
async function countSocketWrites(run: () => Promise<unknown>): Promise<number> {
  const port = Number(new URL(TEST_DATABASE_URL).port || 5432);
  let writes = 0;
  const spies = (['_write', '_writev'] as const).map((method) => {
    const original = net.Socket.prototype[method]!;
    return vi.spyOn(net.Socket.prototype, method).mockImplementation(function (this: net.Socket, ...args: unknown[]) {
      if (this.remotePort === port) writes += 1;
      return (original as (...a: unknown[]) => void).apply(this, args);
    } as never);
  });
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return writes;
}

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

  it('when statements are sent in one tick, then they leave in one socket write with BEGIN, and COMMIT in one more', async () => {
    // Each protocol message is its own socket write in pg; on this kind of VM every write is a syscall that costs
    // more than the JavaScript around it, on both ends of the socket. The pool's sockets are corked per tick.
    const writes = await countSocketWrites(() => db.withTx(async (tx) => {
      await settleInOrder([
        tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 1)', [randomUUID()]),
        tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 2)', [randomUUID()]),
        tx.query('SELECT count(*) FROM tx_probe'),
      ]);
    }));
    expect(writes).toBe(2);
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

  it('when the connection dies at any point of a pipelined transaction, then the caller gets the loss, no statement\'s promise is left unhandled and the dead client is dropped', async () => {
    // The backend terminates itself at a chosen place in the pipeline; every statement behind it fails with the
    // connection, and each of those promises must have been observed.
    const kill = 'SELECT pg_terminate_backend(pg_backend_pid())';
    const scope = () => ({ scope: 'test', key: randomUUID(), fingerprint: 'f' });
    const killed: Record<string, () => Promise<unknown>> = {
      'with BEGIN': () => db.withTx((tx) => tx.query(kill)),
      'mid-pipeline': () => db.withTx((tx) => settleInOrder([tx.query('SELECT 1'), tx.query(kill), tx.query('SELECT 2')])),
      'in flight with the COMMIT': () => db.withTx(async (tx) => {
        await tx.query('SELECT 1');
        void tx.query(kill).catch(() => undefined);
      }),
      'in a read-ahead': () => runIdempotent(db, scope(), { readAhead: (tx) => tx.query(kill), run: async () => ({ status: 201, body: {} }) }),
      'with the key\'s response': () => runIdempotent(db, scope(), async (tx) => {
        void tx.query(kill).catch(() => undefined);
        return { status: 201, body: {} };
      }),
    };
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      for (const [where, run] of Object.entries(killed)) {
        await expect(run(), where).rejects.toThrow(/administrator command|Connection terminated/);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off('unhandledRejection', record);
    }
    expect(unhandled).toEqual([]);
    // Every idle client is taken at once: a dead one returned to the pool would fail its statement.
    await Promise.all(Array.from({ length: db.pool.idleCount + 1 }, () => db.withTx((tx) => tx.query('SELECT 1'))));
  });
});

describe('idempotency in the work\'s transaction: the lock, the savepoint and the fence travelling with the COMMIT', () => {
  it('when another holder completes the key while the work runs, then the work rolls back and the caller gets idempotency_in_progress', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    const id = randomUUID();
    const outcome = runIdempotent(db, request, async (tx) => {
      await tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 1)', [id]);
      // Something that should be impossible (two holders of one key's lock): another transaction stores a response.
      await db.query(
        `INSERT INTO idempotency_keys (scope, key, request_hash, status, lock_token, response_status, response_body)
         VALUES ($1, $2, 'f', 'completed', gen_random_uuid(), 201, '{"other":true}')`,
        [request.scope, request.key],
      );
      return { status: 201, body: { id } };
    });
    await expect(outcome).rejects.toBeInstanceOf(DomainError);
    await expect(outcome).rejects.toMatchObject({ code: 'idempotency_in_progress' });
    expect(await probes(id)).toBe(0);
    const { rows } = await db.query<{ response_body: unknown }>('SELECT response_body FROM idempotency_keys WHERE scope = $1 AND key = $2', [request.scope, request.key]);
    expect(rows).toEqual([{ response_body: { other: true } }]); // the other holder's response, untouched
  });

  it('when a request with the same key is running, then a second one answers idempotency_in_progress at once, without waiting', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = runIdempotent(db, request, async () => {
      started();
      await held;
      return { status: 201, body: { first: true } };
    });
    await running;
    const second = runIdempotent(db, request, async () => ({ status: 201, body: { second: true } }));
    await expect(second).rejects.toMatchObject({ code: 'idempotency_in_progress' });
    release();
    expect(await first).toEqual({ status: 201, body: { first: true }, replayed: false });
    expect(await runIdempotent(db, request, async () => ({ status: 201, body: { third: true } }))).toEqual({ status: 201, body: { first: true }, replayed: true });
  });

  it('when the work fails with a domain error after sending statements, then they are undone, the failure is stored and replayed', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    const id = randomUUID();
    const failing = await runIdempotent(db, request, async (tx) => {
      void tx.query('INSERT INTO tx_probe (id, n) VALUES ($1, 1)', [id]).catch(() => undefined); // left in flight
      await tx.query('SELECT 1');
      throw new DomainError('insufficient_funds', 'not enough gems');
    });
    expect(failing).toMatchObject({ status: 409, replayed: false, body: { code: 'insufficient_funds' } });
    expect(await probes(id)).toBe(0);
    const again = await runIdempotent(db, request, async () => ({ status: 201, body: { id } }));
    expect(again).toMatchObject({ status: 409, replayed: true, body: { code: 'insufficient_funds' } });
  });

  it('when a domain failure is rolled back and another request completes the key before the failure is stored, then the caller gets that answer', async () => {
    // A failure is stored by a second transaction (a success needs no SAVEPOINT): between the two the key is free,
    // and whoever completes it first owns its answer.
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    let transactions = 0;
    const racing: Database = {
      ...db,
      query: db.query.bind(db),
      withTx: async (work, options) => {
        transactions += 1;
        if (transactions === 2) await runIdempotent(db, request, async () => ({ status: 201, body: { winner: true } }));
        return db.withTx(work, options);
      },
    };
    const result = await runIdempotent(racing, request, async () => {
      throw new DomainError('out_of_stock', 'sold out');
    });
    expect(transactions).toBe(2);
    expect(result).toEqual({ status: 201, body: { winner: true }, replayed: true });
  });

  it('when the connection holding a key dies mid-work (a killed process), then a retry with the key runs at once', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    let holder!: (pid: number) => void;
    const holding = new Promise<number>((resolve) => (holder = resolve));
    const doomed = runIdempotent(db, request, async (tx) => {
      const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      holder(rows[0]!.pid);
      await tx.query('SELECT pg_sleep(30)');
      return { status: 201, body: { doomed: true } };
    });
    // Observed before the kill: the holder's failure may arrive before the killer's answer (it did once in CI, an
    // unhandled rejection), and the kill below waits for the holder's process to exit, so here it always does.
    const doomedFails = expect(doomed).rejects.toMatchObject({ code: '57P01' });
    const pid = await holding;
    await expect(runIdempotent(db, request, async () => ({ status: 201, body: {} }))).rejects.toMatchObject({ code: 'idempotency_in_progress' });
    const { rows } = await db.query<{ gone: boolean }>('SELECT pg_terminate_backend($1, 5000) AS gone', [pid]);
    expect(rows).toEqual([{ gone: true }]);
    await doomedFails;
    const retry = await runIdempotent(db, request, async () => ({ status: 201, body: { retried: true } }));
    expect(retry).toEqual({ status: 201, body: { retried: true }, replayed: false });
  });

  it('when a leftover in_progress row of a dead holder is found, then the request runs and completes the key', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    await db.query(`INSERT INTO idempotency_keys (scope, key, request_hash, status, lock_token) VALUES ($1, $2, 'f', 'in_progress', gen_random_uuid())`, [request.scope, request.key]);
    const result = await runIdempotent(db, request, async () => ({ status: 201, body: { done: true } }));
    expect(result).toEqual({ status: 201, body: { done: true }, replayed: false });
    const { rows } = await db.query<{ status: string }>('SELECT status FROM idempotency_keys WHERE scope = $1 AND key = $2', [request.scope, request.key]);
    expect(rows).toEqual([{ status: 'completed' }]);
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

  it('when the work reads ahead, then the read leaves with BEGIN and the key\'s statements, and its answer reaches the work', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    let result: unknown;
    const writes = await countSocketWrites(async () => {
      result = await runIdempotent(db, request, {
        readAhead: async (tx) => (await tx.query<{ n: number }>('SELECT 41 AS n')).rows[0]!.n,
        run: async (_tx, n) => ({ status: 201, body: { n: n + 1 } }),
      });
    });
    expect(result).toEqual({ status: 201, body: { n: 42 }, replayed: false });
    expect(writes).toBe(2); // BEGIN, lock, key and the read; then the key's response and COMMIT
  });

  it('when a read-ahead key is replayed, then the stored response comes back and the work does not run', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    await runIdempotent(db, request, async () => ({ status: 201, body: { first: true } }));
    let ran = false;
    const again = await runIdempotent(db, request, {
      readAhead: async (tx) => (await tx.query('SELECT 1 AS n')).rows,
      run: async () => {
        ran = true;
        return { status: 201, body: { first: false } };
      },
    });
    expect(again).toEqual({ status: 201, body: { first: true }, replayed: true });
    expect(ran).toBe(false);
  });

  it('when the work fails on what it read ahead with a domain error, then the failure is stored and replayed', async () => {
    const request = { scope: 'test', key: randomUUID(), fingerprint: 'f' };
    const work = {
      readAhead: async (tx: Tx) => (await tx.query('SELECT 1 FROM tx_probe WHERE id = $1', [randomUUID()])).rowCount,
      run: async (_tx: Tx, found: number) => {
        if (found === 0) throw new DomainError('not_found', 'nothing there');
        return { status: 201, body: {} };
      },
    };
    expect(await runIdempotent(db, request, work)).toMatchObject({ status: 404, replayed: false, body: { code: 'not_found' } });
    expect(await runIdempotent(db, request, work)).toMatchObject({ status: 404, replayed: true, body: { code: 'not_found' } });
  });
});
