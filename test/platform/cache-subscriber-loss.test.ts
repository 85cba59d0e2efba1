// An instance whose invalidation subscriber drops while its command connection stays up (Redis killing a slow
// subscriber at its pub/sub output-buffer limit, a proxy's idle timeout, CLIENT KILL) cannot hear other instances'
// writes until the subscriber is back. It must not keep trusting the versions it had learned: those would hide every
// write made elsewhere meanwhile, a player's purchase on one instance missing from their inventory read on the next.
// Real Redis; each test uses its own key prefix.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/platform/cache.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { useRedisConnections } from '../support/redis-connections.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const connection = useRedisConnections();
const slowSubscribers: Redis[] = [];
afterAll(() => slowSubscribers.forEach((redis) => redis.disconnect()));

/** A subscriber that takes its time to come back after it is dropped (production's waits up to 2 s per attempt). */
async function slowToReconnect(): Promise<{ subscriber: Redis; clientId: number }> {
  const subscriber = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: () => 60_000 });
  slowSubscribers.push(subscriber);
  const clientId = Number(await subscriber.client('ID'));
  return { subscriber, clientId };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await sleep(5);
  expect(check()).toBe(true);
}

function source() {
  let value = 1;
  return { set: (v: number) => (value = v), load: async () => ({ value }) };
}

describe('an instance that loses its invalidation subscriber (its commands still answered)', () => {
  it('when another instance writes while the subscriber is away, then the next read shows the write (no version learned before is trusted)', async () => {
    const keyPrefix = `bb-test-${randomUUID()}`;
    const { subscriber, clientId } = await slowToReconnect();
    const writer = new Cache({ redis: connection(), subscriber: connection(), logger, keyPrefix });
    const reader = new Cache({ redis: connection(), subscriber, logger, keyPrefix });
    await Promise.all([writer.start(), reader.start()]);
    const db = source();
    const dbOfWriter = { load: db.load };

    // Both instances have read the page (and its namespace's version) while everyone listened.
    expect(await reader.wrap('inv:p', 'page', 60_000, db.load)).toEqual({ value: 1 });
    expect(await writer.wrap('inv:p', 'page', 60_000, dbOfWriter.load)).toEqual({ value: 1 });

    await connection().client('KILL', 'ID', String(clientId));
    await until(() => subscriber.status !== 'ready');

    db.set(2);
    await writer.invalidate('inv:p'); // announced, but the reader is not listening
    expect(await reader.wrap('inv:p', 'page', 60_000, db.load)).toEqual({ value: 2 });

    // And every later write too, however soon after the last read, for as long as the subscriber stays away.
    for (let v = 3; v <= 6; v++) {
      db.set(v);
      await writer.invalidate('inv:p');
      expect(await reader.wrap('inv:p', 'page', 60_000, db.load)).toEqual({ value: v });
    }
  });

  it('when the reader\'s own write is made while its subscriber is away, then another instance\'s next write still shows on it', async () => {
    const keyPrefix = `bb-test-${randomUUID()}`;
    const { subscriber, clientId } = await slowToReconnect();
    const writer = new Cache({ redis: connection(), subscriber: connection(), logger, keyPrefix });
    const reader = new Cache({ redis: connection(), subscriber, logger, keyPrefix });
    await Promise.all([writer.start(), reader.start()]);
    const db = source();
    expect(await reader.wrap('inv:p', 'page', 60_000, db.load)).toEqual({ value: 1 });

    await connection().client('KILL', 'ID', String(clientId));
    await until(() => subscriber.status !== 'ready');

    db.set(2);
    await reader.invalidate('inv:p'); // the reader's own write: bumped in Redis
    expect(await reader.wrap('inv:p', 'page', 60_000, db.load)).toEqual({ value: 2 });
    db.set(3);
    await writer.invalidate('inv:p'); // the other instance's write, unheard by the reader
    expect(await reader.wrap('inv:p', 'page', 60_000, db.load)).toEqual({ value: 3 });
  });

  it('when the subscriber comes back, then versions are trusted again (a hit asks Redis nothing)', async () => {
    const keyPrefix = `bb-test-${randomUUID()}`;
    const subscriber = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    slowSubscribers.push(subscriber);
    const clientId = Number(await subscriber.client('ID'));
    const reader = new Cache({ redis: connection(), subscriber, logger, keyPrefix });
    await reader.start();
    const channel = `${keyPrefix}:cache:invalidate`;
    const subscribers = async () => ((await connection().call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1];

    await connection().client('KILL', 'ID', String(clientId));
    await until(() => subscriber.status !== 'ready');
    const deadline = Date.now() + 3000;
    while ((await subscribers()) < 1 && Date.now() < deadline) await sleep(20);
    expect(await subscribers()).toBe(1);
    await sleep(50);

    let loads = 0;
    const load = async () => ({ n: ++loads });
    await reader.invalidate('ns'); // the namespace has a version in Redis (not the 0 of a missing key)
    expect(await reader.wrap('ns', 'k', 60_000, load)).toEqual({ n: 1 });
    // Delete the version key and the entry behind the cache's back: a reader that asked Redis would now see another
    // version (0) and miss; one that trusts its version answers from its local copy.
    await connection().del(...(await connection().keys(`${keyPrefix}:*`)));
    expect(await reader.wrap('ns', 'k', 60_000, load)).toEqual({ n: 1 });
  });
});
