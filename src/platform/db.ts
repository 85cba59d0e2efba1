// One database interface over two engines: real PostgreSQL (pg.Pool) and embedded PGlite (through its
// node-postgres adapter, so type parsing and SQL are identical). Repositories take an `Executor` first, so the
// same function runs on the pool or inside a caller's transaction.
import net from 'node:net';
import { readFileSync, unlinkSync } from 'node:fs';
import { mkdir, open, readFile, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { createReadRouter, withPrimaryFallback } from './replica.js';
import { ConfigError } from '../config.js';
import { metrics } from './metrics.js';

// int8 (bigint) → number: gem amounts stay far below 2^53, and numbers keep the JSON contract simple.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
// numeric (from SUM over bigint) → number, for the same reason.
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value: string) => Number(value));

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

// Statements marked with prepared() are parsed once per connection and then run from the connection's cached plan
// (PostgreSQL's default plan_cache_mode: five custom plans, then the generic plan when it is not costlier). The
// purchase's statements are CTEs whose planning cost PostgreSQL more CPU than running them: prepared, a
// purchase costs the database less than half as much. Marked only where the plan cannot depend on the values
// (key lookups, inserts, keyed updates), never on a query with optional filters, where one generic plan would
// serve every combination badly. Named statements are connection state: behind PgBouncer in transaction mode
// they need PgBouncer ≥ 1.21 with max_prepared_statements set.
const preparedNames = new Map<string, string>();

/** Marks a single parameterized statement as prepared (see above) and returns it unchanged. */
export function prepared(text: string): string {
  if (!preparedNames.has(text)) preparedNames.set(text, `bb_${preparedNames.size + 1}`);
  return text;
}

function toQuery(text: string, params: readonly unknown[] | undefined): pg.QueryConfig {
  return { name: preparedNames.get(text), text, values: params as unknown[] | undefined };
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
   * Any string is a scope: 'catalog' works for catalog writes and the cache loaders that follow them. With more
   * scopes, the replica only once it has replayed the last write of each (a player's pages also show item definitions).
   */
  readerFor(userId: string, ...moreScopes: string[]): Promise<Executor>;
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

/** pg's own flags (pg-pool reads the same ones): false once the connection has failed or is closing. */
function isQueryable(client: pg.PoolClient): boolean {
  const flags = client as unknown as { _queryable?: boolean; _ending?: boolean };
  return flags._queryable !== false && flags._ending !== true;
}

export function isRetryableTxError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && RETRYABLE.has((error as { code?: string }).code ?? '');
}

/**
 * Waits for statements sent together (pipelined) and throws the first failure in the order they were sent, so a
 * caller reports the error of the earliest step whatever order the answers are handled in. Every promise is
 * observed at once: a later one failing while an earlier one is awaited is never an unhandled rejection.
 */
export async function settleInOrder<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = (promises as readonly Promise<unknown>[]).map((promise) => promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  ));
  const results: unknown[] = [];
  for (const outcome of settled) {
    const result = await outcome;
    if (!result.ok) throw result.error;
    results.push(result.value);
  }
  return results as unknown as T;
}

interface TxSession {
  tx: Tx;
  /** Statements sent and not yet answered. */
  inFlight: Set<Promise<unknown>>;
  /** Refuses every statement from now on: the transaction is ending. */
  end(): void;
}

function openSession(client: pg.PoolClient, pipelined: boolean): TxSession {
  const inFlight = new Set<Promise<unknown>>();
  let ended = false;
  // Without pipeline mode (PGlite) a statement is handed to the client only after the previous one answered: pg
  // would queue it anyway, but queuing on a busy client is deprecated (and goes in pg 9).
  let previous: Promise<unknown> = Promise.resolve();
  const refused = () => Promise.reject(new Error('the transaction has ended; statement refused'));
  const tx: Tx = {
    inTransaction: true,
    query<R>(text: string, params?: readonly unknown[]) {
      // A branch of the caller's work still running after the transaction ended (a sibling failed and the
      // transaction rolled back) must not reach the connection: it would run outside any transaction, or inside
      // the next borrower's.
      if (ended) return refused();
      const run = () => (ended ? refused() : client.query(toQuery(text, params)));
      const answered = pipelined ? run() : previous.then(run, run);
      previous = answered.catch(() => undefined);
      const sent = answered.then((result) => ({ rows: result.rows as R[], rowCount: result.rowCount ?? 0 }));
      const tracked = sent.then(() => undefined, () => undefined);
      inFlight.add(sent);
      void tracked.then(() => inFlight.delete(sent));
      return sent;
    },
  };
  return { tx, inFlight, end: () => void (ended = true) };
}

function wrapPool(pool: pg.Pool): Executor {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      const result = await pool.query(toQuery(text, params));
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
  };
}

/**
 * PGlite's statements outside a transaction. pg-pool's own query() hands a failed statement's error to release(),
 * which ends that client and makes a new one: on PostgreSQL a reconnect, but PGlite's node-postgres adapter has ONE
 * connection object that every client of the pool shares, and ending a client while its Sync is still to be answered
 * hands the rest of that exchange to the next client. A statement right after a failed one (an operator's DELETE of
 * a listing with orders, which then deactivates it) hung about 10 s and failed with 'Connection terminated
 * unexpectedly' (503), and the connection's messages went out of step ('unexpected parseComplete message'). A
 * server's error leaves the connection usable (ReadyForQuery follows it), so the client goes back as it is; only an
 * error of the connection itself drops it.
 */
function wrapPglitePool(pool: pg.Pool): Executor {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      const client = await pool.connect();
      let lost: Error | undefined;
      try {
        const result = await client.query(toQuery(text, params));
        return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
      } catch (error) {
        // The server's errors carry a severity (the adapter parses them with its own copy of pg-protocol, so
        // instanceof pg.DatabaseError does not hold).
        if (typeof (error as { severity?: unknown } | null)?.severity !== 'string') lost = error as Error;
        throw error;
      } finally {
        client.release(lost);
      }
    },
  };
}

/**
 * The connection's socket, corked for the rest of the tick at its first write. pg writes every protocol message
 * on its own (a statement with parameters is five: Parse, Bind, Describe, Execute, Sync), and on this VM each
 * socket write is a syscall costing more than the JavaScript around it. Corked, a statement is one write, and so
 * are the statements sent within one tick (BEGIN with the first statements, the key's response with the COMMIT).
 */
function corkedPerTick(): net.Socket {
  const socket = new net.Socket();
  const connect = socket.connect.bind(socket) as (...args: unknown[]) => net.Socket;
  // net.Socket#connect puts the prototype's `write` back on the instance (undoing a closed socket's stub), so a
  // wrapper installed before it would be silently dropped: it goes on after every connect.
  socket.connect = ((...args: unknown[]) => {
    const connecting = connect(...args);
    corkEachTick(socket);
    return connecting;
  }) as typeof socket.connect;
  return socket;
}

function corkEachTick(socket: net.Socket): void {
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  socket.write = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  }) as typeof socket.write;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The file in PGLITE_DATA_DIR that says which process has the embedded database open. */
export const PGLITE_LOCK_FILE = 'battlebucks.lock';
/** How long an empty lock is taken for one whose opener is writing its pid; older, its opener died before the write. */
const UNWRITTEN_LOCK_GRACE_MS = 2_000;
/** Lock files this process wrote: one naming our pid that is not here was left by an earlier process (a container's pid 1). */
const locksHeld = new Set<string>();

// A process that exits without closing the database (a signal during the start, main.ts exits at once) still leaves the
// directory unlocked: a lock naming a dead pid is taken over, but once the pid is reused it read as "in use" for ever.
let unlockAtExit = false;
function releaseLocksAtExit(): void {
  if (unlockAtExit) return;
  unlockAtExit = true;
  process.on('exit', () => {
    for (const lockPath of locksHeld) {
      try {
        const holder = readFileSync(lockPath, 'utf8');
        if (holder === '' || Number.parseInt(holder, 10) === process.pid) unlinkSync(lockPath);
      } catch {
        // gone already, or not ours to remove
      }
    }
  });
}

/** Removes the lock if it still holds `seen`, alone (see lockDataDir); false when another process is taking it over. */
async function removeStaleLock(lockPath: string, seen: string): Promise<boolean> {
  const takeover = `${lockPath}.takeover`;
  try {
    await (await open(takeover, 'wx')).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Left by a process that died in the few milliseconds of a takeover: old, so nobody is using it.
    const since = await stat(takeover).then((info) => Date.now() - info.mtimeMs, () => 0);
    if (since > 10_000) await unlink(takeover).catch(() => undefined);
    return false;
  }
  try {
    if ((await readFile(lockPath, 'utf8').catch(() => undefined)) === seen) await unlink(lockPath).catch(() => undefined);
    return true;
  } finally {
    await unlink(takeover).catch(() => undefined);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * PGlite is PostgreSQL inside this process, without the postmaster.pid that keeps a second server off a data
 * directory: a second `npm start` with the same PGLITE_DATA_DIR (another port, or the first still shutting down)
 * opened the same files with its own buffers, and what one process committed the other overwrote (a grant answered
 * 201 by one instance was gone after both stopped). The directory is taken with a lock file holding the pid; one
 * left by a process that no longer runs (kill -9, a crash) is taken over. Returns the release.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  // A directory the service cannot have (a file's name, a path under a file, no permission) is the variable's
  // mistake: one line naming it (main.ts), not a stack trace from mkdir.
  const unusable = (error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'is not a directory (a file is in the way)' : `cannot be used (${code ?? (error as Error).message})`;
    return new ConfigError(`PGLITE_DATA_DIR: ${dataDir} ${why}; point it at a directory this user may write, or unset it for an in-memory database`);
  };
  await mkdir(dataDir, { recursive: true }).catch((error: unknown) => {
    throw unusable(error);
  });
  const lockPath = path.resolve(dataDir, PGLITE_LOCK_FILE);
  for (let attempt = 1; ; attempt++) {
    try {
      const file = await open(lockPath, 'wx');
      locksHeld.add(lockPath); // ours from here: an exit before the pid is written removes it too
      releaseLocksAtExit();
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw unusable(error); // EACCES, EROFS: not ours to write
      // Still contended after a few seconds: starts racing for it, or a takeover whose process died mid-way (its
      // file is judged stale after 10 s). The variable's one line (main.ts), not the file system's error.
      if (attempt > 40) {
        throw new ConfigError(`PGLITE_DATA_DIR: ${dataDir}: could not take its lock ${lockPath} (other starts are taking it over, or one was interrupted); retry in a few seconds`);
      }
    }
    const seen = await readFile(lockPath, 'utf8').catch(() => undefined);
    if (seen === undefined) continue; // removed in between: try to take it
    const holder = Number.parseInt(seen, 10);
    // No pid: created by another opener that has not written it yet (the next call after its open), on any of our
    // looks, not only the first: judged stale, its removal let both open the directory. Only an old one is stale
    // (its opener was killed between the open and the write).
    if (Number.isNaN(holder)) {
      const age = await stat(lockPath).then((info) => Date.now() - info.mtimeMs, () => undefined);
      if (age === undefined) continue; // removed in between: try to take it
      if (age < UNWRITTEN_LOCK_GRACE_MS) {
        await sleep(100);
        continue;
      }
    }
    const ours = holder === process.pid;
    if (Number.isInteger(holder) && holder > 0 && (ours ? locksHeld.has(lockPath) : processAlive(holder))) {
      throw new ConfigError(
        `PGLITE_DATA_DIR: ${dataDir} is in use by process ${holder} (another instance of the service); stop it or use another directory (if no such instance runs, delete ${lockPath})`,
      );
    }
    // Stale: its process is gone. Several starting at once all read it stale, and one removing it after another had
    // already written its own lock removed that one: both opened the directory. Only the holder of the takeover file
    // removes it, and only if it still reads as what was judged stale; the others wait and look again.
    if (!(await removeStaleLock(lockPath, seen))) await sleep(20 + Math.random() * 80);
  }
  const release = async () => {
    const holder = await readFile(lockPath, 'utf8').catch(() => '');
    locksHeld.delete(lockPath);
    if (Number.parseInt(holder, 10) === process.pid) await unlink(lockPath).catch(() => undefined);
  };
  // PGlite's initdb ignores "exists but is not empty": a directory of someone's files (PGLITE_DATA_DIR=., $HOME) had a
  // cluster scattered among them. Refused, as PostgreSQL's initdb does, unless it is a database already or holds only
  // what a fresh directory or volume may (dotfiles, lost+found) or a cluster's own entries (an interrupted first start).
  const entries = await readdir(dataDir).catch(() => [] as string[]);
  const foreign = entries.filter((name) => !/^(PG_VERSION|base|global|pg_[\w.]+|postgresql(\.auto)?\.conf|postmaster\.\w+|lost\+found|\..*)$/.test(name) && !name.startsWith(PGLITE_LOCK_FILE));
  if (!entries.includes('PG_VERSION') && foreign.length > 0) {
    await release();
    throw new ConfigError(
      `PGLITE_DATA_DIR: ${dataDir} holds other files and no embedded database (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); point it at an empty or new directory`,
    );
  }
  return release;
}

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
      // A transaction here never waits on anything but this process between its statements (no outside call is made
      // inside one), so one idle for seconds belongs to a process that stopped answering: a pause, a frozen VM, a
      // partition that drops packets. Its row locks (a limited listing's stock row: every buyer's) then stall every
      // other instance's writers. It must end well before their lock_timeout, or they all fail with it: at 60 s every
      // purchase of the listing on every instance answered 503 for as long as one instance was stopped.
      idle_in_transaction_session_timeout: 4_000,
    };
    pool = new pg.Pool({ connectionString: options.url, ...common, stream: corkedPerTick, pipeline: true } as pg.PoolConfig);
    if (options.replicaUrl) replicaPool = new pg.Pool({ connectionString: options.replicaUrl, ...common });
  } else {
    engine = 'pglite';
    const { PGlite } = await import('@electric-sql/pglite');
    const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
    const dataDir = options.pgliteDataDir && !options.pgliteDataDir.startsWith('memory://') ? options.pgliteDataDir : undefined;
    const unlock = dataDir ? await lockDataDir(dataDir) : async () => undefined;
    let instance: Awaited<ReturnType<typeof PGlite.create>>;
    try {
      instance = await PGlite.create(options.pgliteDataDir ?? 'memory://');
    } catch (error) {
      await unlock();
      throw error;
    }
    closePglite = async () => {
      try {
        await instance.close();
      } finally {
        await unlock();
      }
    };
    // PGlite is a single connection: the pool must be 1 (a larger pool crashes the process).
    pool = new pg.Pool({ ...(createPgConfig(instance) as unknown as pg.PoolConfig), max: 1 });
  }

  // An idle client that loses its server (PostgreSQL restart) emits here; without a listener it would crash us.
  pool.on('error', (error) => options.logger?.warn({ err: error }, 'idle database client error'));
  replicaPool?.on('error', (error) => options.logger?.warn({ err: error }, 'idle replica client error'));
  // A checked-out client has no pool listener, and pg-pool hands a client released by pool.query() to a waiting
  // connect() from inside the parse loop of the statement's answer: a FATAL read in the same chunk (a terminated
  // backend) was emitted before the new holder could listen, an uncaught exception that ended the process (R27).
  // Every client listens for its whole life instead; pg marks it unusable and the pool drops it on release.
  const listenForLoss = (which: string) => (client: pg.PoolClient) =>
    void client.on('error', (error) => options.logger?.warn({ err: error }, `${which} connection lost`));
  pool.on('connect', listenForLoss('database'));
  replicaPool?.on('connect', listenForLoss('replica'));

  const primary = engine === 'pglite' ? wrapPglitePool(pool) : wrapPool(pool);
  const replicaExecutor = replicaPool ? withPrimaryFallback(wrapPool(replicaPool), primary, options.logger) : undefined;
  const replica = replicaExecutor ?? primary;
  const reads = createReadRouter({ primary, replica: replicaExecutor, logger: options.logger });

  // Pipeline mode (pg ≥ 8.23, real PostgreSQL only): a statement is written at once even while earlier ones of
  // the same connection await their answers. Answers still come back in order and each statement has its own Sync,
  // so an error fails that statement alone — and, inside a transaction, every later one (25P02) up to the COMMIT,
  // which then answers ROLLBACK. withTx relies on exactly that: BEGIN travels with the first statement, and a
  // statement the work leaves in flight (the idempotency key's response) travels with the COMMIT.
  const pipelined = (client: pg.PoolClient) => (client as unknown as { pipeline?: boolean }).pipeline === true;

  async function withTx<T>(fn: (tx: Tx) => Promise<T>, txOptions: TxOptions = {}): Promise<T> {
    const maxAttempts = txOptions.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      const client = await pool.connect();
      // Lost while the pool handed it over (R27): nothing was sent on it yet, so another connection is as good.
      if (!isQueryable(client) && attempt < maxAttempts) {
        client.release(true);
        continue;
      }
      const session = openSession(client, pipelined(client));
      let broken = false;
      let committed = false;
      try {
        // Not awaited when pipelined: BEGIN and the work's first statement leave in one write. BEGIN on a connection
        // the pool hands out (idle, never inside a transaction: every use ends with COMMIT or ROLLBACK, or the
        // connection is dropped) can only fail with the connection itself, which fails the statements behind it too.
        const begun = client.query('BEGIN');
        begun.catch(() => undefined);
        if (!pipelined(client)) await begun;
        const result = await fn(session.tx);
        await begun;
        // Without pipelining a statement left in flight would queue behind the COMMIT's turn: wait for it first.
        if (!pipelined(client)) await settleInOrder([...session.inFlight]);
        const pending = [...session.inFlight];
        session.end();
        const commit = await client.query('COMMIT');
        if (commit.command === 'COMMIT') {
          committed = true;
          await settleInOrder(pending); // all answered without error: a failed one would have aborted the transaction
          return result;
        }
        // COMMIT of a transaction that a failed statement aborted answers ROLLBACK, without an error: the statement's
        // own error says what happened (and may be retryable); never a silent success.
        await settleInOrder(pending);
        throw new Error(`the transaction was rolled back at COMMIT (${commit.command})`);
      } catch (error) {
        session.end();
        if (committed) throw error;
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is gone; do not return it to the pool
        }
        if (isRetryableTxError(error) && attempt < maxAttempts) {
          metrics.txRetries.inc();
          await sleep(Math.random() * 10 * attempt);
          continue;
        }
        throw error;
      } finally {
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
      if (engine === 'pglite') await primary.query('SELECT 1');
      else await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
      await replicaPool?.end();
      await closePglite?.();
    },
  };
}
