// How long an in-process copy lives: as long as its namespace version is trusted while Redis is up (a refill
// from Redis would fetch the same entry), only localTtlMs while Redis is down (nobody can tell us of a write).
// Real Redis; each test uses its own key prefix.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/platform/cache.js';
import { TEST_REDIS_URL } from '../support/env.js';

const logger = pino({ level: 'silent' });
let redis: Redis;
let subscriber: Redis;

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  subscriber = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  await Promise.all([redis.ping(), subscriber.ping()]);
});
afterAll(async () => {
  redis?.disconnect();
  subscriber?.disconnect();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function countingLoader() {
  let calls = 0;
  return { load: async () => ({ n: ++calls }), get calls() { return calls; } };
}

describe('in-process copy lifetimes', () => {
  it('when Redis is up, then a copy outlives localTtlMs (no Redis read) until the version is no longer trusted, and an invalidation still reaches it at once', async () => {
    const keyPrefix = `bb-test-${randomUUID()}`;
    const cache = new Cache({ redis, subscriber, logger, keyPrefix, localTtlMs: 40, versionTtlMs: 10_000 });
    await cache.start();
    const loader = countingLoader();
    const first = await cache.wrap('ns', 'k', 60_000, loader.load);
    expect(first).toEqual({ n: 1 });

    // Delete the Redis copy behind the cache's back: a read that went to Redis would now miss and reload.
    const keys = await redis.keys(`${keyPrefix}:c:*`);
    expect(keys).toHaveLength(1);
    await redis.del(...keys);
    await sleep(120);
    expect(await cache.wrap('ns', 'k', 60_000, loader.load)).toBe(first); // the very same local object
    expect(loader.calls).toBe(1);

    await cache.invalidate('ns');
    expect(await cache.wrap('ns', 'k', 60_000, loader.load)).toEqual({ n: 2 });
    expect(loader.calls).toBe(2);
  });

  it('when Redis is not there, then a copy expires after localTtlMs and is rebuilt', async () => {
    const cache = new Cache({ logger, keyPrefix: `bb-test-${randomUUID()}`, localTtlMs: 40, versionTtlMs: 10_000 });
    const loader = countingLoader();
    expect(await cache.wrap('ns', 'k', 60_000, loader.load)).toEqual({ n: 1 });
    expect(await cache.wrap('ns', 'k', 60_000, loader.load)).toEqual({ n: 1 });
    await sleep(120);
    expect(await cache.wrap('ns', 'k', 60_000, loader.load)).toEqual({ n: 2 });
  });

  it('when a copy is older than its own ttl, then it is rebuilt whatever the version lifetime', async () => {
    const cache = new Cache({ redis, subscriber, logger, keyPrefix: `bb-test-${randomUUID()}`, localTtlMs: 40, versionTtlMs: 10_000 });
    const loader = countingLoader();
    await cache.wrap('ns', 'k', 60, loader.load);
    await sleep(150);
    expect(await cache.wrap('ns', 'k', 60, loader.load)).toEqual({ n: 2 });
  });
});
