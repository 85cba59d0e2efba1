// `npm run chaos`: the full bank test against a fresh database on this machine's PostgreSQL (TEST_DATABASE_URL,
// default postgres://postgres@127.0.0.1:5432/test) and Redis. Prints the report as JSON and exits 1 when an
// invariant is broken. Options (env): CHAOS_PLAYERS (20), CHAOS_SECONDS (180), CHAOS_SETTLE_SECONDS (60),
// CHAOS_RESOLVE_SECONDS (90), CHAOS_SEED (random), CHAOS_KEEP_DB=true keeps the database for inspection.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runBank } from './bank.js';

const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);

// bb_test_* so that a run killed before its cleanup is dropped by the test setup's stale-database sweep.
const name = `bb_test_chaos_${randomBytes(5).toString('hex')}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;

let exitCode = 1;
try {
  const report = await runBank({
    databaseUrl: url.toString(),
    redisUrl,
    players: num('CHAOS_PLAYERS', 20),
    chaosMs: num('CHAOS_SECONDS', 180) * 1000,
    settleMs: num('CHAOS_SETTLE_SECONDS', 60) * 1000,
    resolveMs: num('CHAOS_RESOLVE_SECONDS', 90) * 1000,
    faultGapMs: [3000, 9000],
    seed: num('CHAOS_SEED', randomBytes(4).readUInt32LE()),
    log: (message) => console.error(`[chaos ${new Date().toISOString()}] ${message}`),
  });
  console.log(JSON.stringify(report, null, 2));
  const ok = report.invariants.ok && report.unexpected5xx.length === 0;
  console.error(ok
    ? `chaos: OK — ${report.operations} operations, ${report.kills.apiSigkill} API kills, ${report.kills.workerSigkill + report.kills.workerSigterm} worker restarts, ${report.faults.length} faults, ${report.invariants.checks} invariant checks`
    : `chaos: FAILED — ${report.invariants.violations.length} violation(s), ${report.unexpected5xx.length} unexpected 5xx`);
  exitCode = ok ? 0 : 1;
} finally {
  if (process.env.CHAOS_KEEP_DB !== 'true') await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  else console.error(`chaos: database kept: ${url.toString()}`);
  await admin.end();
}
process.exit(exitCode);
