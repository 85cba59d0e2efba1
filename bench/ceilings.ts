// The machine's own limits, measured in the same run as the scenarios: what one PostgreSQL does with pgbench's
// tpcb-like transactions, and what Fastify serves with nothing behind a route (the bare route is a scenario
// like the others, against bench/bare-server.ts).
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { closedLoop } from './load/autocannon.js';
import { runToEnd } from './children.js';
import { dropDatabase, withMaintenanceClient } from './seed.js';
import type { BenchConfig } from './config.js';
import type { Scenario } from './scenarios/types.js';

export const PGBENCH_DATABASE = 'bb_pgbench';

export interface PgbenchResult {
  tps: number;
  latencyAverageMs: number;
  clients: number;
  threads: number;
  scale: number;
  durationS: number;
  command: string;
}

export function findPgbench(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'pgbench'))) return path.join(dir, 'pgbench');
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const candidate = path.join(root, version, 'bin', 'pgbench');
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error('pgbench not found on PATH nor in /usr/lib/postgresql/*/bin (install postgresql-contrib / postgresql-client)');
}

function libpqEnv(databaseUrl: string): NodeJS.ProcessEnv {
  const url = new URL(databaseUrl);
  return {
    ...process.env,
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username || 'postgres'),
    ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}),
  };
}

/** pgbench tpcb-like (the default script) on a scratch database, created and dropped here. */
export async function measurePgbench(config: BenchConfig, log: (line: string) => void): Promise<PgbenchResult> {
  const pgbench = findPgbench();
  const env = libpqEnv(config.databaseUrl);
  await withMaintenanceClient(config.databaseUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${PGBENCH_DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${PGBENCH_DATABASE}`);
  });
  try {
    const started = Date.now();
    await runToEnd('pgbench -i', pgbench, ['-i', '-q', '-s', String(config.pgbenchScale), PGBENCH_DATABASE], env);
    log(`  pgbench -i -s ${config.pgbenchScale}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const clients = config.pgbenchClients;
    const threads = Math.max(1, Math.min(clients, os.cpus().length));
    const args = ['-c', String(clients), '-j', String(threads), '-T', String(config.durationS), PGBENCH_DATABASE];
    const output = await runToEnd('pgbench', pgbench, args, env);
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1];
    const latency = /latency average = ([\d.]+) ms/.exec(output)?.[1];
    if (!tps) throw new Error(`could not read pgbench's TPS from:\n${output}`);
    return {
      tps: Number(tps),
      latencyAverageMs: Number(latency ?? NaN),
      clients,
      threads,
      scale: config.pgbenchScale,
      durationS: config.durationS,
      command: `pgbench -i -s ${config.pgbenchScale} ${PGBENCH_DATABASE} && pgbench ${args.join(' ')}`,
    };
  } finally {
    await dropDatabase(config.databaseUrl, PGBENCH_DATABASE);
  }
}

/** The bare Fastify route, driven exactly like the HTTP scenarios (same connections, duration, warm-up). */
const BARE_WHAT = {
  '/bare': 'Fastify with no plugins, no logging and no schema, answering `{"hello":"world"}` from a separate process: the most this machine serves over HTTP with this load generator. The ratios of the HTTP scenarios are against this figure.',
  '/bare-page': 'The same bare Fastify answering, as a ready string, the exact body of the cached storefront page: how much of the gap to the bare route is simply moving those bytes.',
  '/bare-answer': "The same bare Fastify replaying the cached storefront's whole answer as the service sent it to this suite's clients — its status, every header (security headers, ETag, Cache-Control, Vary, Content-Encoding) and the same gzip bytes, a fresh X-Request-Id each time — with no routing work, hook, cache lookup or metric: the most any Fastify route could do with that answer on this machine. Its ratio to the bare route is the storefront target's ceiling; what `store-cached` falls short of it is the service's own work.",
} as const;

/** The bare Fastify route, driven exactly like the HTTP scenarios (same connections, duration, warm-up). */
export function bareRoute(name: string, title: string, barePath: keyof typeof BARE_WHAT, bareUrl: () => string): Scenario {
  return {
    name,
    title,
    what: BARE_WHAT[barePath],
    ...(barePath === '/bare-answer' ? { ceiling: 'bare' as const } : {}),
    run: (ctx, durationS) => closedLoop({ url: bareUrl(), connections: ctx.config.connections, durationS, request: { path: barePath } }),
  };
}
