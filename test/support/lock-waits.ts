// Tests that stage a race hold a row lock from the outside and wait until the request under test queues behind it.
import type { Executor } from '../../src/platform/db.js';

/** Resolves once at least `n` sessions of this database wait on a lock; throws after 5 s (`what` names who should). */
export async function waitForLockWaiters(db: Executor, what: string, n = 1): Promise<void> {
  for (let waited = 0; waited < 5_000; waited += 20) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    if (rows[0]!.n >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${what} never waited on a lock`);
}
