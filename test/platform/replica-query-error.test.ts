import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withPrimaryFallback } from '../../src/platform/replica.js';
import { createTestDatabase } from '../support/database.js';

// A replica without a table, column or function the query names (42P01, 42703, 42883) reads as a standby that has
// not replayed this process's migrations yet, and the read goes to the primary. When the primary refuses the query
// too, the query is wrong, not the replica: the replica was set aside for its cool-off all the same, every read went
// to the primary meanwhile and the log said "read replica unavailable". A defective query run in a loop kept a
// healthy replica out of use.
let primary: pg.Pool;
let replica: pg.Pool;
let dropDatabase: () => Promise<void>;
beforeAll(async () => {
  const database = await createTestDatabase();
  dropDatabase = database.drop;
  primary = new pg.Pool({ connectionString: database.url, max: 2 });
  replica = new pg.Pool({ connectionString: database.url, max: 2 });
});
afterAll(async () => {
  await replica?.end();
  await primary?.end();
  await dropDatabase?.();
});

describe('a read the replica refuses for a missing table, column or function', () => {
  it('when the primary refuses it too (the query is wrong), then its error is thrown and the replica stays in use', async () => {
    const warnings: string[] = [];
    const logger = { warn: (_: unknown, message: string) => warnings.push(message), info: () => undefined } as never;
    const reads = withPrimaryFallback(replica, primary, logger, 60_000);
    for (const [query, code] of [['SELECT no_such_column FROM pg_class', '42703'], ['SELECT 1 FROM no_such_table', '42P01'], ['SELECT no_such_function()', '42883']] as const) {
      await expect(reads.query(query)).rejects.toMatchObject({ code });
      expect(reads.available, query).toBe(true);
    }
    expect(warnings).toEqual([]);
  });

});
