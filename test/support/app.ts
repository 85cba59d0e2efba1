// Starts the real service for a test file: its own PostgreSQL database, optional Redis, real HTTP.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { signToken, type Role } from '../../src/platform/auth.js';
import { createTestDatabase } from './database.js';
import { TEST_REDIS_URL } from './env.js';

export const TEST_JWT_SECRET = 'test-secret-for-battlebucks-tests-only';

export interface TestApp {
  runtime: Runtime;
  config: Config;
  /** Real HTTP base URL (the app listens on an ephemeral port). */
  baseUrl: string;
  token(role?: Role, sub?: string, claims?: { email?: string; name?: string }): Promise<string>;
  /** A new player: id and token. */
  player(claims?: { email?: string; name?: string }): Promise<{ id: string; token: string }>;
  adminToken: string;
  serviceToken: string;
  request(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface StartOptions {
  redis?: boolean;
  workers?: boolean;
  env?: Record<string, string>;
  config?: Partial<Config>;
  databaseUrl?: string;
}

export async function startTestApp(options: StartOptions = {}): Promise<TestApp> {
  const database = options.databaseUrl ? { url: options.databaseUrl, drop: async () => undefined } : await createTestDatabase();
  const config = loadConfig(
    {
      DATABASE_URL: database.url,
      JWT_SECRET: TEST_JWT_SECRET,
      RATE_LIMIT_ENABLED: 'false',
      WORKERS: options.workers ? 'true' : 'false',
      SEED_DEMO: 'false',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      JOB_RETRY_BASE_MS: '1000',
      JOB_MAX_ATTEMPTS: '3',
      // Test files share one Redis: keys are prefixed by the database, so only instances of one test share entries.
      REDIS_KEY_PREFIX: `bb-${new URL(database.url).pathname.slice(1)}`,
      ...(options.redis ? { REDIS_URL: TEST_REDIS_URL } : {}),
      ...options.env,
    },
    options.config,
  );
  const runtime = await createRuntime(config, { logger: pino({ level: config.logLevel }) });
  if (options.workers) await runtime.startWorkers();
  const baseUrl = await runtime.app.listen({ port: 0, host: '127.0.0.1' });

  const token = (role: Role = 'player', sub: string = randomUUID(), claims: { email?: string; name?: string } = {}) =>
    signToken(TEST_JWT_SECRET, { sub, role, ...claims });
  const adminToken = await token('admin');
  const serviceToken = await token('service');

  return {
    runtime,
    config,
    baseUrl,
    token,
    adminToken,
    serviceToken,
    async player(claims = {}) {
      const id = randomUUID();
      return { id, token: await token('player', id, { email: `${id.slice(0, 8)}@players.test`, ...claims }) };
    },
    async request(method, path, { token: bearer, body, headers = {} } = {}) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    async close() {
      await runtime.close();
      await database.drop();
    },
  };
}
