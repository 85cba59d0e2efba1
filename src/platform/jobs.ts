// Durable background jobs on pg-boss (jobs live in PostgreSQL, schema `pgboss`). `send(tx, …)` writes the job
// through the caller's transaction, so a purchase and the jobs that deliver it commit or vanish together.
//
// Two kinds of retry, on purpose:
// - Delivery failures (SMTP down, Shopify 503/429) are scheduled by the fulfillment module itself: it counts
//   attempts on the fulfillment row, honours Retry-After and dead-letters onto that row, where operators look.
// - Anything that escapes a handler (the database gone, a crash, a shutdown that outlived its grace period) is
//   retried by pg-boss with its own exponential backoff (`retryDelay` in whole seconds from JOB_RETRY_BASE_MS),
//   and after the last retry lands in the `dead-letter` queue.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import PgBoss from 'pg-boss';
import { whileHoldingSessionLock } from './session-lock.js';
import type { Logger } from 'pino';
import type { Database, Executor } from './db.js';
import { isUuid } from './auth.js';
import { metrics } from './metrics.js';

export const QUEUES = {
  fulfillmentDeliver: 'fulfillment-deliver',
  /** The dead letters of fulfillment-deliver: a line whose job pg-boss gave up on must not stay pending for ever. */
  fulfillmentDeliverDead: 'fulfillment-deliver-dead',
  shopifyWebhook: 'shopify-webhook',
  shopifyReconcile: 'shopify-reconcile',
  shopifyCancel: 'shopify-cancel',
  /** The dead letters of shopify-cancel: a refunded order's parcel must not ship with nobody told. */
  shopifyCancelDead: 'shopify-cancel-dead',
  maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const DEAD_LETTER_QUEUE = 'dead-letter';
/**
 * Queues whose dead letters go to a queue of their own, which a worker handles; the others' go to DEAD_LETTER_QUEUE.
 * `dataKey`: the key of the queue's job data that tells its dead letters apart among those of the shared queue.
 */
const OWN_DEAD_LETTERS: Partial<Record<QueueName, { queue: QueueName; dataKey: string }>> = {
  [QUEUES.fulfillmentDeliver]: { queue: QUEUES.fulfillmentDeliverDead, dataKey: 'fulfillmentId' },
  [QUEUES.shopifyCancel]: { queue: QUEUES.shopifyCancelDead, dataKey: 'orderId' },
};
// Arbitrary but fixed (beside migrate.ts's 4_242_001): the key instances lock on while installing the queue.
const JOBS_SETUP_LOCK_KEY = 4_242_002;

export interface JobsOptions {
  retryBaseMs: number;
  maxAttempts: number;
  logger: Logger;
  /** How often a working process beats, and how long without a beat before its jobs are taken back (see beat()). */
  heartbeat?: { everyMs: number; staleAfterMs: number };
}

const DEFAULT_HEARTBEAT = { everyMs: 5_000, staleAfterMs: 30_000 };

export interface JobInfo {
  id: string;
  /** 0 on the first run; pg-boss's own retries (after a crash or an escaped error) count up. */
  retryCount: number;
}

export type JobHandler<T> = (data: T, job: JobInfo) => Promise<void>;

export interface SendOptions {
  /** Not before this moment (pg-boss stores it with millisecond precision). */
  startAfter?: Date;
}

function adapter(executor: Executor): PgBoss.Db {
  return { executeSql: (text, values) => executor.query(text, values ?? []) };
}

/** pg-boss's fail() of several jobs with an output, through `executor` (its typings omit this overload). */
function failJobs(boss: PgBoss, queue: string, ids: string[], output: object, executor: Executor): Promise<unknown> {
  const fail = boss.fail.bind(boss) as unknown as (name: string, ids: string[], data: object, options: { db: PgBoss.Db }) => Promise<unknown>;
  return fail(queue, ids, output, { db: adapter(executor) });
}

// pg-boss's statements that settle jobs (the package's own SQL, pinned by the lockfile; not part of its typed API).
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as { completeJobs(schema: string): string; failJobsById(schema: string): string };
const SCHEMA = 'pgboss';

// job_workers / job_runs (migration 0077): see Jobs.startBeating.
const BEAT = `INSERT INTO job_workers (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET beat_at = now()`;
const RECORD_RUNS = `INSERT INTO job_runs (job_id, queue, worker_id) SELECT unnest($1::uuid[]), $2, $3
                     ON CONFLICT (job_id) DO UPDATE SET queue = EXCLUDED.queue, worker_id = EXCLUDED.worker_id, started_at = now()`;
const FORGET_RUNS = `DELETE FROM job_runs WHERE job_id = ANY($1::uuid[]) AND worker_id = $2`;
const RETIRE_WORKER = `WITH runs AS (DELETE FROM job_runs WHERE worker_id = $1) DELETE FROM job_workers WHERE id = $1`;
// One instance claims each stale run (the DELETE); only jobs still active are returned: a run left behind by a job
// that was settled, or already taken back by pg-boss's expiry, must not be failed again (a retry would be burnt).
const CLAIM_STALE_RUNS = `
  WITH stale AS (
    DELETE FROM job_workers WHERE beat_at < now() - make_interval(secs => $1) RETURNING id
  ), claimed AS (
    DELETE FROM job_runs r USING stale WHERE r.worker_id = stale.id RETURNING r.job_id, r.queue
  )
  SELECT c.queue, c.job_id FROM claimed c
   WHERE EXISTS (SELECT 1 FROM ${SCHEMA}.job j WHERE j.id = c.job_id AND j.name = c.queue AND j.state = 'active')`;

// A job pg-boss handed out (active from its fetch's commit) whose process died before recording it in job_runs (the
// next round trip) has no run to claim: taken back once it has been active for the stale limit with no run. A live
// process records its batch before running it, so only a job settled in the instant between its run's removal and
// pg-boss's settling could be taken back too (and run again, which every handler allows). SKIP LOCKED: one claimant.
const CLAIM_UNRECORDED_JOBS = `
  SELECT j.name AS queue, j.id AS job_id FROM ${SCHEMA}.job j
   WHERE j.name = ANY($1::text[]) AND j.state = 'active' AND j.started_on < now() - make_interval(secs => $2)
     AND NOT EXISTS (SELECT 1 FROM job_runs r WHERE r.job_id = j.id)
     FOR UPDATE OF j SKIP LOCKED`;

export class Jobs {
  readonly boss: PgBoss;
  private started = false;
  private readonly stopHooks: Array<() => Promise<void>> = [];
  private readonly running = new Set<Promise<unknown>>();
  /** pg-boss's statements still on the wire (its fetches, its settling of jobs): the database closes after them. */
  private readonly statements = new Set<Promise<unknown>>();
  /** This process in job_workers, once it works a queue. */
  private readonly workerId = randomUUID();
  private beating: NodeJS.Timeout | undefined;
  private beatInFlight = false;
  private unrecordedCheckedAt = 0;

  constructor(
    private readonly db: Database,
    readonly options: JobsOptions,
  ) {
    this.boss = new PgBoss({
      db: this.bossAdapter(),
      schema: SCHEMA,
      // pg-boss counts retries, we count attempts: the first run plus retryLimit retries.
      retryLimit: Math.max(0, options.maxAttempts - 1),
      retryDelay: Math.max(1, Math.round(options.retryBaseMs / 1000)),
      retryBackoff: true,
      // A job whose worker died without a word is taken back after this; every outside call times out sooner.
      expireInMinutes: 5,
      monitorStateIntervalSeconds: 30,
    });
    this.boss.on('error', (error) => options.logger.error({ err: error }, 'job queue error'));
  }

  /**
   * The connection pg-boss runs its own statements on. pg-boss settles each batch with a complete() or fail() it does
   * not await (manager.js, onFetch): when the database is unreachable at that moment, or already closed by a
   * shutdown, that rejection is unhandled and Node ends the process (a worker lost to a database blip). Settling
   * therefore never rejects: a job that could not be settled stays active, and pg-boss takes it back after its
   * expiry (`expireInMinutes`), the at-least-once delivery every handler is written for.
   */
  private bossAdapter(): PgBoss.Db {
    const settling = new Set([plans.completeJobs(SCHEMA), plans.failJobsById(SCHEMA)]);
    return {
      executeSql: (text, values) => {
        const sent = this.db.query(text, values ?? []);
        const tracked = sent.then(() => undefined, () => undefined);
        this.statements.add(tracked);
        void tracked.then(() => this.statements.delete(tracked));
        if (!settling.has(text)) return sent;
        return sent.catch((error: unknown) => {
          this.options.logger.warn({ err: error, jobIds: values?.[1] }, 'could not settle jobs; pg-boss takes them back after their expiry');
          return { rows: [{ count: '0' }], rowCount: 0 };
        });
      },
    };
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.whileProvisioningAlone(async () => {
      await this.boss.start();
      await this.boss.createQueue(DEAD_LETTER_QUEUE, { name: DEAD_LETTER_QUEUE, retentionDays: 30 });
      for (const name of Object.values(QUEUES)) {
        await this.boss.createQueue(name, { name, deadLetter: DEAD_LETTER_QUEUE });
      }
      // Once every queue exists (a dead letter names an existing queue); also moves a queue created before this.
      for (const [name, { queue: deadLetter, dataKey }] of Object.entries(OWN_DEAD_LETTERS)) {
        await this.boss.updateQueue(name, { name, deadLetter });
        await this.moveDeadLetters(name, deadLetter, dataKey);
      }
    });
    this.started = true;
  }

  /**
   * A database from before `name` had a dead-letter queue of its own: pg-boss copies a queue's dead letter onto each
   * job as it is queued, so moving the queue (updateQueue) left its jobs still to run naming the shared queue (one
   * queued before the deploy and killed by it went there, and nothing works that queue), and the dead letters
   * already there unread. Both move; with nothing left to move, two statements that change nothing.
   */
  private async moveDeadLetters(name: string, deadLetter: string, dataKey: string): Promise<void> {
    await this.db.withTx(async (tx) => {
      await tx.query(
        `UPDATE ${SCHEMA}.job SET dead_letter = $2 WHERE name = $1 AND state < 'completed' AND dead_letter IS DISTINCT FROM $2`,
        [name, deadLetter],
      );
      const { rows } = await tx.query<{ data: object }>(
        `DELETE FROM ${SCHEMA}.job WHERE name = $1 AND state < 'completed' AND data ? $2 RETURNING data`,
        [DEAD_LETTER_QUEUE, dataKey],
      );
      if (rows.length === 0) return;
      this.options.logger.warn({ queue: name, deadLetter, moved: rows.length }, 'dead letters of the shared queue moved to the queue that handles them');
      await this.boss.insert(rows.map((row) => ({ name: deadLetter, data: row.data })), { db: adapter(tx) });
    });
  }

  /**
   * pg-boss's own start-up is not safe for instances starting together on a fresh database: its schema creation
   * races (`duplicate key … pg_namespace_nspname_index`) and two `create_queue` calls for different queues
   * deadlock (each inserts its queue row, then adds a foreign key from its partition to the queue table). Either
   * killed all but one instance of a deploy at start. Instances therefore install the queue one at a time, under
   * a session advisory lock held on a connection of its own (outside the pool, which may have one connection).
   * The lock dies with the connection if the process does. PGlite is one process: nothing to serialize.
   */
  private async whileProvisioningAlone(work: () => Promise<void>): Promise<void> {
    const connectionString = (this.db.pool as unknown as { options?: { connectionString?: string } }).options?.connectionString;
    if (this.db.engine !== 'postgres' || !connectionString) return work();
    await whileHoldingSessionLock(
      { connectionString, applicationName: 'battlebucks-jobs-setup', statementTimeoutMs: 120_000 },
      JOBS_SETUP_LOCK_KEY,
      this.options.logger,
      work,
    );
  }

  /** Enqueues through `executor`: pass the transaction that writes the data the job acts on. */
  async send<T extends object>(executor: Executor, name: QueueName, data: T, options: SendOptions = {}): Promise<string | null> {
    return this.boss.send(name, data, { ...options, db: adapter(executor) });
  }

  /** Whether job `id` of queue `name` may still run: queued, waiting for a retry, or running. */
  async isLive(executor: Executor, name: QueueName, id: string): Promise<boolean> {
    if (!isUuid(id)) return false; // not a pg-boss job id
    const { rows } = await executor.query(
      `SELECT 1 FROM ${SCHEMA}.job WHERE name = $1 AND id = $2::uuid AND state IN ('created', 'retry', 'active')`,
      [name, id],
    );
    return rows.length > 0;
  }

  /** Several jobs of one queue in one statement (a purchase with many lines). */
  async sendMany<T extends object>(executor: Executor, name: QueueName, data: readonly T[]): Promise<void> {
    if (data.length === 0) return;
    await this.boss.insert(data.map((item) => ({ name, data: item })), { db: adapter(executor) });
  }

  /**
   * Runs `handler` for each job of the queue. A worker fetches up to `batchSize` jobs at a time and then waits out
   * its polling interval, so a queue that must keep up with bursts (webhooks, deliveries) takes batches. A job of a
   * batch that succeeds is completed at once; one that fails is failed (retried, dead-lettered) when its batch ends.
   */
  async work<T>(name: QueueName, handler: JobHandler<T>, options: { batchSize?: number; pollingIntervalSeconds?: number } = {}): Promise<void> {
    const workOptions = { batchSize: options.batchSize ?? 1, pollingIntervalSeconds: options.pollingIntervalSeconds ?? 0.5, includeMetadata: true as const };
    await this.startBeating();
    await this.boss.work<T>(name, workOptions, async (batch) => {
      // In the queue's own order: pg-boss fetches by priority and age but hands the batch over in no set order, and
      // a webhook about a parcel must not be applied before the one sent ahead of it.
      const jobs = [...batch].sort((a, b) => b.priority - a.priority || a.createdOn.getTime() - b.createdOn.getTime());
      const ids = jobs.map((job) => job.id);
      // The whole batch counts as running (stop() waits for it), its bookkeeping statements included.
      const batchRun = (async () => {
        await this.db.query(RECORD_RUNS, [ids, name, this.workerId]);
        try {
          await this.runBatch(name, handler, jobs);
        } finally {
          await this.db.query(FORGET_RUNS, [ids, this.workerId]).catch((error: unknown) =>
            // Left behind, the rows only matter if this process dies: the jobs are then settled, and skipped.
            this.options.logger.warn({ err: error, queue: name }, 'could not clear the record of finished jobs'));
        }
      })();
      this.running.add(batchRun);
      try {
        await batchRun;
      } finally {
        this.running.delete(batchRun);
      }
    });
  }

  private async runBatch<T>(name: QueueName, handler: JobHandler<T>, jobs: Array<PgBoss.JobWithMetadata<T>>): Promise<void> {
    const failed: Array<{ id: string; error: unknown }> = [];
    for (const job of jobs) {
      const run = handler(job.data, { id: job.id, retryCount: job.retryCount });
      this.running.add(run);
      try {
        await run;
        metrics.jobs.inc({ queue: name, outcome: 'completed' });
        if (jobs.length > 1) await this.boss.complete(name, job.id);
      } catch (error) {
        metrics.jobs.inc({ queue: name, outcome: 'failed' });
        this.options.logger.warn({ err: error, queue: name, jobId: job.id }, 'job failed; pg-boss will retry or dead-letter it');
        failed.push({ id: job.id, error });
      } finally {
        this.running.delete(run);
      }
    }
    // Failed jobs are left active until the batch ends, and then pg-boss itself fails every job of the batch still
    // active (the failed ones; a success whose completion did not land runs again, which every handler allows).
    // Failing one at once let another worker fetch its retry while this batch still ran, and pg-boss's completion of
    // the batch (whatever is still active) then completed that retry in flight: a job dropped for good. Failing it
    // through the settling statement that only logs its errors (bossAdapter) likewise left it active for that
    // completion. Should pg-boss's failure not land either, the jobs stay active until their expiry: late, never lost.
    if (failed.length === 0) return;
    if (failed.length === 1) throw failed[0]!.error;
    throw new Error(`${failed.length} jobs of the batch failed: ${failed.map(({ id, error }) => `${id}: ${error instanceof Error ? error.message : String(error)}`).join('; ')}`);
  }

  /**
   * A process killed in the middle of a job (kill -9, the OOM killer, a lost node) leaves the job active, and pg-boss
   * would take it back only after its expiry (`expireInMinutes`, five minutes: a paid-for mail or parcel waiting
   * that long after a crash, R6). Every working process therefore beats in job_workers and records the jobs it runs
   * in job_runs (migration 0077); on each beat it also claims the runs of processes whose beat is older than
   * `staleAfterMs` and fails those jobs that are still active, so pg-boss retries them now (the same job id: the
   * fulfillment lease it held lets the retry take the delivery back). A live process that stalls past that limit
   * has its jobs run twice, which every handler allows (at-least-once).
   */
  private async startBeating(): Promise<void> {
    if (this.beating) return;
    const { everyMs, staleAfterMs } = this.options.heartbeat ?? DEFAULT_HEARTBEAT;
    await this.db.query(BEAT, [this.workerId]);
    this.beating = setInterval(() => {
      if (this.beatInFlight) return;
      this.beatInFlight = true;
      const tick = this.beat(staleAfterMs)
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'job heartbeat failed'))
        .finally(() => (this.beatInFlight = false));
      this.statements.add(tick);
      void tick.then(() => this.statements.delete(tick));
    }, everyMs);
    this.beating.unref();
  }

  private async beat(staleAfterMs: number): Promise<void> {
    await this.db.query(BEAT, [this.workerId]);
    // The claim and the failures commit together: a failure that does not land leaves the runs for the next beat.
    await this.db.withTx(async (tx) => {
      const { rows } = await tx.query<{ queue: QueueName; job_id: string }>(CLAIM_STALE_RUNS, [staleAfterMs / 1000]);
      // Scans the queues' active jobs: once per stale period, not on every beat.
      if (Date.now() - this.unrecordedCheckedAt >= staleAfterMs) {
        this.unrecordedCheckedAt = Date.now();
        const unrecorded = await tx.query<{ queue: QueueName; job_id: string }>(CLAIM_UNRECORDED_JOBS, [Object.values(QUEUES), staleAfterMs / 1000]);
        rows.push(...unrecorded.rows.filter((row) => !rows.some((claimed) => claimed.job_id === row.job_id)));
      }
      const byQueue = new Map<QueueName, string[]>();
      for (const row of rows) byQueue.set(row.queue, [...(byQueue.get(row.queue) ?? []), row.job_id]);
      for (const [queue, ids] of byQueue) {
        this.options.logger.warn({ queue, jobIds: ids }, 'taking back jobs whose worker process stopped beating');
        await failJobs(this.boss, queue, ids, { message: 'its worker process stopped (no heartbeat)' }, tx);
      }
    });
  }

  private async stopBeating(): Promise<void> {
    if (!this.beating) return;
    clearInterval(this.beating);
    this.beating = undefined;
    await this.db.query(RETIRE_WORKER, [this.workerId]).catch((error: unknown) =>
      this.options.logger.warn({ err: error }, 'could not retire this job worker; its row is reaped once stale'));
  }

  /**
   * pg-boss's stop waits only for batches it has in hand: a fetch on the wire when it stopped still hands its jobs to
   * a handler afterwards, and the statement settling the last batch is sent after pg-boss counts it done. Both would
   * otherwise meet a closed database. Waits (up to `deadline`) until no statement or handler of the queue is left,
   * letting each settled one's continuation start whatever it starts next.
   */
  private async untilQuiet(deadline: number): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const pending = [...this.statements, ...this.running];
      const left = deadline - Date.now();
      if (pending.length === 0 || left <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(pending), new Promise((resolve) => { timer = setTimeout(resolve, left); })]);
      clearTimeout(timer);
    }
  }

  /** Settles when every handler started in this process has returned (also those outliving a stop). */
  async whenIdle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** A cron schedule (one per queue). Every instance may call this; pg-boss keeps one schedule row. */
  async schedule(name: QueueName, cron: string, data: object = {}): Promise<void> {
    await this.boss.schedule(name, cron, data, { tz: 'UTC' });
  }

  /** Runs when the queue stops (before the database closes): e.g. the in-process Shopify simulator. */
  onStop(hook: () => Promise<void>): void {
    this.stopHooks.push(hook);
  }

  /**
   * Graceful: waits up to `timeoutMs` for running handlers; after that pg-boss marks them failed, so another
   * worker retries them (the fulfillment lease lets the same job take its delivery back).
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const timeoutMs = options.timeoutMs ?? 20_000;
    const deadline = Date.now() + timeoutMs;
    await this.boss.stop({ graceful: true, wait: true, timeout: timeoutMs, close: false });
    await this.untilQuiet(deadline);
    await this.stopBeating();
    for (const hook of this.stopHooks.splice(0)) {
      await hook().catch((error: unknown) => this.options.logger.warn({ err: error }, 'job queue stop hook failed'));
    }
  }

  get database(): Database {
    return this.db;
  }
}
