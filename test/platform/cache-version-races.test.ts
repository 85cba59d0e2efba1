// Races between an instance reading a namespace's version from Redis and another instance's invalidation of it.
// The version read (GET on the command connection) and the announcement (a pub/sub message on the subscriber
// connection) travel on two sockets, so an instance may hear the new version first and receive the GET's older
// answer afterwards. Real Redis; each test uses its own key prefix.
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Cache } from '../../src/platform/cache.js';
import { useRedisConnections } from '../support/redis-connections.js';

const logger = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const connection = useRedisConnections();

describe('version read racing an invalidation', () => {
  it('when the answer to a version read arrives after the announcement of a newer version, then the instance keeps the newer one and its next read is fresh', async () => {
    const keyPrefix = `bb-test-${randomUUID()}`;
    const writer = new Cache({ redis: connection(), subscriber: connection(), logger, keyPrefix });
    const readerRedis = connection();
    const reader = new Cache({ redis: readerRedis, subscriber: connection(), logger, keyPrefix });
    await Promise.all([writer.start(), reader.start()]);
    await sleep(50);

    let loads = 0;
    const read = () => reader.wrap('inv:u1', 'page', 60_000, async () => ({ load: ++loads }));
    expect(await read()).toEqual({ load: 1 }); // filed under version 0, in Redis and in process
    reader.clearLocal(); // the reader's trust in version 0 has lapsed: its next read asks Redis for the version

    // The reader's GET of the version is answered (0), but the answer reaches it only after the writer's bump and
    // its announcement (version 1) have: the network, not the code, orders the two sockets.
    const get = readerRedis.get.bind(readerRedis);
    let delayed = 0;
    (readerRedis as unknown as { get: (key: string) => Promise<string | null> }).get = async (key: string) => {
      const answer = await get(key);
      if (key.endsWith(':cv:inv:u1') && delayed++ === 0) {
        await writer.invalidate('inv:u1');
        await sleep(100); // the announcement has reached the reader by now
      }
      return answer;
    };
    await read(); // concurrent with the write: either answer is acceptable
    (readerRedis as unknown as { get: typeof get }).get = get;
    expect(delayed).toBe(1);

    // The write has committed and been announced to every instance: the reader must not go back to version 0.
    const bumped = Number(await connection().get(`${keyPrefix}:cv:inv:u1`));
    expect(bumped).toBeGreaterThan(0);
    expect(await reader.versionOf('inv:u1')).toBe(bumped);
    expect(await read()).toEqual({ load: 2 });
  });
});

describe('Redis losing its data (a restart without persistence, or from an older snapshot)', () => {
  it('when a fill is in flight while Redis restarts empty, then the entry it files is never found by a read after later writes', async () => {
    // The bug this pins: versions were plain counters, so after Redis lost them they started again from 0 and came
    // back to numbers already used. A fill begun before the restart (at version 3) filed its rows under version 3 in
    // the new Redis; three writes later the version was 3 again and every instance served that entry, which showed
    // none of the three writes, for the entry's whole ttl.
    const keyPrefix = `bb-test-${randomUUID()}`;
    const instance = () => ({ redis: connection(), subscriber: connection() });
    const w = instance();
    const r = instance();
    const writer = new Cache({ ...w, logger, keyPrefix });
    const reader = new Cache({ ...r, logger, keyPrefix });
    await Promise.all([writer.start(), reader.start()]);
    await sleep(50);
    for (let i = 0; i < 3; i++) await writer.invalidate('storefront');
    await sleep(50);

    let value = 'before the restart';
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const inFlight = reader.wrap('storefront', 'page', 60_000, async () => {
      const seen = value;
      await gate;
      return seen;
    });
    await sleep(50);

    // Redis restarts empty: its keys are gone and every connection drops and reconnects.
    const keys = await connection().keys(`${keyPrefix}:*`);
    if (keys.length) await connection().del(...keys);
    for (const c of [w.redis, w.subscriber, r.redis, r.subscriber]) c.disconnect(true);
    const deadline = Date.now() + 5000;
    while ([w.redis, w.subscriber, r.redis, r.subscriber].some((c) => c.status !== 'ready') && Date.now() < deadline) await sleep(20);
    await sleep(100);

    release();
    expect(await inFlight).toBe('before the restart'); // concurrent with the restart: acceptable

    for (const next of ['write 1', 'write 2', 'write 3']) {
      value = next;
      await writer.invalidate('storefront');
    }
    await sleep(100);
    const fresh = new Cache({ ...instance(), logger, keyPrefix });
    await fresh.start();
    expect(await fresh.wrap('storefront', 'page', 60_000, async () => value)).toBe('write 3');
    expect(await reader.wrap('storefront', 'page', 60_000, async () => value)).toBe('write 3');
  });
});
