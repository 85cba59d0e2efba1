// An invalidation resolves (and the write's response leaves) only once Redis has delivered its announcement to every
// subscriber. Redis answered the bump-and-publish script to the writer first and could write the message to the
// other instances' subscribers milliseconds later (test/support/redis-late-announcements.ts): a client that got the
// write's response and asked another instance at once was served the entry the write had replaced (found
// black-box: a price PATCH on one instance, the old price on the other's next GET, about 1 loop in 150-300).
// Real Redis behind the proxy; each test uses its own key prefix.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cache } from '../../src/platform/cache.js';
import { startLateAnnouncements, type LateAnnouncements } from '../support/redis-late-announcements.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let proxy: LateAnnouncements;
const connections: Redis[] = [];
const connection = () => {
  const redis = new Redis(proxy.url, { maxRetriesPerRequest: 1 });
  connections.push(redis);
  return redis;
};
beforeAll(async () => {
  proxy = await startLateAnnouncements();
});
afterAll(async () => {
  connections.forEach((redis) => redis.disconnect());
  await proxy?.close();
});

describe('an announcement that reaches the subscribers after the writer has its answer', () => {
  it('when an invalidation has resolved on one instance, then the next read on another instance shows the write', async () => {
    const keyPrefix = `bb-test-${randomUUID()}`;
    const writer = new Cache({ redis: connection(), subscriber: connection(), logger, keyPrefix });
    const reader = new Cache({ redis: connection(), subscriber: connection(), logger, keyPrefix });
    await Promise.all([writer.start(), reader.start()]);
    await sleep(50);

    let price = 300;
    const read = () => reader.wrap('storefront', 'one:listing', 60_000, async () => ({ price }));
    expect(await read()).toEqual({ price: 300 }); // the reader now serves it from its own memory, asking nobody

    proxy.holdMessages();
    price = 250; // the write commits...
    await writer.invalidate('storefront'); // ...and its response waits for this
    // The response travels to the client, which then sends its next request to the reader: time enough for anything
    // already on the reader's socket to be handled. (A held message stays held however long this is.)
    await sleep(20);
    expect(await read()).toEqual({ price: 250 });
  });
});
