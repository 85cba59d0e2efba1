// R6 (docs/reliability.md): a worker process killed in the middle of a job (kill -9) left the job active until
// pg-boss's expiry, five minutes, so a paid-for delivery waited that long after a crash. Working processes beat in
// job_workers and record their jobs in job_runs; another process takes back the jobs of one whose beat stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/platform/db.js';
import { Jobs, QUEUES } from '../../src/platform/jobs.js';
import { createTestDatabase } from '../support/database.js';

let scratch: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;
let survivor: Jobs | undefined;
let child: ChildProcess | undefined;

beforeAll(async () => {
  scratch = await createTestDatabase();
  db = await openDatabase({ url: scratch.url, poolSize: 4 });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await survivor?.stop({ timeoutMs: 1000 });
  await db?.close();
  await scratch?.drop();
});

/** Starts the hanging worker and resolves with the id of the job it reports holding. */
function startHangingWorker(): Promise<string> {
  child = spawn(process.execPath, ['--import', 'tsx', 'test/platform/fixtures/hanging-worker.ts'], {
    env: { ...process.env, DATABASE_URL: scratch.url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker never started the job')), 30_000);
    let output = '';
    child!.stdout!.on('data', (chunk: Buffer) => {
      output += String(chunk);
      const started = /started ([0-9a-f-]{36})/.exec(output);
      if (started) {
        clearTimeout(timer);
        resolve(started[1]!);
      }
    });
    child!.on('exit', (code) => reject(new Error(`the worker exited (${code}) before starting the job`)));
  });
}

describe('a worker process killed in the middle of a job', () => {
  it('when it is killed with kill -9, then another process takes its job back within seconds (not after the five-minute expiry) and runs it again', async () => {
    const logger = pino({ level: 'silent' });
    survivor = new Jobs(db, { retryBaseMs: 1000, maxAttempts: 3, logger, heartbeat: { everyMs: 200, staleAfterMs: 1500 } });
    await survivor.start();
    const jobId = (await survivor.send(db, QUEUES.maintenance, { task: 'deliver-after-crash' }))!;

    expect(await startHangingWorker()).toBe(jobId);
    child!.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    const { rows: active } = await db.query<{ state: string }>('SELECT state FROM pgboss.job WHERE id = $1', [jobId]);
    expect(active[0]?.state).toBe('active'); // what the killed process left behind

    const ranAgain = new Promise<{ id: string; retryCount: number }>((resolve) => {
      void survivor!.work(QUEUES.maintenance, async (_data, job) => resolve(job));
    });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the job was not taken back within 15 s')), 15_000));
    const job = await Promise.race([ranAgain, timeout]);
    expect(job).toEqual({ id: jobId, retryCount: 1 });

    // The dead process's records are gone; the survivor's own are cleared once its run ends.
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM job_workers');
    expect(rows[0]!.n).toBe(1);
  }, 60_000);
});
