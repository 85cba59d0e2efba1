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

  it('when an instance\'s subscriber connects only after start, then other instances\' invalidations still reach it', async () => {
    // The bug this pins: under load the subscriber was not connected yet when start() subscribed, the subscription
    // failed once and was never made, and the instance served old entries until its version expired.
    const keyPrefix = `bb-test-${randomUUID()}`;
    const channel = `${keyPrefix}:cache:invalidate`;
    const lateSubscriber = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    const otherSubscriber = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const late = new Cache({ redis, subscriber: lateSubscriber, logger, keyPrefix });
      await late.start(); // nothing to subscribe with yet
      const writer = new Cache({ redis, subscriber: otherSubscriber, logger, keyPrefix });
      await writer.start();
      const subscribers = async () => ((await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1];
      const waitForSubscribers = async (n: number) => {
        const deadline = Date.now() + 3000;
        while ((await subscribers()) < n && Date.now() < deadline) await sleep(20);
        return subscribers();
      };
      expect(await waitForSubscribers(1)).toBe(1); // the writer subscribes as soon as its subscriber is ready
      await sleep(100);
      expect(await subscribers()).toBe(1); // the late one has not: it is not connected

      await lateSubscriber.connect();
      expect(await waitForSubscribers(2)).toBe(2);

      const loader = countingLoader();
      expect(await late.wrap('ns', 'k', 60_000, loader.load)).toEqual({ n: 1 });
      await writer.invalidate('ns');
      const until = Date.now() + 2000;
      let value = await late.wrap('ns', 'k', 60_000, loader.load);
      while (value.n === 1 && Date.now() < until) {
        await sleep(20);
        value = await late.wrap('ns', 'k', 60_000, loader.load);
      }
      expect(value).toEqual({ n: 2 });
    } finally {
      lateSubscriber.disconnect();
      otherSubscriber.disconnect();
    }
  });
});
