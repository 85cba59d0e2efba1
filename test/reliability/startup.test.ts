// Starting the real process: several instances at the same instant on a brand-new, empty database (a fresh
// deploy scaled to N, or a rollout that starts its new pods together), and bad configuration, which must stop
// the process at once with one clear line naming the variable, never a half-started service.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { databaseUrlFor } from '../support/env.js';
import { useStartedProcesses } from '../support/started-processes.js';
import { freePort, REPO_ROOT, serviceProcess, type ServiceProcess } from '../../tools/chaos/processes.js';
import { listMigrations } from '../../src/db/migrate.js';
import { DEAD_LETTER_QUEUE, QUEUES } from '../../src/platform/jobs.js';

const JWT_SECRET = 'startup-test-secret-startup-test';
const service = useStartedProcesses('bb_test_startup');
const emptyDatabase = () => service.emptyDatabase();

describe('several instances starting at once on an empty database', () => {
  it('when three API+worker instances start at the same instant, then all three become ready and each migration is applied once', async () => {
    const url = await emptyDatabase();
    const instances: ServiceProcess[] = [];
    for (let i = 0; i < 3; i++) {
      instances.push(serviceProcess({
        name: `instance-${i}`,
        role: 'api',
        workersInApi: true,
        port: await freePort(),
        build: service.build(),
        readyTimeoutMs: 90_000,
        env: { DATABASE_URL: url, JWT_SECRET, LOG_LEVEL: 'info', SEED_DEMO: 'false' },
      }));
    }
    const started = await Promise.allSettled(instances.map((instance) => instance.start()));
    const failures = started.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason).slice(0, 2000)] : []));
    expect(failures).toEqual([]);
    for (const instance of instances) {
      const ready = await fetch(`${instance.baseUrl}/readyz`);
      expect(ready.status).toBe(200);
    }
    const rows = await new pg.Client({ connectionString: url });
    await rows.connect();
    try {
      const { rows: applied } = await rows.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
      expect(applied.map((row) => row.name)).toEqual((await listMigrations()).map((migration) => migration.name));
      const { rows: queues } = await rows.query<{ name: string }>("SELECT name FROM pgboss.queue WHERE name NOT LIKE '\_\_pgboss%' ORDER BY name");
      // Every queue the service declares exists (the race this pins killed instances inside createQueue).
      expect(queues.map((row) => row.name)).toEqual([DEAD_LETTER_QUEUE, ...Object.values(QUEUES)].sort());
    } finally {
      await rows.end();
    }
    for (const instance of instances) expect(await instance.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('when another instance holds the migration lock for longer than the 10 s lock_timeout, then a starting instance waits for it and becomes ready', async () => {
    const url = await emptyDatabase();
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(4242001)');
      const instance = serviceProcess({ name: 'waiting', role: 'api', port: await freePort(), build: service.build(), readyTimeoutMs: 90_000, env: { DATABASE_URL: url, JWT_SECRET, SEED_DEMO: 'false' } });
      const started = instance.start();
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      expect(instance.running).toBe(true);
      await holder.query('SELECT pg_advisory_unlock(4242001)');
      await started;
      expect((await fetch(`${instance.baseUrl}/readyz`)).status).toBe(200);
      expect(await instance.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await holder.end();
    }
  }, 120_000);
});

/** Runs the built service with `env` and resolves with its exit code and output (or null if it was still up). */
function runToExit(env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stderr: string; stdout: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [service.build().entry], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', SEED_DEMO: 'false', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout, timedOut });
    });
  });
}

describe('bad configuration', () => {
  let url: string;
  beforeAll(async () => {
    url = await emptyDatabase();
  });

  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['PORT=abc', { PORT: 'abc' }, /PORT must be an integer between 0 and 65535, got "abc"/],
    ['PORT=99999', { PORT: '99999' }, /PORT must be an integer between 0 and 65535/],
    ['DATABASE_URL=garbage', { DATABASE_URL: 'garbage' }, /DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/],
    ['JWT_SECRET empty', { JWT_SECRET: '' }, /JWT_SECRET is set but empty/],
    ['RATE_LIMIT_PER_USER=0', { RATE_LIMIT_PER_USER: '0' }, /RATE_LIMIT_PER_USER must be an integer >= 1, got "0"/],
    ['JOB_MAX_ATTEMPTS=-1', { JOB_MAX_ATTEMPTS: '-1' }, /JOB_MAX_ATTEMPTS must be an integer >= 1, got "-1"/],
    ['WORKERS=maybe', { WORKERS: 'maybe' }, /WORKERS must be true, false or only/],
    ['LOG_LEVEL=loud', { LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    ['REDIS_URL=nonsense', { REDIS_URL: 'nonsense' }, /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
  ];

  it.each(cases)('when %s, then the process exits 1 at once with one line naming the variable', async (_label, env, message) => {
    const port = String(await freePort());
    const result = await runToExit({ DATABASE_URL: url, JWT_SECRET, PORT: port, ...env });
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^battlebucks-store: cannot start: /);
    expect(lines[0]).toMatch(message);
    // Nothing was started: no listener, no migrations run on the database.
    expect(result.stdout).not.toMatch(/migrations applied|Server listening/);
  });

  it('when DATABASE_URL names a database that does not exist, then the process exits 1 with one line naming DATABASE_URL and hiding the password', async () => {
    const missing = new URL(databaseUrlFor(`bb_test_missing_${randomBytes(4).toString('hex')}`));
    missing.password = 'hunter2-secret';
    const result = await runToExit({ DATABASE_URL: missing.toString(), JWT_SECRET, PORT: String(await freePort()) });
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^battlebucks-store: cannot start: DATABASE_URL: cannot use the database at .*bb_test_missing_.*does not exist/);
    expect(result.stderr + result.stdout).not.toContain('hunter2-secret');
  });
});

describe('the README command', () => {
  it('when `npm start` is stopped with SIGTERM, then the service itself stops and its port is free again (npm runs the script through sh, which must hand over to node)', async () => {
    const url = await emptyDatabase();
    const port = await freePort();
    const npm = spawn('npm', ['start'], {
      cwd: REPO_ROOT,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: url, JWT_SECRET, SEED_DEMO: 'false', WORKERS: 'false', LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    const answers = async () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
    const until = async (check: () => Promise<boolean>, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (await check()) return true;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return false;
    };
    try {
      expect(await until(answers, 90_000)).toBe(true);
      const npmExited = new Promise((resolve) => npm.once('exit', resolve));
      npm.kill('SIGTERM');
      await npmExited;
      // Before, sh (dash) died with npm and node kept serving, orphaned, on the port.
      expect(await until(async () => !(await answers()), 20_000)).toBe(true);
    } finally {
      npm.kill('SIGKILL');
    }
  }, 150_000);
});
