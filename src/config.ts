// Environment → one frozen, typed Config. Parsed once at start; nothing else reads process.env.

export interface Config {
  port: number;
  /** WORKER_PORT: where a worker process (WORKERS=only) answers /healthz, /readyz and /metrics; undefined → nowhere. */
  workerPort: number | undefined;
  host: string;
  databaseUrl: string | undefined; // undefined → embedded PGlite
  databaseReplicaUrl: string | undefined;
  pgliteDataDir: string | undefined; // undefined → in-memory
  redisUrl: string | undefined;
  /** Prefix of every Redis key and channel: instances sharing one database share it (tests isolate with it). */
  redisKeyPrefix: string;
  jwtSecret: string;
  /** The secrets left unset and running on the published development values (a warning at start names them). */
  developmentSecrets: string[];
  smtpUrl: string | undefined;
  mailFrom: string;
  shopifyAdminUrl: string | undefined; // undefined → the built-in simulator
  shopifyAccessToken: string;
  shopifyWebhookSecret: string;
  shopifyWebhookSecretPrevious: string | undefined;
  paymentsWebhookSecret: string;
  jobRetryBaseMs: number;
  jobMaxAttempts: number;
  workers: 'true' | 'false' | 'only';
  seedDemo: boolean;
  rateLimitEnabled: boolean;
  rateLimit: RateLimitConfig;
  /** Fastify trustProxy: how far to trust X-Forwarded-For when deriving the client IP (rate-limit key, logs). */
  trustProxy: boolean | string[];
  logLevel: string;
  bodyLimitBytes: number;
  dbStatementTimeoutMs: number;
  dbPoolSize: number;
  publicBaseUrl: string;
  /** PUBLIC_BASE_URL was set; otherwise publicBaseUrl is derived from PORT (and corrected once the API listens). */
  publicBaseUrlGiven: boolean;
}

/** Requests allowed per window for each budget; see docs/rate-limiting.md. */
export interface RateLimitConfig {
  windowMs: number;
  perUser: number;
  perIp: number;
  purchases: number;
  grants: number;
  webhooks: number;
  adminWrites: number;
  authFailures: number;
  /** Redis key prefix of the counters; defaults to `<REDIS_KEY_PREFIX>:rl:`. */
  keyPrefix: string;
}

export const DEV_JWT_SECRET = 'battlebucks-development-secret-change-me';
export const DEV_PAYMENTS_SECRET = 'battlebucks-payments-development-secret';
export const DEV_SHOPIFY_WEBHOOK_SECRET = 'battlebucks-shopify-development-secret';

export class ConfigError extends Error {}

function str(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = str(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^[+-]?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new ConfigError(`${name} must be an integer ${range}, got "${raw}"`);
  }
  return value;
}

/** A secret: unset means the documented development default; set to blanks is a mistake (an empty secret store entry). */
function secret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  if (value !== undefined && value.trim() === '') throw new ConfigError(`${name} is set but empty: set it to the secret, or unset it to use the development default`);
  return str(env, name);
}

/** A URL whose scheme must be one of `protocols`; the value is not echoed (it may hold a password). */
function url(env: NodeJS.ProcessEnv, name: string, protocols: readonly string[]): string | undefined {
  const raw = str(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(raw);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !protocols.includes(parsed.protocol) || (parsed.hostname === '' && !parsed.searchParams.has('host'))) {
    throw new ConfigError(`${name} must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL with a host`);
  }
  return raw;
}

// TRUST_PROXY: true, false, or a comma-separated list of proxy addresses/CIDRs (proxy-addr names such as
// `loopback` work). The default trusts X-Forwarded-For only from private-network peers (a load balancer in the
// VPC): a client on the internet cannot forge its address, and therefore its per-IP rate-limit bucket.
const DEFAULT_TRUSTED_PROXIES = ['loopback', 'linklocal', 'uniquelocal'];

function trustProxy(env: NodeJS.ProcessEnv): boolean | string[] {
  const raw = str(env, 'TRUST_PROXY');
  if (raw === undefined) return DEFAULT_TRUSTED_PROXIES;
  const lower = raw.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  return raw.split(',').map((part) => part.trim()).filter(Boolean);
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = str(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function logLevel(env: NodeJS.ProcessEnv): string {
  const raw = str(env, 'LOG_LEVEL')?.toLowerCase() ?? 'info';
  if (!LOG_LEVELS.includes(raw)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const jwtSecret = secret(env, 'JWT_SECRET');
  const workersRaw = (str(env, 'WORKERS') ?? 'true').toLowerCase();
  if (!['true', '1', 'yes', 'on', 'false', '0', 'no', 'off', 'only'].includes(workersRaw)) {
    throw new ConfigError(`WORKERS must be true, false or only, got "${workersRaw}"`);
  }
  const workers = workersRaw === 'only' ? 'only' : bool({ WORKERS: workersRaw }, 'WORKERS', true) ? 'true' : 'false';
  // The embedded database lives inside one process: a worker-only process on it would work a queue nobody fills.
  if (workers === 'only' && databaseUrl === undefined) {
    throw new ConfigError('WORKERS=only needs DATABASE_URL: the embedded database is private to its process, so a separate worker would have nothing to work on');
  }
  const port = int(env, 'PORT', 3000, 0, 65_535);
  const config: Config = {
    port,
    workerPort: str(env, 'WORKER_PORT') === undefined ? undefined : int(env, 'WORKER_PORT', 0, 0, 65_535),
    host: str(env, 'HOST') ?? '0.0.0.0',
    databaseUrl,
    databaseReplicaUrl: url(env, 'DATABASE_REPLICA_URL', ['postgres:', 'postgresql:']),
    pgliteDataDir: str(env, 'PGLITE_DATA_DIR'),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisKeyPrefix: str(env, 'REDIS_KEY_PREFIX') ?? 'bb',
    jwtSecret: jwtSecret ?? DEV_JWT_SECRET,
    developmentSecrets: [
      ...(jwtSecret === undefined ? ['JWT_SECRET'] : []),
      ...(secret(env, 'PAYMENTS_WEBHOOK_SECRET') === undefined ? ['PAYMENTS_WEBHOOK_SECRET'] : []),
      ...(secret(env, 'SHOPIFY_WEBHOOK_SECRET') === undefined ? ['SHOPIFY_WEBHOOK_SECRET'] : []),
      // Only a real Shopify needs a real token: the built-in simulator takes the development one.
      ...(str(env, 'SHOPIFY_ADMIN_URL') !== undefined && str(env, 'SHOPIFY_ACCESS_TOKEN') === undefined ? ['SHOPIFY_ACCESS_TOKEN'] : []),
    ],
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom: str(env, 'MAIL_FROM') ?? 'BattleBucks Store <store@battlebucks.local>',
    shopifyAdminUrl: url(env, 'SHOPIFY_ADMIN_URL', ['http:', 'https:'])?.replace(/\/+$/, ''),
    shopifyAccessToken: str(env, 'SHOPIFY_ACCESS_TOKEN') ?? 'shpat_simulator',
    shopifyWebhookSecret: secret(env, 'SHOPIFY_WEBHOOK_SECRET') ?? DEV_SHOPIFY_WEBHOOK_SECRET,
    shopifyWebhookSecretPrevious: str(env, 'SHOPIFY_WEBHOOK_SECRET_PREVIOUS'),
    paymentsWebhookSecret: secret(env, 'PAYMENTS_WEBHOOK_SECRET') ?? DEV_PAYMENTS_SECRET,
    jobRetryBaseMs: int(env, 'JOB_RETRY_BASE_MS', 5000, 1),
    jobMaxAttempts: int(env, 'JOB_MAX_ATTEMPTS', 10, 1),
    workers,
    seedDemo: bool(env, 'SEED_DEMO', databaseUrl === undefined),
    rateLimitEnabled: bool(env, 'RATE_LIMIT_ENABLED', true),
    rateLimit: {
      windowMs: int(env, 'RATE_LIMIT_WINDOW_MS', 60_000, 100),
      perUser: int(env, 'RATE_LIMIT_PER_USER', 1200, 1),
      perIp: int(env, 'RATE_LIMIT_PER_IP', 6000, 1),
      purchases: int(env, 'RATE_LIMIT_PURCHASES', 120, 1),
      grants: int(env, 'RATE_LIMIT_GRANTS', 3000, 1),
      webhooks: int(env, 'RATE_LIMIT_WEBHOOKS', 3000, 1),
      adminWrites: int(env, 'RATE_LIMIT_ADMIN_WRITES', 1200, 1),
      authFailures: int(env, 'RATE_LIMIT_AUTH_FAILURES', 1200, 1),
      keyPrefix: str(env, 'RATE_LIMIT_KEY_PREFIX') ?? `${str(env, 'REDIS_KEY_PREFIX') ?? 'bb'}:rl:`,
    },
    trustProxy: trustProxy(env),
    logLevel: logLevel(env),
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 1024 * 1024, 1024),
    dbStatementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', 15000, 100),
    dbPoolSize: int(env, 'DB_POOL_SIZE', 20, 1),
    publicBaseUrl: str(env, 'PUBLIC_BASE_URL') ?? `http://127.0.0.1:${port}`,
    publicBaseUrlGiven: str(env, 'PUBLIC_BASE_URL') !== undefined,
    ...overrides,
  };
  return Object.freeze(config);
}
