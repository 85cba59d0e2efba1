// Invalidations are batched: the namespaces of every write made while an earlier batch is on its way go to Redis in
// one command and reach the other instances in one pub/sub message. Real Redis; each test uses its own key prefix.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/platform/cache.js';
import { useRedisConnections } from '../support/redis-connections.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const connection = useRedisConnections();

/** Two instances sharing one Redis, and a raw subscriber that records every announcement on their channel. */
async function twoInstances() {
  const keyPrefix = `bb-test-${randomUUID()}`;
  const writer = new Cache({ redis: connection(), subscriber: connection(), logger, keyPrefix });
  const reader = new Cache({ redis: connection(), subscriber: connection(), logger, keyPrefix });
  await Promise.all([writer.start(), reader.start()]);
  const messages: string[] = [];
  const listener = connection();
  listener.on('message', (_channel: string, message: string) => messages.push(message));
  await listener.subscribe(`${keyPrefix}:cache:invalidate`);
  return { writer, reader, messages, keyPrefix };
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(20);
  }
  return check();
}

describe('batched invalidation', () => {
  it('when 30 writes invalidate their namespaces at once, then one message announces all of them and the other instance drops every entry', async () => {
    const { writer, reader, messages } = await twoInstances();
    const namespaces = Array.from({ length: 30 }, (_, i) => `inv:${i}`);
    let loads = 0;
    const read = (ns: string) => reader.wrap(ns, 'page', 60_000, async () => ({ ns, load: ++loads }));
    await Promise.all(namespaces.map(read));
    expect(loads).toBe(30);

    await Promise.all(namespaces.map((ns) => writer.invalidate(ns)));
    expect(await eventually(async () => messages.length > 0)).toBe(true);
    await sleep(100); // a second message, if one were sent, would have arrived by now
    expect(messages).toHaveLength(1);
    expect(messages[0]!.split('\n').map((line) => line.split('|')[0]).sort()).toEqual([...namespaces].sort());

    expect(await eventually(async () => (await Promise.all(namespaces.map(read))).every((value) => value.load > 30))).toBe(true);
    expect(loads).toBe(60);
  });

  it('when writes keep coming while a batch is on its way, then every caller resolves only after its own namespace is announced', async () => {
    const { writer, messages } = await twoInstances();
    const announced = () => new Set(messages.flatMap((message) => message.split('\n').map((line) => line.split('|')[0])));
    const waves = [0, 1, 2, 3, 4].map(async (wave) => {
      await sleep(wave * 2);
      const names = Array.from({ length: 10 }, (_, i) => `chars:${wave}-${i}`);
      await Promise.all(names.map((ns) => writer.invalidate(ns)));
      return names;
    });
    for (const names of await Promise.all(waves)) {
      // resolved means announced: the raw subscriber may still be reading the message, never missing it
      expect(await eventually(async () => names.every((ns) => announced().has(ns)))).toBe(true);
    }
    expect(messages.length).toBeLessThan(50);
  });

  it('when one namespace is invalidated twice in one batch, then its version moves once and readers still see the newest', async () => {
    const { writer, reader, messages } = await twoInstances();
    let loads = 0;
    const read = () => reader.wrap('ns', 'k', 60_000, async () => ++loads);
    expect(await read()).toBe(1);
    await Promise.all([writer.invalidate('ns'), writer.invalidate('ns', 'other')]);
    expect(await eventually(async () => (await read()) === 2)).toBe(true);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.split('\n').map((line) => line.split('|')[0])).toEqual(['ns', 'other']);
  });

  it('when an instance invalidates, then its own version is the one in Redis, never ahead, so it never fills keys of a version no write has made yet', async () => {
    const { writer, reader, keyPrefix } = await twoInstances();
    const redis = connection();
    // Its own pub/sub message may arrive before the script's reply: the reply must not then move it one further.
    let previous = 0;
    for (let i = 1; i <= 20; i++) {
      await writer.invalidate('storefront');
      const inRedis = Number(await redis.get(`${keyPrefix}:cv:storefront`));
      expect(inRedis).toBeGreaterThan(previous);
      expect(await writer.versionOf('storefront')).toBe(inRedis);
      previous = inRedis;
    }
    // What the writer caches now is what the reader finds and trusts: same version, same keys.
    let loads = 0;
    expect(await writer.wrap('storefront', 'page', 60_000, async () => ++loads)).toBe(1);
    expect(await reader.wrap('storefront', 'page', 60_000, async () => ++loads)).toBe(1);
    await writer.invalidate('storefront');
    expect(await eventually(async () => (await reader.wrap('storefront', 'page', 60_000, async () => ++loads)) === 2)).toBe(true);
  });
});
