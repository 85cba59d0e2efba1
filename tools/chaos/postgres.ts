// Private PostgreSQL clusters: initdb + pg_ctl from this machine's binaries on a free port, so a test can stop and
// restart "the database", or own a primary's pg_hba for replication (test/support/replica.ts), without touching
// the shared server on 5432 that other test runs use. Under root a cluster belongs to the `postgres` OS user
// (PostgreSQL refuses to run as root).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes.js';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

function binDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions[0]) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (set PG_BIN_DIR)');
  return join(root, versions[0], 'bin');
}

/** Runs one of the server binaries (initdb, pg_ctl, pg_basebackup…), as `postgres` when we are root. */
export async function pgTool(tool: string, args: string[]): Promise<void> {
  const path = join(binDir(), tool);
  try {
    if (asRoot) await run('runuser', ['-u', 'postgres', '--', path, ...args], { timeout: 60_000 });
    else await run(path, args, { timeout: 60_000 });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${stderr || stdout || String(error)}`);
  }
}

/** A fresh directory for clusters, owned by whoever will run them, private as PostgreSQL requires. */
export async function makeClusterBase(prefix: string): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), prefix));
  if (asRoot) {
    const { stdout: uid } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(base, Number(uid.trim()), Number(gid.trim()));
  }
  await chmod(base, 0o700);
  return base;
}

/** Server options of a throwaway cluster. Durability is not under test: no fsyncs, so it starts in a second or two. */
export function throwawayServerOptions(port: number, socketDir: string, maxConnections: number): string {
  return `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c shared_buffers=16MB -c max_connections=${maxConnections}`;
}

export async function initCluster(dataDir: string): Promise<void> {
  await pgTool('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
}

export interface PrivatePostgres {
  url(database?: string): string;
  readonly running: boolean;
  /** `fast` rolls back open transactions and disconnects everyone; `immediate` is a crash. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const base = await makeClusterBase('bb-outage-pg-');
  const dataDir = join(base, 'data');
  const port = await freePort();
  let running = false;
  const options = throwawayServerOptions(port, base, 60);

  const cluster: PrivatePostgres = {
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    get running() {
      return running;
    },
    async stop(mode = 'fast') {
      if (!running) return;
      await pgTool('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']);
      running = false;
    },
    async start() {
      if (running) return;
      await pgTool('pg_ctl', ['-D', dataDir, '-l', join(base, 'server.log'), '-o', options, '-w', 'start']);
      running = true;
    },
    async destroy() {
      await cluster.stop('immediate').catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    },
  };
  try {
    await initCluster(dataDir);
    await cluster.start();
    return cluster;
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
}
