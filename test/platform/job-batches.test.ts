// A worker may fetch several jobs at once (src/workers.ts: webhooks and deliveries take batches); each job of a batch
// still settles on its own. pg-boss alone fails a whole batch when its handler throws, which would run the batch's
// successful jobs again and hold back the jobs behind the failing one. Real PostgreSQL and pg-boss.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/platform/db.js';
import { Jobs, QUEUES } from '../../src/platform/jobs.js';
import { createTestDatabase } from '../support/database.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let scratch: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;
let jobs: Jobs;

beforeAll(async () => {
  scratch = await createTestDatabase();
  db = await openDatabase({ url: scratch.url, poolSize: 4 });
  jobs = new Jobs(db, { retryBaseMs: 1000, maxAttempts: 2, logger: pino({ level: 'silent' }) });
  await jobs.start();
});
afterAll(async () => {
  await jobs?.stop({ timeoutMs: 2000 });
  await db?.close();
  await scratch?.drop();
});

describe('jobs taken in a batch', () => {
  it('when one job of a batch fails, then only that one is retried; the others run once and are completed at once', async () => {
    const names = ['a', 'b', 'bad', 'c', 'd'];
    const ids = new Map<string, string>();
    for (const name of names) {
      ids.set(name, (await jobs.send(db, QUEUES.shopifyWebhook, { webhookEventId: name }))!);
      await sleep(5); // distinct creation times (pg-boss reports them in milliseconds)
    }
    const runs: string[] = [];
    await jobs.work<{ webhookEventId: string }>(QUEUES.shopifyWebhook, async ({ webhookEventId }) => {
      runs.push(webhookEventId);
      if (webhookEventId === 'bad') throw new Error('this one fails');
    }, { batchSize: names.length });

    // The failing job's retry comes after pg-boss's retry delay (1 s); give it time, and the others time to run twice.
    const deadline = Date.now() + 10_000;
    while (runs.filter((name) => name === 'bad').length < 2 && Date.now() < deadline) await sleep(100);
    await sleep(1500);

    expect(runs.slice(0, names.length)).toEqual(names); // in the order they were queued, as one worker taking one at a time would
    expect(runs.filter((name) => name === 'bad')).toHaveLength(2); // the first run and its one retry
    for (const name of ['a', 'b', 'c', 'd']) expect(runs.filter((run) => run === name)).toHaveLength(1);
    const { rows } = await db.query<{ id: string; state: string }>('SELECT id, state FROM pgboss.job WHERE id = ANY($1::uuid[])', [[...ids.values()]]);
    const state = new Map(rows.map((row) => [row.id, row.state]));
    for (const name of ['a', 'b', 'c', 'd']) expect(state.get(ids.get(name)!)).toBe('completed');
    expect(state.get(ids.get('bad')!)).toBe('failed');
  });
});
