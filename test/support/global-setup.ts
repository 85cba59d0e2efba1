// Runs once per `npm test`: checks PostgreSQL and Redis and builds a migrated template database (schema and
// pg-boss tables) from which every test file clones its own database in milliseconds.
import pg from 'pg';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { TestProject } from 'vitest/node';
import { IN_CI, TEST_DATABASE_URL, TEST_REDIS_URL, databaseUrlFor } from './env.js';
import { openDatabase } from '../../src/platform/db.js';
import { migrate } from '../../src/db/migrate.js';
import { Jobs } from '../../src/platform/jobs.js';

async function reachable(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch {
    return false;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A template per run, so several `npm test` runs on one server never drop each other's template.
  const TEMPLATE_DB = `bb_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  const pgUp = await reachable(() => admin.connect());
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  const redisUp = await reachable(async () => {
    await redis.connect();
    await redis.ping();
  });
  redis.disconnect();

  if (!pgUp || !redisUp) {
    const missing = [!pgUp && `PostgreSQL (${TEST_DATABASE_URL})`, !redisUp && `Redis (${TEST_REDIS_URL})`].filter(Boolean).join(' and ');
    // Tests need the real services; we never quietly pass without them.
    throw new Error(`${missing} not reachable${IN_CI ? ' (CI=true)' : ''}: start them (see README.md, "Two commands") or run .ci/run, which starts both`);
  }

  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  const db = await openDatabase({ url: databaseUrlFor(TEMPLATE_DB), poolSize: 2 });
  await migrate(db);
  const jobs = new Jobs(db, { retryBaseMs: 1000, maxAttempts: 3, logger: pino({ level: 'silent' }) });
  await jobs.start();
  await jobs.boss.stop({ graceful: false, close: false, wait: true });
  await db.close();
  await dropStaleTestDatabases(admin);
  await admin.end();
  project.provide('templateDb', TEMPLATE_DB);

  return async () => {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`).catch(() => undefined);
    await client.end();
  };
}

// Databases left by runs that were killed before their teardown (older than an hour) are dropped.
async function dropStaleTestDatabases(admin: pg.Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database d
      WHERE (datname LIKE 'bb\\_test\\_%' OR datname LIKE 'bb\\_tpl\\_%')
        AND (pg_stat_file('base/' || d.oid || '/PG_VERSION')).modification < now() - interval '1 hour'`,
  ).catch(() => ({ rows: [] as Array<{ datname: string }> }));
  for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
}

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string;
  }
}
