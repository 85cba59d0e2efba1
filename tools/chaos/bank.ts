// The bank test (after Jepsen's): players move gems through the real service in parallel while the harness kills
// the API with SIGKILL, kills the worker in the middle of a delivery, and makes Shopify and SMTP fail or hang.
// Afterwards the database must still balance to the gem, and agree with everything the service acknowledged.
// `npm run chaos` runs it in full (tools/chaos/main.ts); test/reliability/bank.test.ts runs a short version.
import { randomUUID } from 'node:crypto';
import { openDatabase } from '../../src/platform/db.js';
import { signToken } from '../../src/platform/auth.js';
import { buildService, serviceProcess, freePort, type ServiceProcess } from './processes.js';
import { startChaosSmtp, type ChaosSmtp } from './smtp.js';
import { startChaosShopify, type ChaosShopify } from './shopify.js';
import { seedChaosCatalog } from './catalog.js';
import { call, sleep } from './client.js';
import { newObservations, runPlayer, seededRandom, type Observations, type Player, type WorkloadContext } from './workload.js';
import { checkInvariants, type InvariantReport } from './invariants.js';

export interface BankOptions {
  /** An empty database (the API migrates it at start). */
  databaseUrl: string;
  redisUrl?: string;
  players: number;
  /** How long players run while faults are injected. */
  chaosMs: number;
  /** After healing: how long to wait for open deliveries to finish before checking. */
  settleMs: number;
  /** After settling: how long to keep re-asking unresolved requests (a slow retry policy's last chance to learn an outcome). */
  resolveMs: number;
  /** Pause between two faults (random within). */
  faultGapMs: [number, number];
  seed: number;
  log?: (message: string) => void;
}

export type FaultKind = 'api-sigkill' | 'worker-sigkill-mid-send' | 'worker-sigterm' | 'smtp-reject' | 'smtp-hang' | 'shopify-errors' | 'shopify-hang';

export interface BankReport {
  seed: number;
  players: number;
  wallClockMs: number;
  operations: number;
  operationsByKind: Record<string, number>;
  httpAnswers: number;
  answersByKindAndStatus: Record<string, number>;
  requestsWithoutAnswer: number;
  retriesWithSameKey: number;
  acknowledged: { orders: number; refunds: number; topUps: number; grants: number };
  unresolvedAfterRetries: number;
  unexpected5xx: Observations['serverErrors'];
  faults: Array<{ atMs: number; kind: FaultKind; detail: string }>;
  faultCounts: Record<string, number>;
  kills: { apiSigkill: number; workerSigkill: number; workerSigkillMidSend: number; workerSigterm: number };
  shopify: { requests: number; ordersCreated: number; faultedRequests: number; hungRequests: number };
  smtp: { mailsReceived: number; duplicateMessageIds: number; rejected: number; hung: number };
  finalShutdown: Array<{ name: string; code: number | null; signal: string | null }>;
  /** Graceful worker stops (SIGTERM) during the run that did not exit 0, with their last warnings. */
  gracefulStopFailures: Array<{ exit: { code: number | null; signal: string | null }; log: string[] }>;
  invariants: InvariantReport;
}

const JWT_SECRET = 'chaos-jwt-secret-never-used-elsewhere';
const PAYMENTS_SECRET = 'chaos-payments-webhook-secret';
const SHOPIFY_SECRET = 'chaos-shopify-webhook-secret';
const SHOPIFY_TOKEN = 'shpat_chaos';

export async function runBank(options: BankOptions): Promise<BankReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const random = seededRandom(options.seed);
  const tag = randomUUID().slice(0, 8);
  const smtp: ChaosSmtp = await startChaosSmtp({ socketTimeoutMs: 4000 });
  const port = await freePort();
  const shopify: ChaosShopify = await startChaosShopify({ webhookUrl: `http://127.0.0.1:${port}/webhooks/shopify`, webhookSecret: SHOPIFY_SECRET, accessToken: SHOPIFY_TOKEN, autoAdvanceMs: 300 });
  const env: Record<string, string> = {
    DATABASE_URL: options.databaseUrl,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: `bb-chaos-${tag}` } : {}),
    JWT_SECRET,
    PAYMENTS_WEBHOOK_SECRET: PAYMENTS_SECRET,
    SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET,
    SHOPIFY_ACCESS_TOKEN: SHOPIFY_TOKEN,
    SHOPIFY_ADMIN_URL: shopify.adminUrl,
    SMTP_URL: smtp.url,
    RATE_LIMIT_ENABLED: 'false',
    SEED_DEMO: 'false',
    JOB_RETRY_BASE_MS: '1000',
    JOB_MAX_ATTEMPTS: '5',
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
  };
  const build = await buildService();
  const api: ServiceProcess = serviceProcess({ name: 'api', role: 'api', port, env, build });
  // The worker announces readiness at info level ('worker process started').
  const worker: ServiceProcess = serviceProcess({ name: 'worker', role: 'worker', env: { ...env, LOG_LEVEL: 'info' }, build });
  const db = await openDatabase({ url: options.databaseUrl, poolSize: 3 });
  const observations = newObservations();
  const faults: BankReport['faults'] = [];
  const kills = { apiSigkill: 0, workerSigkill: 0, workerSigkillMidSend: 0, workerSigterm: 0 };
  const gracefulFailures: BankReport['gracefulStopFailures'] = [];
  const fault = (kind: FaultKind, detail: string) => {
    faults.push({ atMs: Date.now() - started, kind, detail });
    log(`fault ${kind}: ${detail}`);
  };

  try {
    await api.start();
    await worker.start();
    const token = (role: 'admin' | 'service' | 'player', sub = randomUUID()) => signToken(JWT_SECRET, { sub, role, email: `${sub.slice(0, 8)}@chaos.test` }, '2h');
    const adminToken = await token('admin');
    const serviceToken = await token('service');
    const catalog = await seedChaosCatalog(api.baseUrl, adminToken, { tag, voucherCodes: 40 * options.players, limitedStock: 3 * options.players, merchStock: 2 * options.players });
    const players: Player[] = [];
    for (let i = 0; i < options.players; i++) {
      const id = randomUUID();
      const player = { id, token: await token('player', id) };
      const funded = await call(api.baseUrl, 'POST', '/service/grants', { token: serviceToken, body: { userId: id, gems: 1500, reason: 'starting balance' }, headers: { 'idempotency-key': randomUUID() } });
      if (funded.status !== 201) throw new Error(`funding a player answered ${funded.status}: ${JSON.stringify(funded.body)}`);
      observations.grants.set(funded.body.id, { userId: id, gems: 1500 });
      players.push(player);
    }
    log(`seeded: ${options.players} players, catalog ${JSON.stringify(catalog.limited)}`);

    const ctx: WorkloadContext = {
      baseUrl: () => api.baseUrl,
      catalog,
      serviceToken,
      adminToken,
      paymentsSecret: PAYMENTS_SECRET,
      observations,
      random,
      // Longer than an API restart under load, so an unanswered request is retried across it.
      retryWindowMs: 20_000,
    };
    const deadline = Date.now() + options.chaosMs;
    const characters = new Map<string, string>();
    const playing = Promise.all(players.map((player) => runPlayer(ctx, player, deadline, characters)));

    // Every kind of fault comes up in turn, so even a short run injects each of them at least once.
    // The two kills come first because an API restart is the slowest step on a loaded machine.
    const rotation: FaultKind[] = ['shopify-errors', 'worker-sigkill-mid-send', 'api-sigkill', 'smtp-reject', 'shopify-hang', 'api-sigkill', 'smtp-hang', 'worker-sigterm'];
    const between = () => options.faultGapMs[0] + Math.floor(random() * (options.faultGapMs[1] - options.faultGapMs[0]));
    const faultFor = (min: number, max: number) => min + Math.floor(random() * (max - min));
    for (let i = 0; Date.now() + options.faultGapMs[0] < deadline; i++) {
      await sleep(between());
      if (Date.now() >= deadline) break;
      const kind = rotation[i % rotation.length]!;
      switch (kind) {
        case 'api-sigkill': {
          const exit = await api.kill('SIGKILL');
          kills.apiSigkill++;
          fault(kind, `API killed (${exit.signal}); restarting`);
          await api.start();
          break;
        }
        case 'worker-sigkill-mid-send': {
          // Make a send hang, wait until a delivery is inside it, then kill the worker holding it.
          const before = smtp.hung;
          smtp.setMode('hang');
          const midSend = await waitUntil(() => smtp.hung > before, 8000);
          await worker.kill('SIGKILL');
          kills.workerSigkill++;
          if (midSend) kills.workerSigkillMidSend++;
          fault(kind, midSend ? 'worker killed while an SMTP send hung' : 'worker killed (no send was in flight)');
          smtp.setMode('accept');
          await worker.start();
          break;
        }
        case 'worker-sigterm': {
          const from = worker.logs.length;
          const exit = await worker.kill('SIGTERM');
          kills.workerSigterm++;
          fault(kind, `worker stopped gracefully (exit ${exit.code ?? exit.signal}); restarting`);
          if (exit.code !== 0) {
            // Warnings and errors, and any line that is not pino JSON (an uncaught exception's stack on stderr).
            gracefulFailures.push({ exit, log: worker.logs.slice(from).filter((line) => /"level":(40|50|60)/.test(line) || !line.startsWith('{')).slice(-10) });
          }
          await worker.start();
          break;
        }
        case 'smtp-reject':
        case 'smtp-hang': {
          const ms = faultFor(2000, 5000);
          smtp.setMode(kind === 'smtp-reject' ? 'reject' : 'hang');
          fault(kind, `SMTP ${kind === 'smtp-reject' ? 'answers 451' : 'hangs'} for ${ms} ms`);
          await sleep(ms);
          smtp.setMode('accept');
          break;
        }
        case 'shopify-errors': {
          const unavailable = 2 + Math.floor(random() * 4);
          shopify.injectFaults({ unavailable, throttled: { count: 2, retryAfterSeconds: 1 }, dropOrderCreateResponse: 2 });
          fault(kind, `Shopify: next ${unavailable} calls 503, then 2× 429 Retry-After 1, 2 orderCreate responses lost`);
          break;
        }
        case 'shopify-hang': {
          const ms = faultFor(2000, 5000);
          shopify.setHanging(true);
          fault(kind, `Shopify hangs for ${ms} ms`);
          await sleep(ms);
          shopify.setHanging(false);
          break;
        }
      }
    }
    await playing;
    smtp.setMode('accept');
    shopify.heal();
    if (!api.running) await api.start();
    if (!worker.running) await worker.start();
    log(`chaos over after ${Date.now() - started} ms: ${faults.length} faults; settling`);

    await waitUntil(async () => (await openDeliveriesReady(db)) === 0, options.settleMs);
    if (options.resolveMs > 0 && observations.unresolved.length > 0) {
      const until = Date.now() + options.resolveMs;
      let open = [...observations.unresolved];
      while (open.length > 0 && Date.now() < until) {
        const answered = await Promise.all(open.map((request) => request.retry()));
        open = open.filter((_, i) => !answered[i]);
        if (open.length > 0) await sleep(2000);
      }
      observations.unresolved.splice(0, observations.unresolved.length, ...open);
    }

    const invariants = await checkInvariants(db, observations, { limitedListingIds: [catalog.limited.listingId, catalog.merch.listingId], voucherItemId: catalog.voucher.itemId });
    const finalShutdown = [];
    for (const service of [api, worker]) {
      const exit = await service.kill('SIGTERM');
      finalShutdown.push({ name: service.name, code: exit.code, signal: exit.signal });
    }
    const messageIds = smtp.mails.map((mail) => mail.messageId);
    const operations = Object.values(observations.ops).reduce((a, b) => a + b, 0);
    const faultCounts: Record<string, number> = {};
    for (const f of faults) faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
    return {
      seed: options.seed,
      players: options.players,
      wallClockMs: Date.now() - started,
      operations,
      operationsByKind: observations.ops,
      httpAnswers: Object.values(observations.answers).reduce((a, b) => a + b, 0),
      answersByKindAndStatus: observations.answers,
      requestsWithoutAnswer: observations.noAnswer,
      retriesWithSameKey: observations.retriesSameKey,
      acknowledged: { orders: observations.orders.size, refunds: observations.refunds.size, topUps: observations.topUps.size, grants: observations.grants.size },
      unresolvedAfterRetries: observations.unresolved.length,
      unexpected5xx: observations.serverErrors,
      faults,
      faultCounts,
      kills,
      shopify: {
        requests: shopify.simulator.requests.length,
        ordersCreated: shopify.simulator.orders.length,
        faultedRequests: shopify.simulator.requests.filter((r) => r.status !== 200).length,
        hungRequests: shopify.hung,
      },
      smtp: { mailsReceived: smtp.mails.length, duplicateMessageIds: messageIds.length - new Set(messageIds).size, rejected: smtp.rejected, hung: smtp.hung },
      finalShutdown,
      gracefulStopFailures: gracefulFailures,
      invariants,
    };
  } catch (error) {
    const tail = (service: ServiceProcess) => `${service.name} log tail:\n${service.logs.slice(-15).join('\n')}`;
    throw new Error(`${(error as Error).message}\n${tail(api)}\n${tail(worker)}`, { cause: error });
  } finally {
    await api.kill('SIGKILL').catch(() => undefined);
    await worker.kill('SIGKILL').catch(() => undefined);
    await shopify.close().catch(() => undefined);
    await smtp.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    await build.dispose();
  }
}

/** Pending deliveries a live worker could run now (not scheduled for later, not held by a killed worker's job). */
async function openDeliveriesReady(db: { query: (sql: string) => Promise<{ rows: Array<{ n: number }> }> }): Promise<number> {
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'fulfillment-deliver' AND state IN ('created', 'retry') AND start_after <= now() + interval '3 seconds'`,
  );
  return rows[0]?.n ?? 0;
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}
