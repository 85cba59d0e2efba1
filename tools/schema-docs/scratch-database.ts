// A throwaway, migrated database to read the schema from: a fresh `bb_schema_<random>` database on the
// PostgreSQL server when one answers (dropped afterwards), else embedded PGlite in memory.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/platform/db.js';
import { migrate } from '../../src/db/migrate.js';

export const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function serverUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEST_DATABASE_URL ?? env.DATABASE_URL ?? DEFAULT_SERVER_URL;
}

function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function onAdmin(url: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export interface ScratchInfo {
  engine: Database['engine'];
  /** Where it ran, without credentials, for the log line. */
  where: string;
}

/** Runs `fn` on a freshly migrated scratch database and always drops it afterwards. */
export async function withScratchDatabase<T>(fn: (db: Database, info: ScratchInfo) => Promise<T>, url = serverUrl()): Promise<T> {
  if (!(await reachable(url))) {
    const db = await openDatabase({});
    try {
      await migrate(db);
      return await fn(db, { engine: 'pglite', where: 'embedded PGlite (no PostgreSQL server answered)' });
    } finally {
      await db.close();
    }
  }

  const name = `bb_schema_${randomBytes(6).toString('hex')}`;
  await onAdmin(url, `CREATE DATABASE ${name}`);
  try {
    const db = await openDatabase({ url: withDatabaseName(url, name), poolSize: 2 });
    try {
      await migrate(db);
      const server = new URL(url);
      return await fn(db, { engine: 'postgres', where: `${server.host}/${name}` });
    } finally {
      await db.close();
    }
  } finally {
    await onAdmin(url, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}
