// One database interface over two engines: real PostgreSQL (pg.Pool) and embedded PGlite (through its
// node-postgres adapter, so type parsing and SQL are identical). Repositories take an `Executor` first, so the
// same function runs on the pool or inside a caller's transaction.
import pg from 'pg';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { createReadRouter, withPrimaryFallback } from './replica.js';

// int8 (bigint) → number: gem amounts stay far below 2^53, and numbers keep the JSON contract simple.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
// numeric (from SUM over bigint) → number, for the same reason.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value: string) => Number(value));

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Executor {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export type Tx = Executor & { readonly inTransaction: true };

export interface Database extends Executor {
  readonly engine: 'postgres' | 'pglite';
  /** Pool for catalog and history reads; the primary itself when no replica is configured. */
  readonly replica: Executor;
  readonly hasReplica: boolean;
  /**
   * Executor for one user's history reads (orders, ledger, inventory, characters): the replica once it has
   * replayed that user's last noted write, the primary until then (read-your-writes, platform/replica.ts).
   * Any string is a scope: 'catalog' works for catalog writes and the cache loaders that follow them.
   */
  readerFor(userId: string): Promise<Executor>;
  /**
   * Call after a write for these users has committed and before answering: their reads stay on the primary until
   * the replica catches up. Player writes over HTTP are noted automatically (http/read-your-writes.ts).
   */
  noteWrite(...userIds: string[]): Promise<void>;
  /** Shares noted writes across instances through Redis (the app attaches it; without it they stay per process). */
  shareWritesThrough(redis: Redis | undefined, keyPrefix?: string): void;
  withTx<T>(fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T>;
  /** Raw pool access for libraries (pg-boss) that need their own client handling. */
  readonly pool: pg.Pool;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface TxOptions {
  /** Attempts on serialization failure or deadlock before giving up (default 5). */
  maxAttempts?: number;
}

// 40001 serialization_failure, 40P01 deadlock_detected: safe to retry the whole transaction.
const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryableTxError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && RETRYABLE.has((error as { code?: string }).code ?? '');
}

function wrapClient(client: pg.PoolClient): Tx {
  return {
    inTransaction: true,
    async query<R>(text: string, params?: readonly unknown[]) {
      const result = await client.query(text, params as unknown[] | undefined);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
  };
}

function wrapPool(pool: pg.Pool): Executor {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      const result = await pool.query(text, params as unknown[] | undefined);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface OpenDatabaseOptions {
  url?: string;
  replicaUrl?: string;
  pgliteDataDir?: string;
  poolSize?: number;
  statementTimeoutMs?: number;
  logger?: Logger;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  let pool: pg.Pool;
  let replicaPool: pg.Pool | undefined;
  let engine: Database['engine'];
  let closePglite: (() => Promise<void>) | undefined;

  if (options.url) {
    engine = 'postgres';
    const common = {
      max: options.poolSize ?? 20,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs ?? 15_000,
      // A lock wait is bounded too: a stuck transaction surfaces as an error, never a hung request.
      lock_timeout: 10_000,
      idle_in_transaction_session_timeout: 60_000,
    };
    pool = new pg.Pool({ connectionString: options.url, ...common });
    if (options.replicaUrl) replicaPool = new pg.Pool({ connectionString: options.replicaUrl, ...common });
  } else {
    engine = 'pglite';
    const { PGlite } = await import('@electric-sql/pglite');
    const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
    const instance = await PGlite.create(options.pgliteDataDir ?? 'memory://');
    closePglite = () => instance.close();
    // PGlite is a single connection: the pool must be 1 (a larger pool crashes the process).
    pool = new pg.Pool({ ...(createPgConfig(instance) as unknown as pg.PoolConfig), max: 1 });
  }

  // An idle client that loses its server (PostgreSQL restart) emits here; without a listener it would crash us.
  pool.on('error', (error) => options.logger?.warn({ err: error }, 'idle database client error'));
  replicaPool?.on('error', (error) => options.logger?.warn({ err: error }, 'idle replica client error'));

  const primary = wrapPool(pool);
  const replicaExecutor = replicaPool ? withPrimaryFallback(wrapPool(replicaPool), primary, options.logger) : undefined;
  const replica = replicaExecutor ?? primary;
  const reads = createReadRouter({ primary, replica: replicaExecutor, logger: options.logger });

  async function withTx<T>(fn: (tx: Tx) => Promise<T>, txOptions: TxOptions = {}): Promise<T> {
    const maxAttempts = txOptions.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      // A checked-out client has no pool listener: a server restart between two statements would otherwise be an
      // uncaught 'error' event that kills the process. The next statement fails instead, and the client is dropped.
      const onLost = (error: Error) => options.logger?.warn({ err: error }, 'database connection lost inside a transaction');
      client.on('error', onLost);
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(wrapClient(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is gone; do not return it to the pool
        }
        if (isRetryableTxError(error) && attempt < maxAttempts) {
          await sleep(Math.random() * 10 * attempt);
          continue;
        }
        throw error;
      } finally {
        client.off('error', onLost);
        client.release(broken);
      }
    }
  }

  return {
    engine,
    pool,
    replica,
    hasReplica: replicaPool !== undefined,
    readerFor: reads.readerFor,
    noteWrite: reads.noteWrite,
    shareWritesThrough: reads.shareThrough,
    query: primary.query,
    withTx,
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
      await replicaPool?.end();
      await closePglite?.();
    },
  };
}
