// Durable background jobs on pg-boss (jobs live in PostgreSQL, schema `pgboss`). `send(tx, …)` writes the job
// through the caller's transaction, so a purchase and the jobs that deliver it commit or vanish together.
import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Database, Executor } from './db.js';
import { metrics } from './metrics.js';

export const QUEUES = {
  fulfillmentDeliver: 'fulfillment-deliver',
  shopifyWebhook: 'shopify-webhook',
  shopifyReconcile: 'shopify-reconcile',
  maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
export const DEAD_LETTER_QUEUE = 'dead-letter';

export interface JobsOptions {
  retryBaseMs: number;
  maxAttempts: number;
  logger: Logger;
}

export type JobHandler<T> = (data: T, job: { id: string; retryCount: number }) => Promise<void>;

function adapter(executor: Executor): PgBoss.Db {
  return { executeSql: (text, values) => executor.query(text, values ?? []) };
}

export class Jobs {
  readonly boss: PgBoss;
  private started = false;

  constructor(
    private readonly db: Database,
    private readonly options: JobsOptions,
  ) {
    this.boss = new PgBoss({
      db: adapter(db),
      schema: 'pgboss',
      // pg-boss counts retries, we count attempts: the first run plus retryLimit retries.
      retryLimit: Math.max(0, options.maxAttempts - 1),
      retryDelay: Math.max(1, Math.round(options.retryBaseMs / 1000)),
      retryBackoff: true,
      expireInMinutes: 5,
      monitorStateIntervalSeconds: 30,
    });
    this.boss.on('error', (error) => options.logger.error({ err: error }, 'job queue error'));
  }

  async start(): Promise<void> {
    if (this.started) return;
    await this.boss.start();
    await this.boss.createQueue(DEAD_LETTER_QUEUE, { name: DEAD_LETTER_QUEUE, retentionDays: 30 });
    for (const name of Object.values(QUEUES)) {
      await this.boss.createQueue(name, { name, deadLetter: DEAD_LETTER_QUEUE });
    }
    this.started = true;
  }

  /** Enqueues through `executor`: pass the transaction that writes the data the job acts on. */
  async send<T extends object>(executor: Executor, name: QueueName, data: T, options: PgBoss.SendOptions = {}): Promise<string | null> {
    return this.boss.send(name, data, { ...options, db: adapter(executor) });
  }

  async work<T>(name: QueueName, handler: JobHandler<T>, batchSize = 1): Promise<void> {
    await this.boss.work<T>(name, { batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
      for (const job of jobs) {
        const retryCount = (job as unknown as { retryCount?: number }).retryCount ?? 0;
        try {
          await handler(job.data, { id: job.id, retryCount });
          metrics.jobs.inc({ queue: name, outcome: 'completed' });
        } catch (error) {
          metrics.jobs.inc({ queue: name, outcome: 'failed' });
          this.options.logger.warn({ err: error, queue: name, jobId: job.id }, 'job failed; pg-boss will retry or dead-letter it');
          throw error;
        }
      }
    });
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    // graceful: wait for running handlers to finish before returning
    await this.boss.stop({ graceful: true, wait: true, timeout: 20_000, close: false });
  }

  get database(): Database {
    return this.db;
  }
}
