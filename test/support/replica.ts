// A real primary + streaming standby pair for the read-replica tests: two PostgreSQL clusters from this machine's
// binaries on free ports, the standby made with `pg_basebackup -R -X stream`. The machine's own server on 5432 is
// not used as the primary because its pg_hba.conf has no `replication` entry (see docs/read-replica.md); a
// throwaway primary whose pg_hba we own is the honest alternative to editing the machine's configuration.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { initCluster, makeClusterBase, pgTool, throwawayServerOptions } from '../../tools/chaos/postgres.js';
import { freePort } from '../../tools/chaos/processes.js';

export interface ReplicationPair {
  /** URL of `database` on the primary / on the standby. */
  primaryUrl(database?: string): string;
  replicaUrl(database?: string): string;
  /** Creates a database on the primary and waits until the standby has it too. */
  createDatabase(name: string): Promise<void>;
  /** Stops applying WAL on the standby (it keeps receiving it): the replica falls behind on purpose. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Resolves once the standby has replayed everything the primary has written so far. */
  waitForCatchUp(timeoutMs?: number): Promise<void>;
  stopReplica(): Promise<void>;
  stop(): Promise<void>;
}

async function queryOnce<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end();
  }
}

export async function startReplicationPair(): Promise<ReplicationPair> {
  const base = await makeClusterBase('bb-replica-');
  const primaryDir = join(base, 'primary');
  const replicaDir = join(base, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const url = (port: number, database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const serverOptions = (port: number) => throwawayServerOptions(port, base, 40);
  let replicaRunning = false;
  let primaryRunning = false;

  const stopCluster = async (dir: string) => pgTool('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);

  const pair: ReplicationPair = {
    primaryUrl: (database = 'postgres') => url(primaryPort, database),
    replicaUrl: (database = 'postgres') => url(replicaPort, database),
    async createDatabase(name) {
      await queryOnce(url(primaryPort, 'postgres'), `CREATE DATABASE ${name}`);
      await pair.waitForCatchUp();
    },
    async pauseReplay() {
      await queryOnce(url(replicaPort, 'postgres'), 'SELECT pg_wal_replay_pause()');
    },
    async resumeReplay() {
      await queryOnce(url(replicaPort, 'postgres'), 'SELECT pg_wal_replay_resume()');
    },
    async waitForCatchUp(timeoutMs = 15_000) {
      const [primary] = await queryOnce<{ lsn: string }>(url(primaryPort, 'postgres'), 'SELECT pg_current_wal_lsn()::text AS lsn');
      const lsn = primary!.lsn;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [row] = await queryOnce<{ caught_up: boolean }>(
          url(replicaPort, 'postgres'),
          `SELECT pg_is_in_recovery() AND pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS caught_up`,
        ).catch(() => [{ caught_up: false }]);
        if (row?.caught_up) return;
        if (Date.now() > deadline) throw new Error(`standby did not replay past ${lsn} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async stopReplica() {
      if (!replicaRunning) return;
      replicaRunning = false;
      await stopCluster(replicaDir);
    },
    async stop() {
      await pair.stopReplica();
      if (primaryRunning) await stopCluster(primaryDir);
      primaryRunning = false;
      await rm(base, { recursive: true, force: true });
    },
  };

  try {
    // initdb's default pg_hba.conf trusts local `replication` connections, which pg_basebackup needs.
    await initCluster(primaryDir);
    await pgTool('pg_ctl', ['-D', primaryDir, '-l', join(base, 'primary.log'), '-o', serverOptions(primaryPort), '-w', 'start']);
    primaryRunning = true;
    await pgTool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaDir, '-R', '-X', 'stream', '--no-sync']);
    await pgTool('pg_ctl', ['-D', replicaDir, '-l', join(base, 'replica.log'), '-o', serverOptions(replicaPort), '-w', 'start']);
    replicaRunning = true;
    await pair.waitForCatchUp();
    return pair;
  } catch (error) {
    await pair.stop();
    throw error;
  }
}
