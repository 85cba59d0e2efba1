// Wires one process: database (migrated), Redis (optional), cache, job queue, services and the HTTP app.
// main.ts, the worker role, tests and the benchmark all start the service through here.
import { whileHoldingSessionLock } from './platform/session-lock.js';
import { pino, type Logger } from 'pino';
import type { Redis } from 'ioredis';
import { ConfigError, type Config } from './config.js';
import type { CoreDeps } from './context.js';
import { openDatabase, type Database } from './platform/db.js';
import { migrate } from './db/migrate.js';
import { Cache } from './platform/cache.js';
import { Jobs } from './platform/jobs.js';
import { connectRedis, waitForRedis } from './platform/redis.js';
import { createServices, type Services } from './services.js';
import { buildApp } from './app.js';
import { seedDemoCatalog } from './db/seed-demo.js';
import { startWorkers, type WorkersHandle } from './workers.js';
import type { App } from './platform/http/types.js';
import { watchPool } from './platform/metrics.js';
import { startOperationsServer, type OperationsServer } from './platform/http/operations-server.js';

export interface Runtime {
  config: Config;
  deps: CoreDeps;
  services: Services;
  app: App;
  startWorkers(): Promise<WorkersHandle>;
  /**
   * A process that serves no API (WORKERS=only) answers /healthz, /readyz and /metrics here (operations-server.ts);
   * closed with the runtime.
   */
  serveOperations(where: { port: number; host: string }): Promise<OperationsServer>;
  close(): Promise<void>;
}

/** The URL without its password, for messages. */
function redactUrl(raw: string): string {
  try {
    const parsed = new URL(raw);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-shopify-hmac-sha256"]', 'req.headers["x-signature"]', '*.password', 'config.jwtSecret'],
      censor: '[redacted]',
    },
  });
}

/** Session advisory lock under which an instance seeds the demo catalog (jobs.ts uses 4242002, migrations their own). */
const DEMO_SEED_LOCK_KEY = 4242003;

/**
 * Runs the demo seed with no other instance seeding the same database: the seed looks each game, item and listing up
 * and creates it when missing, so two instances started together on an empty database both found a SKU missing and
 * the second create failed ("an item with this sku already exists"), which stopped that instance at start. The second
 * instance now waits for the lock (platform/session-lock.ts) and then finds the seed done (its marker row).
 */
async function whileSeedingAlone(config: Config, db: Database, logger: Logger, work: () => Promise<void>): Promise<void> {
  if (db.engine !== 'postgres' || !config.databaseUrl) return work();
  await whileHoldingSessionLock({ connectionString: config.databaseUrl, applicationName: 'battlebucks-demo-seed' }, DEMO_SEED_LOCK_KEY, logger, work);
}

export async function createRuntime(config: Config, options: { logger?: Logger; db?: Database } = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config);
  // The development values are published in the README: anyone could sign tokens, top-ups or Shopify webhooks.
  if (config.developmentSecrets.length > 0) {
    logger.warn({ secrets: config.developmentSecrets }, `${config.developmentSecrets.join(', ')} not set: using the published development values. Never do this in production.`);
  }

  const db = options.db ?? (await openDatabase({
    url: config.databaseUrl,
    replicaUrl: config.databaseReplicaUrl,
    pgliteDataDir: config.pgliteDataDir,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    poolSize: config.dbPoolSize,
    logger,
  }));
  if (!options.db && config.databaseUrl) {
    // Before anything else: a DATABASE_URL naming a database that does not exist, a wrong host or a refused login
    // stops the start with one line naming the variable (main.ts), not a driver error from deep in the migrations.
    try {
      await db.ping();
    } catch (error) {
      await db.close().catch(() => undefined);
      throw new ConfigError(`DATABASE_URL: cannot use the database at ${redactUrl(config.databaseUrl)}: ${(error as Error).message}`);
    }
  }
  const unwatchPool = watchPool(db.pool);
  const applied = await migrate(db);
  if (applied.length) logger.info({ applied, engine: db.engine }, 'migrations applied');

  let redis: Redis | undefined;
  let subscriber: Redis | undefined;
  if (config.redisUrl) {
    redis = connectRedis(config.redisUrl, logger, 'commands');
    subscriber = connectRedis(config.redisUrl, logger, 'subscriber');
    if (!(await waitForRedis(redis))) logger.warn('redis not reachable at start: running with in-process cache and limits until it is');
  }
  const cache = new Cache({ redis, subscriber, logger, keyPrefix: config.redisKeyPrefix });
  await cache.start().catch((error: unknown) => logger.warn({ err: error }, 'cache invalidation channel unavailable'));

  const jobs = new Jobs(db, { retryBaseMs: config.jobRetryBaseMs, maxAttempts: config.jobMaxAttempts, logger });
  await jobs.start();

  const deps: CoreDeps = { config, db, cache, jobs, logger, redis };
  const services = createServices(deps);
  await services.inventory.beginCacheGeneration();
  if (config.seedDemo) await whileSeedingAlone(config, db, logger, () => seedDemoCatalog(services, db, logger));
  const app = await buildApp(deps, services);

  let closed = false;
  let operations: OperationsServer | undefined;
  return {
    config,
    deps,
    services,
    app,
    startWorkers: () => startWorkers(deps, services),
    async serveOperations(where) {
      operations = await startOperationsServer({ db, cache, logger }, where);
      return operations;
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close(); // stops accepting, finishes in-flight requests
      await operations?.close(); // a worker's probes and scrapes: the ones in flight are answered
      await jobs.stop(); // finishes running jobs
      redis?.disconnect();
      subscriber?.disconnect();
      if (!options.db) await db.close();
      unwatchPool();
    },
  };
}
