// The plan a repository function's statement would get if the table were big: on a test database the tables are
// tiny and the planner rightly reads them sequentially, so sequential scans are switched off for one transaction
// and the statement is EXPLAINed (not run) through an executor handed to the function in place of the real one.
import type { Database, Executor } from '../../src/platform/db.js';

/** The JSON plan (as text) of the one statement `work` sends through the executor it is given. */
export async function indexPlanOf(db: Database, work: (executor: Executor) => Promise<unknown>): Promise<string> {
  return db.withTx(async (tx) => {
    await tx.query('SET LOCAL enable_seqscan = off');
    let explained: unknown;
    const explaining: Executor = {
      async query<R>(text: string, params?: readonly unknown[]) {
        const { rows } = await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${text}`, params);
        explained = rows[0]!['QUERY PLAN'];
        return { rows: [] as R[], rowCount: 0 };
      },
    };
    await work(explaining);
    return JSON.stringify(explained);
  });
}
