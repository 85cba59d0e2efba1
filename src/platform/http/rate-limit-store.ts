// Rate-limit counters in Redis when it answers, in process memory when it does not. @fastify/rate-limit's own
// RedisStore fails the request (or, with skipOnError, stops limiting) when Redis is down; this store keeps
// limiting per instance instead, logs the switch once, and goes back to Redis when it is ready again.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void;

interface CounterStore {
  incr(key: string, callback: IncrCallback, timeWindow: number, max: number): void;
}

// The plugin's two stores (fixed window, INCR + PEXPIRE in one Lua call) are reused as they are; the package has
// no `exports` map and ships them as CommonJS without typings.
const require = createRequire(import.meta.url);
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean, cacheSize: number) => CounterStore;
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, prefix: string) => CounterStore;

export interface FailoverStoreOptions {
  redis: Redis | undefined;
  keyPrefix: string;
  logger: Logger;
  /** In-process counters kept (LRU); an evicted key starts a fresh window. */
  localKeys?: number;
  /** After a Redis error, how long to count in process before trying Redis again (a hung Redis costs one timeout, not one per request). */
  retryAfterErrorMs?: number;
}

export class FailoverStore {
  private readonly local: CounterStore;
  private readonly remote: CounterStore | undefined;
  private readonly redis: Redis | undefined;
  private readonly logger: Logger;
  private readonly retryAfterErrorMs: number;
  private degradedUntil = 0;
  private degraded = false;

  constructor(options: FailoverStoreOptions) {
    this.local = new LocalStore(false, false, options.localKeys ?? 100_000);
    this.redis = options.redis;
    this.remote = options.redis ? new RedisStore(false, false, options.redis, options.keyPrefix) : undefined;
    this.logger = options.logger;
    this.retryAfterErrorMs = options.retryAfterErrorMs ?? 2000;
  }

  /** True while counters are per instance although Redis is configured. */
  get isDegraded(): boolean {
    return this.degraded;
  }

  incr(key: string, callback: IncrCallback, timeWindow: number, max: number): void {
    if (!this.remote || !this.redisUsable()) {
      if (this.remote) this.markDegraded(undefined);
      this.local.incr(key, callback, timeWindow, max);
      return;
    }
    this.remote.incr(
      key,
      (error, result) => {
        if (error || !result) {
          this.markDegraded(error ?? undefined);
          this.degradedUntil = Date.now() + this.retryAfterErrorMs;
          this.local.incr(key, callback, timeWindow, max);
          return;
        }
        this.markHealthy();
        callback(null, result);
      },
      timeWindow,
      max,
    );
  }

  /** The plugin asks for a child store per route with its own options; budgets are told apart by key instead. */
  child(): this {
    return this;
  }

  private redisUsable(): boolean {
    return this.redis?.status === 'ready' && Date.now() >= this.degradedUntil;
  }

  private markDegraded(error: Error | undefined): void {
    if (this.degraded) return;
    this.degraded = true;
    this.logger.warn({ err: error }, 'rate limits: Redis unavailable, counting per instance until it is back');
  }

  private markHealthy(): void {
    if (!this.degraded) return;
    this.degraded = false;
    this.logger.info('rate limits: Redis back, counters shared across instances again');
  }
}
