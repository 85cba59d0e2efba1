// `npm run bench`: seeds a realistic dataset into a scratch PostgreSQL database, measures the machine's ceilings
// (pgbench, a bare Fastify route) and the service's hot paths against them in the same run, checks the ledger
// afterwards, and writes the numbers into docs/performance.md. Knobs: bench/config.ts and docs/performance.md.
//
// The service and the bare route each run in their own process (bench/service.ts, bench/bare-server.ts); this
// process only generates load, so the CPU it takes is measured and reported, never hidden inside the service's.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { loadBenchConfig, isSmokeRun, type BenchConfig } from './config.js';
import { installCleanup, request, startChild, stopAll, waitForListening, type Child } from './children.js';
import { countRows, dropDatabase, migrateDatabase, recreateDatabase, seed, type Fixtures } from './seed.js';
import { describeMachine, CpuSampler } from './machine.js';
import { diffCounters, scrapeCounters, type ServiceCounters } from './service-metrics.js';
import { bareRoute, measurePgbench, type PgbenchResult } from './ceilings.js';
import { BENCH_JWT_SECRET, signPlayerTokens } from './tokens.js';
import { formatProfile, summarizeProfile } from './profile.js';
import { disturbances, writeReport, writeResultsJson, type BenchResults, type ScenarioReport } from './report.js';
import { errorCount } from './load/result.js';
import { CLIENT_HEADERS } from './load/client-headers.js';
import type { BenchContext, Scenario } from './scenarios/types.js';
import { storefrontCached, storefrontCachedIdentity, storefrontUncached } from './scenarios/storefront.js';
import { inventory, inventoryUncached } from './scenarios/inventory.js';
import { purchases } from './scenarios/purchases.js';
import { mixedClosed, mixedPaced } from './scenarios/mixed.js';
import { openDatabase } from '../src/platform/db.js';
import { verifyLedger } from '../src/modules/wallet/ledger-verifier.js';

const REDIS_KEY_PREFIX = 'bb-bench';
const RESULTS_DIR = path.resolve('bench/results');
const PROFILES_DIR = path.resolve('bench/profiles');
const log = (line: string) => console.log(line);

/** 10,000 connections need as many descriptors in this process and in the service: raise the soft limit once. */
function ensureFileDescriptors(config: BenchConfig): void {
  const needed = Math.max(config.mixedUsers, config.connections) + 1_024;
  const soft = Number(spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isFinite(soft) || soft >= needed) return;
  const hard = Number(spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim()) || soft;
  if (process.env.BENCH_FD_RAISED || hard < needed) {
    throw new Error(`need ${needed} open files for ${config.mixedUsers} connections, the limit is ${soft} (hard ${hard}): raise it (ulimit -n) or lower BENCH_MIXED_USERS`);
  }
  log(`raising the open-file limit from ${soft} to ${needed} and restarting`);
  const child = spawn('sh', ['-c', `ulimit -n ${needed} && exec "$@"`, 'sh', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_FD_RAISED: '1' },
  });
  child.on('exit', (code) => process.exit(code ?? 1));
  throw new RestartedWithMoreFiles();
}

class RestartedWithMoreFiles extends Error {}

function commandLine(): string {
  const env = Object.entries(process.env)
    .filter(([key]) => key.startsWith('BENCH_') && key !== 'BENCH_FD_RAISED')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${value}`);
  return [...env, 'npm run bench'].join(' ');
}

async function clearRedisPrefix(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_KEY_PREFIX}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Starts a server script under Node with tsx; its output goes to bench/results/<log>.log. */
async function startNodeChild(name: string, script: string, env: NodeJS.ProcessEnv, log: string): Promise<{ child: Child; port: number }> {
  const child = startChild(name, process.execPath, ['--import', 'tsx', script], env, { ipc: true, logFile: path.join(RESULTS_DIR, `${log}.log`) });
  return { child, port: await waitForListening(child) };
}

/**
 * The cached storefront page's answer as this suite's clients receive it (their Accept-Encoding, so the gzip copy):
 * the headers the bare route must repeat, and the body's bytes undecoded (fetch would decompress them).
 */
function rawAnswer(url: string): Promise<{ headers: Record<string, string>; bodyBase64: string }> {
  const PER_CONNECTION = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'x-request-id']);
  return new Promise((resolve, reject) => {
    http.get(url, { headers: CLIENT_HEADERS }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => !PER_CONNECTION.has(name)).map(([name, value]) => [name, String(value)]));
        resolve({ headers, bodyBase64: Buffer.concat(chunks).toString('base64') });
      });
      response.on('error', reject);
    }).on('error', reject);
  });
}

/** First pages of the sorts and filters players use most, and the second page of each (from its nextCursor). */
async function popularPages(baseUrl: string, fixtures: Fixtures): Promise<string[]> {
  const firstPages = [
    '/store/items',
    '/store/items?sort=price_asc',
    '/store/items?sort=price_desc',
    '/store/items?sort=newest',
    '/store/items?featured=true',
    '/store/items?tag=skins',
    '/store/items?tag=bundle',
    ...fixtures.gameIds.flatMap((gameId) => [`/store/items?gameId=${gameId}`, `/store/items?gameId=${gameId}&sort=newest`]),
  ];
  const pages = [...firstPages];
  for (const page of firstPages) {
    const response = await fetch(`${baseUrl}${page}`);
    if (!response.ok) throw new Error(`GET ${page} answered ${response.status}: ${await response.text()}`);
    const body = (await response.json()) as { nextCursor: string | null };
    if (body.nextCursor) pages.push(`${page}${page.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(body.nextCursor)}`);
  }
  return pages;
}

interface Harness {
  ctx: BenchContext;
  service: Child;
  bare: Child;
  bareUrl: string;
}

async function runScenario(h: Harness, scenario: Scenario, config: BenchConfig): Promise<ScenarioReport> {
  const { ctx } = h;
  const isBare = scenario.name.startsWith('bare');
  const warmupS = scenario.warmupS ?? config.warmupS;
  log(`▶ ${scenario.name}: ${warmupS ? `${warmupS} s warm-up, ` : ''}${config.durationS} s measured`);
  if (scenario.prepare) await scenario.prepare(ctx);
  if (warmupS > 0) await scenario.run(ctx, warmupS);
  const target = isBare ? h.bare : h.service;
  const before = isBare ? null : await scrapeCounters(ctx.service.baseUrl);
  const profilePath = config.profile ? path.join(PROFILES_DIR, `${scenario.name}.cpuprofile`) : undefined;
  if (profilePath) await request(target, { type: 'profile-start' }, 'profile-started');
  const sampler = new CpuSampler(() => target.pid);
  sampler.begin();
  const load = await scenario.run(ctx, config.durationS);
  const cpu = sampler.end();
  let profile;
  if (profilePath) {
    await request(target, { type: 'profile-stop', path: profilePath }, 'profile-stopped');
    profile = summarizeProfile(profilePath);
    log(formatProfile({ ...profile, functions: profile.functions.slice(0, 12), areas: profile.areas.slice(0, 8) }).replace(/^/gm, '    '));
  }
  const counters: ServiceCounters | null = before ? diffCounters(before, await scrapeCounters(ctx.service.baseUrl)) : null;
  log(`  ${Math.round(load.requestsPerSecond)} req/s, p50 ${load.latencyMs.p50} ms, p99 ${load.latencyMs.p99} ms, errors ${errorCount(load)}; CPU service ${cpu.service} / load generator ${cpu.loadGenerator} / other ${cpu.other}`);
  return { name: scenario.name, title: scenario.title, what: scenario.what, load, cpu, counters, ...(profile ? { profile } : {}) };
}

/** Ratios and pass/miss, once every ceiling is known. */
function judge(reports: ScenarioReport[], scenarios: Scenario[], pgbench: PgbenchResult | undefined): void {
  const bareRuns = reports.filter((r) => r.name === 'bare' || r.name === 'bare-after');
  const bare = bareRuns.length ? bareRuns.reduce((sum, r) => sum + r.load.requestsPerSecond, 0) / bareRuns.length : undefined;
  const barePage = reports.find((r) => r.name === 'bare-page')?.load.requestsPerSecond;
  const ceilingValue = { bare, 'bare-page': barePage, pgbench: pgbench?.tps };
  const ceilingName = { bare: bareRuns.length > 1 ? 'bare route (mean of start and end)' : 'bare route', 'bare-page': 'bare route with the page body', pgbench: 'pgbench TPS' };
  for (const report of reports) {
    const scenario = scenarios.find((s) => s.name === report.name);
    if (!scenario) continue;
    const kind = scenario.ceiling;
    const value = kind ? ceilingValue[kind] : undefined;
    if (kind && value) report.ceiling = { name: ceilingName[kind], perSecond: value, ratio: report.load.requestsPerSecond / value };
    const t = scenario.target;
    if (!t) continue;
    const errors = errorCount(report.load);
    if (t.kind === 'ratio') {
      const reference = ceilingValue[t.ceiling];
      const ratio = reference ? report.load.requestsPerSecond / reference : NaN;
      const pass = ratio >= t.atLeast && errors === 0;
      report.target = {
        text: t.text,
        pass,
        why: `${Math.round(report.load.requestsPerSecond)} / ${reference ? Math.round(reference) : '?'} = ${Number.isFinite(ratio) ? `${Math.round(ratio * 100)}%` : 'no ceiling'}${errors ? `, ${errors} errors` : ''}`,
      };
    } else {
      const pass = errors === 0 && report.load.latencyMs.p99 < t.p99BelowMs;
      report.target = { text: t.text, pass, why: `p99 ${report.load.latencyMs.p99} ms, ${errors} errors, ${Math.round(report.load.requestsPerSecond)} req/s` };
    }
  }
}

async function checkConsistency(config: BenchConfig, seededOrders: number, reports: ScenarioReport[]): Promise<string[]> {
  const lines: string[] = [];
  const db = await openDatabase({ url: config.databaseUrl, poolSize: 1, statementTimeoutMs: 10 * 60_000 });
  try {
    const ledger = await verifyLedger(db);
    lines.push(ledger.ok
      ? `ledger verifier: every invariant holds (${ledger.transfers.toLocaleString('en-US')} transfers, ${ledger.userWallets.toLocaleString('en-US')} wallets, all accounts sum to 0)`
      : `ledger verifier: ${ledger.violations.length} violation(s): ${ledger.violations.slice(0, 5).join('; ')}`);
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM orders');
    const newOrders = Number(rows[0]?.n ?? 0) - seededOrders;
    const created = reports.reduce((sum, r) => sum + (r.counters?.purchases.created ?? 0), 0);
    lines.push(`orders written during the run: ${newOrders.toLocaleString('en-US')}; purchases the service counted as created in the measured windows: ${created.toLocaleString('en-US')} (the difference are warm-up purchases)`);
  } finally {
    await db.close();
  }
  return lines;
}

async function main(): Promise<void> {
  const config = loadBenchConfig();
  ensureFileDescriptors(config);
  installCleanup(log);
  const startedAt = new Date();
  const problems: string[] = [];
  log(`benchmark: ${commandLine()}`);

  await recreateDatabase(config.databaseUrl);
  const machine = await describeMachine(config.databaseUrl, config.redisUrl);
  log(`machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, Redis ${machine.redis}, load ${machine.loadAverageAtStart.join(' ')}`);

  log(`seeding ${config.users} users, ${config.listings} listings into ${new URL(config.databaseUrl).pathname.slice(1)}`);
  const seedStarted = Date.now();
  await migrateDatabase(config.databaseUrl);
  const fixtures = await seed(config, log);
  const seedSeconds = (Date.now() - seedStarted) / 1000;
  const counts = await countRows(config.databaseUrl);
  log(`  seeded in ${seedSeconds.toFixed(1)} s: ${JSON.stringify(counts)}`);
  await clearRedisPrefix(config.redisUrl);

  const selected = (name: string) => !config.only || config.only.has(name);
  let pgbench: PgbenchResult | undefined;
  if (selected('pgbench') || selected('purchases')) {
    log('▶ pgbench (tpcb-like)');
    pgbench = await measurePgbench(config, log);
    log(`  ${Math.round(pgbench.tps)} TPS, latency ${pgbench.latencyAverageMs} ms`);
  }

  const serviceEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redisUrl,
    REDIS_KEY_PREFIX,
    JWT_SECRET: BENCH_JWT_SECRET,
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    WORKERS: 'false',
    SEED_DEMO: 'false',
  };
  log('starting the service and the bare route');
  mkdirSync(RESULTS_DIR, { recursive: true });
  mkdirSync(PROFILES_DIR, { recursive: true });
  const service = await startNodeChild('service', 'bench/service.ts', serviceEnv, 'service');
  const baseUrl = `http://127.0.0.1:${service.port}`;
  const tokens = await signPlayerTokens(Math.max(config.activeUsers, config.mixedUsers));
  const pages = await popularPages(baseUrl, fixtures);
  const bodyFile = path.join(RESULTS_DIR, 'storefront-page.json');
  writeFileSync(bodyFile, await (await fetch(`${baseUrl}/store/items`)).text());
  const answerFile = path.join(RESULTS_DIR, 'storefront-answer.json');
  writeFileSync(answerFile, JSON.stringify(await rawAnswer(`${baseUrl}/store/items`)));
  const bare = await startNodeChild('bare route', 'bench/bare-server.ts', { ...process.env, NODE_ENV: 'production', BENCH_BARE_BODY_FILE: bodyFile, BENCH_BARE_ANSWER_FILE: answerFile }, 'bare-server');

  const runId = randomUUID().slice(0, 8);
  let keys = 0;
  const ctx: BenchContext = {
    config,
    fixtures,
    service: { baseUrl, host: '127.0.0.1', port: service.port },
    token: (n) => tokens[n - 1]!,
    popularPages: pages,
    idempotencyKey: () => `bench-${runId}-${(keys += 1)}`,
  };
  const bareUrl = `http://127.0.0.1:${bare.port}`;
  const measured: Scenario[] = [storefrontCached, storefrontCachedIdentity, storefrontUncached, inventory, inventoryUncached, purchases, mixedPaced, mixedClosed].filter((s) => selected(s.name));
  // The bare route is measured before and after the service's scenarios: the spread shows how steady the machine was.
  const withCeiling = (name: string) => selected(name) || measured.length > 0;
  const scenarios: Scenario[] = [
    ...(withCeiling('bare') ? [bareRoute('bare', 'Bare Fastify route (ceiling, start)', '/bare', () => bareUrl)] : []),
    ...(selected('bare-page') || (measured.includes(storefrontCached) || measured.includes(storefrontCachedIdentity)) ? [bareRoute('bare-page', 'Bare Fastify route, storefront page body', '/bare-page', () => bareUrl)] : []),
    ...(selected('bare-answer') || measured.includes(storefrontCached) ? [bareRoute('bare-answer', "Bare Fastify route, the cached storefront's whole answer", '/bare-answer', () => bareUrl)] : []),
    ...measured,
    ...(withCeiling('bare-after') ? [bareRoute('bare-after', 'Bare Fastify route (ceiling, end)', '/bare', () => bareUrl)] : []),
  ];

  const harness: Harness = { ctx, service: service.child, bare: bare.child, bareUrl };
  const reports: ScenarioReport[] = [];
  for (const scenario of scenarios) {
    try {
      reports.push(await runScenario(harness, scenario, config));
    } catch (error) {
      problems.push(`${scenario.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      log(`  ✖ ${scenario.name} failed: ${String(error)}`);
    }
    if (service.child.process.exitCode !== null) throw new Error(`the service exited during ${scenario.name}:\n${service.child.tail()}`);
  }
  judge(reports, scenarios, pgbench);
  for (const r of reports) {
    const serverErrors = Object.entries(r.load.failures).filter(([status]) => status.startsWith('5'));
    if (serverErrors.length) {
      problems.push(`${r.name}: ${serverErrors.map(([status, n]) => `${n}×${status}`).join(', ')} — the service's log is bench/results/service.log`);
    }
  }

  await bare.child.stop();
  await service.child.stop();
  const consistency = await checkConsistency(config, counts.orders ?? 0, reports);
  for (const line of consistency) log(`  ${line}`);
  if (!process.env.BENCH_KEEP_DB) await dropDatabase(config.databaseUrl, new URL(config.databaseUrl).pathname.slice(1));
  await clearRedisPrefix(config.redisUrl);

  const results: BenchResults = {
    startedAt: startedAt.toISOString().replace(/\.\d+Z$/, 'Z'),
    finishedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    command: commandLine(),
    smoke: isSmokeRun(config),
    machine,
    settings: {
      duration_s: config.durationS,
      warmup_s: config.warmupS,
      connections: config.connections,
      users: config.users,
      listings: config.listings,
      games: config.games,
      active_users: config.activeUsers,
      mixed_users: config.mixedUsers,
      mixed_think_ms: config.mixedThinkMs,
      mixed_ramp_s: config.mixedRampS,
      pgbench_clients: config.pgbenchClients,
      pgbench_scale: config.pgbenchScale,
      profiled: config.profile,
      nproc: os.cpus().length,
    },
    seed: { seconds: seedSeconds, counts },
    ...(pgbench ? { pgbench } : {}),
    scenarios: reports,
    consistency,
    problems,
    disturbances: disturbances({ machine, scenarios: reports }),
  };
  writeResultsJson(config.resultsPath, results);
  writeReport(config.reportPath, results);
  log(`\nwrote ${config.reportPath} and ${config.resultsPath}`);
  for (const line of results.disturbances) log(`  disturbed: ${line}`);
  for (const r of reports.filter((r) => r.target)) log(`  ${r.target!.pass ? 'PASS' : 'MISS'}  ${r.title}: ${r.target!.text} (${r.target!.why})`);
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    if (error instanceof RestartedWithMoreFiles) return; // the restarted run carries on and exits for us
    console.error('benchmark failed:', error);
    await stopAll();
    process.exit(1);
  },
);
