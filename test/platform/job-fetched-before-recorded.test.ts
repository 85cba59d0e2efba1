// A worker process killed between pg-boss's fetch of a batch (the jobs are `active` from that commit on) and its
// record of the batch in job_runs (the next round trip) left jobs that no heartbeat ever took back: the survivors
// only fail the runs of silent processes, and these had no run. They waited for pg-boss's five-minute expiry.
// Found black-box (2026-11-25): kill -9 of `npm start` under a storm of purchases left a batch of six paid-for
// email and Shopify deliveries `pending` with their jobs `active` and no job_runs row.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/platform/db.js';
import { Jobs, QUEUES } from '../../src/platform/jobs.js';
import { createTestDatabase } from '../support/database.js';

let scratch: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;
let survivor: Jobs | undefined;

beforeAll(async () => {
  scratch = await createTestDatabase();
  db = await openDatabase({ url: scratch.url, poolSize: 4 });
});
afterAll(async () => {
  await survivor?.stop({ timeoutMs: 1000 });
  await db?.close();
  await scratch?.drop();
});

describe('a job fetched by a process that died before recording it', () => {
  it('when the fetching process dies before writing its job_runs row, then a live worker takes the job back within seconds and runs it again', async () => {
    const logger = pino({ level: 'silent' });
    survivor = new Jobs(db, { retryBaseMs: 1000, maxAttempts: 3, logger, heartbeat: { everyMs: 200, staleAfterMs: 1500 } });
    await survivor.start();
    const jobId = (await survivor.send(db, QUEUES.maintenance, { task: 'deliver-after-crash' }))!;

    // The dying process's fetch: the job is active, and the process is gone before its RECORD_RUNS.
    const fetched = await survivor.boss.fetch(QUEUES.maintenance);
    expect(fetched?.map((job) => job.id)).toEqual([jobId]);
    const { rows: runs } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM job_runs WHERE job_id = $1', [jobId]);
    expect(runs[0]!.n).toBe(0);

    const ranAgain = new Promise<{ id: string; retryCount: number }>((resolve) => {
      void survivor!.work(QUEUES.maintenance, async (_data, job) => resolve(job));
    });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the job was not taken back within 15 s')), 15_000));
    const job = await Promise.race([ranAgain, timeout]);
    expect(job).toEqual({ id: jobId, retryCount: 1 });
  }, 60_000);

  it('when a live worker is running a job it has recorded, then that job is never taken back, however long it runs', async () => {
    const jobId = (await survivor!.send(db, QUEUES.shopifyCancel, { task: 'slow' }))!;
    const runs: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    void survivor!.work(QUEUES.shopifyCancel, async (_data, job) => {
      runs.push(job.retryCount);
      await held;
    });
    await expect.poll(() => runs.length, { timeout: 10_000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // twice staleAfterMs, many beats
    const { rows } = await db.query<{ state: string }>('SELECT state FROM pgboss.job WHERE id = $1', [jobId]);
    expect(rows[0]!.state).toBe('active');
    expect(runs).toEqual([0]);
    release();
  }, 60_000);
});
