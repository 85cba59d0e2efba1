// For tests that start the real service as processes (test/reliability): the service built once per file, brand-new
// empty databases (no template, no migrations, no pg-boss schema), and everything stopped and dropped after the file.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { TEST_DATABASE_URL, databaseUrlFor } from './env.js';
import { buildService, killAllChildren, type ServiceBuild } from '../../tools/chaos/processes.js';

/** One connection to `url` (the test server's own database by default) for the length of `fn`. */
export async function withClient<T>(fn: (client: pg.Client) => Promise<T>, url = TEST_DATABASE_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function useStartedProcesses(databasePrefix: string) {
  let build: ServiceBuild | undefined;
  const databases: string[] = [];
  beforeAll(async () => {
    build = await buildService();
  });
  afterAll(async () => {
    await killAllChildren();
    await build?.dispose();
    await withClient(async (client) => {
      for (const name of databases) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    });
  });
  return {
    /** The built service (available once beforeAll ran). */
    build: (): ServiceBuild => build!,
    /** A new empty database, dropped after the file; its URL. */
    async emptyDatabase(): Promise<string> {
      const name = `${databasePrefix}_${randomBytes(5).toString('hex')}`;
      await withClient((client) => client.query(`CREATE DATABASE ${name}`));
      databases.push(name);
      return databaseUrlFor(name);
    },
  };
}
