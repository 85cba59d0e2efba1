// Redis connections (when REDIS_URL is set). Commands fail fast instead of queueing while Redis is down, so a
// Redis outage degrades cache and rate limits to in-process instead of stalling requests.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export function connectRedis(url: string, logger: Logger, role: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 500,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  let warned = false;
  redis.on('error', (error) => {
    if (!warned) logger.warn({ err: error, role }, 'redis connection error');
    warned = true;
  });
  redis.on('ready', () => {
    if (warned) logger.info({ role }, 'redis connection restored');
    warned = false;
  });
  return redis;
}

/** Resolves once the connection is ready, or after timeoutMs (the caller then runs degraded). */
export function waitForRedis(redis: Redis, timeoutMs = 3000): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
