// The bank test, short enough for CI: the same harness as `npm run chaos` (tools/chaos/bank.ts) with fewer
// players and a shorter run. The API and the worker are real child processes that get SIGKILLed and restarted;
// Shopify and SMTP fail and hang on schedule. See docs/reliability.md for what each invariant means.
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { runBank, type BankReport } from '../../tools/chaos/bank.js';
import { killAllChildren } from '../../tools/chaos/processes.js';

let database: { url: string; drop: () => Promise<void> } | undefined;

afterAll(async () => {
  await killAllChildren();
  await database?.drop();
});

describe('the bank test under faults', () => {
  it('when players trade while the API is SIGKILLed, the worker dies mid-send and Shopify and SMTP fail, then no gem, order or code is lost or doubled', async () => {
    database = await createTestDatabase();
    const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
    const report: BankReport = await runBank({
      databaseUrl: database.url,
      redisUrl: TEST_REDIS_URL,
      players: 6,
      chaosMs: 30_000,
      settleMs: 10_000,
      resolveMs: 0,
      faultGapMs: [2000, 4000],
      seed,
    });
    console.log(`bank test (seed ${seed}): ${report.operations} operations, ${report.acknowledged.orders} orders acknowledged, `
      + `${report.kills.apiSigkill} API SIGKILLs, ${report.kills.workerSigkill} worker SIGKILLs (${report.kills.workerSigkillMidSend} mid-send), `
      + `${report.faults.length} faults, ${report.invariants.checks} invariant checks, fulfillments ${JSON.stringify(report.invariants.fulfillments)}`);

    expect(report.invariants.violations).toEqual([]);
    expect(report.invariants.ledger.ok).toBe(true);
    expect(report.unexpected5xx).toEqual([]);
    // The run really was under faults, and players really traded through them.
    expect(report.kills.apiSigkill).toBeGreaterThanOrEqual(1);
    expect(report.kills.workerSigkill).toBeGreaterThanOrEqual(1);
    expect(report.faultCounts['shopify-errors']).toBeGreaterThanOrEqual(1);
    expect(report.acknowledged.orders).toBeGreaterThan(10);
    expect(report.requestsWithoutAnswer).toBeGreaterThan(0);
    // A graceful stop after all that still ends cleanly.
    expect(report.finalShutdown.map((exit) => exit.code)).toEqual([0, 0]);
  }, 180_000);
});
