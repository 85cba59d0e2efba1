// A small, standalone profile of the purchase path and the cached hot reads, for before/after comparisons while
// changing them (the full suite is `npm run bench`; this one takes about a minute):
//
//   npx tsx bench/purchase-profile.ts                                   # pgbench, then purchases
//   PROFILE_SCENARIOS=bare,store,inventory npx tsx bench/purchase-profile.ts
//   PROFILE_SCENARIOS=pgbench,floor,purchases npx tsx bench/purchase-profile.ts   # + the purchase's shape without its work (bench/floor-server.ts)
//   PROFILE_CPU=1 PROFILE_SCENARIOS=purchases npx tsx bench/purchase-profile.ts   # + V8 CPU profiles
//   PROFILE_SQL='ALTER TABLE … DROP CONSTRAINT …' npx tsx bench/purchase-profile.ts  # what-if, on the scratch database
//
// It creates a scratch database (PROFILE_DATABASE_URL, name must contain "profile"; dropped and recreated), starts
// the service as a child process on it (bench/service.ts: RATE_LIMIT_ENABLED=false, LOG_LEVEL=warn,
// WORKERS=false), seeds PROFILE_USERS funded players and an unlimited consumable listing through the API and SQL,
// and drives each scenario with autocannon for PROFILE_DURATION seconds after a short warm-up. pgbench tpcb-like
// runs right before the purchases on the same machine, so their ratio means something on a shared box.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { signToken } from '../src/platform/auth.js';
import { startChild, installCleanup, stopAll, type Child } from './children.js';
import { summarizeProfile } from './profile.js';
import { CpuSampler } from './machine.js';

const env = process.env;
const DATABASE_URL = env.PROFILE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/bb_purchase_profile';
const REDIS_URL = env.PROFILE_REDIS_URL ?? 'redis://127.0.0.1:6379'; // PROFILE_REDIS_URL= (empty): in-process cache
const DURATION_S = Number(env.PROFILE_DURATION ?? 10);
const WARMUP_S = Number(env.PROFILE_WARMUP ?? 3);
const CONNECTIONS = Number(env.PROFILE_CONNECTIONS ?? 64);
const USERS = Number(env.PROFILE_USERS ?? 2000);
const SCENARIOS = (env.PROFILE_SCENARIOS ?? 'pgbench,purchases').split(',').map((s) => s.trim());
const CPU_PROFILE = env.PROFILE_CPU === '1';
const PGBENCH_DB = 'bb_pgbench_profile';
const JWT_SECRET = 'purchase-profile-secret';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT_DIR = env.PROFILE_OUT ?? path.join(os.tmpdir(), 'purchase-profile');

if (!new URL(DATABASE_URL).pathname.includes('profile')) throw new Error('PROFILE_DATABASE_URL must name a database containing "profile": it is dropped');
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Server {
  child: Child;
  baseUrl: string;
  profile(name: string, run: () => Promise<void>): Promise<void>;
}

async function startNodeChild(name: string, script: string, childEnv: NodeJS.ProcessEnv): Promise<Server> {
  const child = startChild(name, process.execPath, ['--import', 'tsx', path.join(ROOT, script)], { ...process.env, ...childEnv }, { ipc: true });
  const port = await new Promise<number>((resolve, reject) => {
    child.process.on('message', (message: { type?: string; port?: number }) => message.type === 'listening' && resolve(message.port!));
    void child.exited.then((code) => reject(new Error(`${name} exited (${code}):\n${child.tail()}`)));
  });
  const ask = (message: object, answer: string) =>
    new Promise<void>((resolve) => {
      const onMessage = (reply: { type?: string }) => {
        if (reply.type === answer || reply.type === 'profile-error') {
          child.process.off('message', onMessage);
          resolve();
        }
      };
      child.process.on('message', onMessage);
      child.process.send(message);
    });
  return {
    child,
    baseUrl: `http://127.0.0.1:${port}`,
    async profile(scenario, run) {
      if (!CPU_PROFILE) return run();
      const file = path.join(OUT_DIR, `${scenario}.cpuprofile`);
      await ask({ type: 'profile-start' }, 'profile-started');
      await run();
      await ask({ type: 'profile-stop', path: file }, 'profile-stopped');
      const summary = summarizeProfile(file);
      log(`  CPU profile ${file}: busy ${Math.round(summary.busyMs)} ms`);
      for (const area of summary.areas.slice(0, 12)) log(`    ${(area.share * 100).toFixed(1).padStart(5)} %  ${area.area}`);
      for (const fn of summary.functions.slice(0, 15)) log(`    ${(fn.share * 100).toFixed(1).padStart(5)} %  ${fn.name}  ${fn.where}`);
    },
  };
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

async function recreateDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
}

async function dropDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  await admin.end();
}

async function pgbench(): Promise<number> {
  await recreateDatabase(Object.assign(new URL(DATABASE_URL), { pathname: `/${PGBENCH_DB}` }).toString());
  const connection = ['-h', new URL(DATABASE_URL).hostname, '-p', new URL(DATABASE_URL).port || '5432', '-U', new URL(DATABASE_URL).username || 'postgres'];
  await run('pgbench', [...connection, '-i', '-q', '-s', '10', PGBENCH_DB]);
  const output = await run('pgbench', [...connection, '-c', '16', '-j', '2', '-T', String(DURATION_S), PGBENCH_DB]);
  const tps = Number(/tps = ([\d.]+)/.exec(output)?.[1]);
  log(`pgbench tpcb-like (scale 10, 16 clients, ${DURATION_S} s): ${tps.toFixed(0)} TPS`);
  return tps;
}

interface Load {
  rps: number;
  /** Machine-wide CPU per answered request (service + PostgreSQL + Redis + load generator), and the service's own. */
  cpuMsPerRequest?: { machine: number; service: number };
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(baseUrl: string, durationS: number, connections: number, next: () => { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<Load> {
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration: durationS,
    timeout: 10,
    requests: [{ setupRequest: (request) => {
      const r = next();
      return { ...request, method: (r.method ?? 'GET') as 'GET', path: r.path, headers: { ...request.headers, ...r.headers }, body: r.body ?? '' };
    } }],
  });
  return { rps: result.requests.total / result.duration, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

const show = (name: string, r: Load) =>
  `${name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.non2xx || r.errors ? `, non-2xx ${r.non2xx}, errors ${r.errors}` : ''}` +
  (r.cpuMsPerRequest ? `; CPU per request: ${r.cpuMsPerRequest.machine.toFixed(3)} ms machine-wide, ${r.cpuMsPerRequest.service.toFixed(3)} ms service` : '');

async function measure(server: Server, name: string, connections: number, next: Parameters<typeof load>[3]): Promise<Load> {
  if (WARMUP_S > 0) await load(server.baseUrl, WARMUP_S, connections, next);
  let result: Load | undefined;
  // CPU time moves far less than throughput when something else shares the machine: it is the figure to compare.
  const cpu = new CpuSampler(() => server.child.pid);
  await server.profile(name, async () => {
    cpu.begin();
    result = await load(server.baseUrl, DURATION_S, connections, next);
    const share = cpu.end();
    const answered = result.rps;
    const busy = share.service + share.loadGenerator + share.other;
    result.cpuMsPerRequest = { machine: (busy / answered) * 1000, service: (share.service / answered) * 1000 };
  });
  log(show(name, result!));
  return result!;
}

async function seed(baseUrl: string): Promise<{ listingId: string; tokens: string[] }> {
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  const { rows } = await db.query<{ id: string }>(
    `WITH item AS (
       INSERT INTO item_definitions (sku, name, kind, consumable, max_stack, delivery_type)
       VALUES ('profile-potion', 'Profile potion', 'utility', true, 1000000000, 'inventory') RETURNING id
     ), listing AS (
       INSERT INTO listings (title, price, active, delivery_type, consumable)
       VALUES ('Profile potion', 5, true, 'inventory', true) RETURNING id
     ), line AS (
       INSERT INTO listing_items (listing_id, item_id, quantity, position) SELECT listing.id, item.id, 1, 1 FROM listing, item
     )
     SELECT id FROM listing`,
  );
  // A full storefront page (20 listings) for the cached read.
  await db.query(
    `WITH items AS (
       INSERT INTO item_definitions (sku, name, kind, consumable, max_stack, delivery_type)
       SELECT 'profile-skin-' || n, 'Profile skin ' || n, 'platform_skin', false, 1, 'inventory' FROM generate_series(1, 40) n
       RETURNING id, name
     ), listings AS (
       INSERT INTO listings (title, price, active, delivery_type, consumable)
       SELECT name, 100, true, 'inventory', false FROM items RETURNING id, title
     )
     INSERT INTO listing_items (listing_id, item_id, quantity, position)
     SELECT l.id, i.id, 1, 1 FROM listings l JOIN items i ON i.name = l.title`,
  );
  // What-if experiments (an index or constraint dropped, a setting changed) run on the scratch database only.
  if (env.PROFILE_SQL) {
    await db.query(env.PROFILE_SQL);
    log(`ran PROFILE_SQL: ${env.PROFILE_SQL}`);
  }
  await db.end();

  const service = await signToken(JWT_SECRET, { sub: randomUUID(), role: 'service' }, '2h');
  const tokens = await Promise.all(Array.from({ length: USERS }, () => signToken(JWT_SECRET, { sub: randomUUID(), name: 'Profiler' }, '2h')));
  const userIds = tokens.map((token) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub as string);
  // Provisioned by their first request, then funded through the ledger (a grant), 32 at a time.
  for (let i = 0; i < USERS; i += 32) {
    await Promise.all(tokens.slice(i, i + 32).map(async (token, j) => {
      const wallet = await fetch(`${baseUrl}/user/wallet`, { headers: { authorization: `Bearer ${token}` } });
      if (wallet.status !== 200) throw new Error(`provisioning answered ${wallet.status}`);
      const grant = await fetch(`${baseUrl}/service/grants`, {
        method: 'POST',
        headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ userId: userIds[i + j], gems: 1_000_000, reason: 'profile funds' }),
      });
      if (grant.status !== 201) throw new Error(`grant answered ${grant.status}: ${await grant.text()}`);
    }));
  }
  return { listingId: rows[0]!.id, tokens };
}

async function main(): Promise<void> {
  installCleanup(log);
  mkdirSync(OUT_DIR, { recursive: true });
  log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs; ${DURATION_S} s per scenario, ${CONNECTIONS} connections`);
  await recreateDatabase(DATABASE_URL);
  const service = await startNodeChild('service', 'bench/service.ts', {
    DATABASE_URL,
    ...(REDIS_URL ? { REDIS_URL, REDIS_KEY_PREFIX: `bb-profile-${process.pid}` } : { REDIS_URL: '' }),
    JWT_SECRET,
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    WORKERS: 'false',
    SEED_DEMO: 'false',
    NODE_ENV: 'production',
  });
  const { listingId, tokens } = await seed(service.baseUrl);
  log(`seeded ${USERS} funded players and an unlimited consumable listing`);

  let user = 0;
  const nextToken = () => tokens[(user = (user + 1) % tokens.length)]!;
  const results: Record<string, number> = {};
  for (const scenario of SCENARIOS) {
    if (scenario === 'pgbench') {
      results.pgbench = await pgbench();
    } else if (scenario === 'purchases') {
      const body = JSON.stringify({ listingId, quantity: 1 });
      const r = await measure(service, 'purchases', CONNECTIONS, () => ({
        method: 'POST',
        path: '/store/purchases',
        headers: { authorization: `Bearer ${nextToken()}`, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
        body,
      }));
      results.purchases = r.rps;
      if (results.pgbench) log(`purchases / pgbench = ${(r.rps / results.pgbench * 100).toFixed(0)} % (target ≥ 33 %)`);
    } else if (scenario === 'floor') {
      const floor = await startNodeChild('floor', 'bench/floor-server.ts', { DATABASE_URL });
      results.floor = (await measure(floor, 'floor', CONNECTIONS, () => ({ method: 'POST', path: '/floor' }))).rps;
      if (results.pgbench) log(`floor / pgbench = ${(results.floor / results.pgbench * 100).toFixed(0)} % (the purchase's transaction shape with no row work)`);
      await floor.child.stop();
    } else if (scenario === 'bare') {
      const bare = await startNodeChild('bare', 'bench/bare-server.ts', {});
      results.bare = (await measure(bare, 'bare', 100, () => ({ path: '/bare' }))).rps;
      await bare.child.stop();
    } else if (scenario === 'store') {
      results.store = (await measure(service, 'store', 100, () => ({ path: '/store/items' }))).rps;
      if (results.bare) log(`store / bare = ${(results.store / results.bare * 100).toFixed(0)} % (target ≥ 60 %)`);
    } else if (scenario === 'inventory') {
      for (const token of tokens) await fetch(`${service.baseUrl}/user/inventory`, { headers: { authorization: `Bearer ${token}` } });
      results.inventory = (await measure(service, 'inventory', 100, () => ({ path: '/user/inventory', headers: { authorization: `Bearer ${nextToken()}` } }))).rps;
      if (results.bare) log(`inventory / bare = ${(results.inventory / results.bare * 100).toFixed(0)} % (target ≥ 30 %)`);
    } else {
      throw new Error(`unknown scenario ${scenario}`);
    }
  }
  writeFileSync(path.join(OUT_DIR, 'results.json'), JSON.stringify({ at: new Date().toISOString(), loadavg: os.loadavg(), results }, null, 2));
  log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await service.child.stop();
  await dropDatabase(DATABASE_URL);
  if (results.pgbench) await dropDatabase(Object.assign(new URL(DATABASE_URL), { pathname: `/${PGBENCH_DB}` }).toString());
}

main()
  .catch((error: unknown) => {
    log(String(error instanceof Error ? error.stack : error));
    process.exitCode = 1;
  })
  .finally(() => void stopAll());
