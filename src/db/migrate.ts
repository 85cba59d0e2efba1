// Applies src/db/migrations/*.sql in name order, each in its own transaction, under a session advisory lock
// so that several instances starting at once apply each migration exactly once.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { Database } from '../platform/db.js';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
// Arbitrary but fixed: the key every instance locks on while migrating.
const MIGRATION_LOCK_KEY = 4_242_001;

export interface MigrationFile {
  name: string;
  sql: string;
}

export async function listMigrations(): Promise<MigrationFile[]> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
  return Promise.all(names.map(async (name) => ({ name, sql: await readFile(path.join(MIGRATIONS_DIR, name), 'utf8') })));
}

export async function migrate(db: Database): Promise<string[]> {
  const migrations = await listMigrations();
  const client = await db.pool.connect();
  const applied: string[] = [];
  try {
    // Another instance may be migrating: wait for it longer than the pool's 10 s lock_timeout allows (a slow
    // migration on a loaded machine made the other instances of a deploy exit), and let a migration itself run
    // past the 15 s statement_timeout meant for requests. Both are reset before the client returns to the pool.
    await client.query("SET lock_timeout = '300s'");
    await client.query("SET statement_timeout = '600s'");
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    for (const migration of migrations) {
      if (done.has(migration.name)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [migration.name]);
        await client.query('COMMIT');
        applied.push(migration.name);
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await client.query('RESET lock_timeout').catch(() => undefined);
    await client.query('RESET statement_timeout').catch(() => undefined);
    client.release();
  }
  return applied;
}

/** True when every migration file has been applied: what /readyz reports. */
export async function migrationsApplied(db: Database): Promise<boolean> {
  const migrations = await listMigrations();
  const { rows } = await db.query<{ count: number }>(
    'SELECT count(*)::int AS count FROM schema_migrations WHERE name = ANY($1::text[])',
    [migrations.map((m) => m.name)],
  );
  return rows[0]?.count === migrations.length;
}
