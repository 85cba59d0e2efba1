// Two-layer cache: an in-process LRU in front of Redis (when REDIS_URL is set).
// Invalidation is by namespace version: every key lives under `ns:v<version>`; invalidating a namespace bumps
// its version (INCR in Redis) and publishes it, so every instance stops reading the old entries at once.
// A rebuild of one key is shared by concurrent misses (stampede protection).
import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Coalescer } from './coalescer.js';
import { recordCacheLookup } from './metrics.js';

export interface CacheOptions {
  redis?: Redis;
  /** A second connection in subscriber mode (ioredis cannot publish/get on a subscribed connection). */
  subscriber?: Redis;
  logger: Logger;
  /** Prefix of keys and of the invalidation channel (REDIS_KEY_PREFIX). */
  keyPrefix?: string;
  maxEntries?: number;
  /**
   * Cap on how long an in-process copy is trusted while Redis is down (no other instance can tell us about a
   * write then); Redis holds the entry for the full ttl.
   */
  localTtlMs?: number;
  /** Upper bound on how long a version learned from Redis is trusted without a pub/sub message. */
  versionTtlMs?: number;
  /**
   * After a Redis command fails, how long to stay in process before trying Redis again. A hung Redis (connection
   * open, no answers) then costs one command timeout per period instead of one or more per request.
   */
  retryAfterErrorMs?: number;
  /**
   * While Redis is not asked after a failed command, how often one PING checks whether it answers again; the first
   * answer ends the pause at once and announces the invalidations made meanwhile (other instances serve the entries
   * those writes replaced until then).
   */
  probeIntervalMs?: number;
}

type Loader<T> = () => Promise<T>;

const UNSUBSCRIBED_VERSION_TTL_MS = 1_000;
/** Namespaces whose invalidation could not reach Redis, remembered until it answers again (bounded memory). */
const MAX_UNANNOUNCED = 100_000;

// INCR each namespace's version key and publish them all as one message of "<ns>|<version>" lines: one round trip
// and one pub/sub message per batch, and no instance can see a bumped version without its announcement following
// (the script runs atomically).
// A version is never below Redis's clock in microseconds: a Redis that lost its data (a restart without persistence,
// or from an older snapshot) would otherwise count again from 0 (or from the snapshot) through numbers already used,
// and an entry filed under such a number by an instance that had not yet noticed the restart (a fill in flight) would
// be served as current once the count reached it again. Versions stay below 2^53 (exact in Lua and JavaScript).
const BUMP_AND_PUBLISH = `
if redis.replicate_commands then redis.replicate_commands() end
local now = redis.call('TIME')
local floor = tonumber(now[1]) * 1000000 + tonumber(now[2])
local versions = {}
local announced = {}
for i, key in ipairs(KEYS) do
  local version = redis.call('INCR', key)
  if version < floor then
    version = floor
    redis.call('SET', key, string.format('%.0f', version))
  end
  versions[i] = version
  announced[i] = ARGV[i + 1] .. '|' .. string.format('%.0f', version)
end
redis.call('PUBLISH', ARGV[1], table.concat(announced, '\\n'))
return versions`;

type BumpAndPublish = (numberOfKeys: number, ...keysThenArgs: string[]) => Promise<number[]>;

// Defined as a command, ioredis sends the script's SHA (EVALSHA) and the script itself only when Redis answers
// NOSCRIPT: a write's invalidation is a ~150-byte command instead of ~500, and Redis does not hash the script
// text on every call.
function bumpAndPublishCommand(redis: Redis): BumpAndPublish {
  const commands = redis as unknown as { bbBumpAndPublish?: BumpAndPublish };
  if (!commands.bbBumpAndPublish) redis.defineCommand('bbBumpAndPublish', { lua: BUMP_AND_PUBLISH });
  return commands.bbBumpAndPublish!.bind(redis);
}

export class Cache {
  /** `storedAt`: a copy filled while Redis was up is trusted only localTtlMs from then once Redis goes away. */
  private readonly local: LRUCache<string, { value: unknown; storedAt: number }>;
  private readonly versions: LRUCache<string, number>;
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** The end of the current turn of the event loop that local hits wait for (endOfTurn). */
  private turnEnd: Promise<void> | undefined;
  private readonly invalidations = new Coalescer<string>((namespaces) => this.invalidateNow(namespaces));
  private readonly redis: Redis | undefined;
  private readonly subscriber: Redis | undefined;
  private readonly logger: Logger;
  private readonly localTtlMs: number;
  private readonly versionTtlMs: number;
  private readonly retryAfterErrorMs: number;
  private readonly probeIntervalMs: number;
  private probing = false;
  private redisDownSince = 0;
  /** Until then Redis is not asked (a command failed on a connection that still looks ready). */
  private suspendedUntil = 0;
  /** Whether other instances' invalidations reach us (the subscriber is connected and subscribed). */
  private subscribed = false;
  private readonly prefix: string;
  private readonly channel: string;
  /**
   * Namespaces invalidated while Redis could not be told. Redis may still hold their old entries under the old
   * version (a partition, a restart with persistence): once it answers again, their versions are bumped and announced
   * before this instance reads anything from it, so no instance serves those entries.
   */
  private readonly unannounced = new Set<string>();
  private announcing: Promise<void> | undefined;
  private unannouncedOverflowWarned = false;

  constructor(options: CacheOptions) {
    this.redis = options.redis;
    this.subscriber = options.subscriber;
    this.logger = options.logger;
    this.prefix = options.keyPrefix ?? 'bb';
    this.channel = `${this.prefix}:cache:invalidate`;
    this.localTtlMs = options.localTtlMs ?? 5_000;
    this.versionTtlMs = options.versionTtlMs ?? 30_000;
    this.retryAfterErrorMs = options.retryAfterErrorMs ?? 2_000;
    this.probeIntervalMs = options.probeIntervalMs ?? 200;
    this.local = new LRUCache({ max: options.maxEntries ?? 50_000, ttl: this.localTtlMs });
    this.versions = new LRUCache({ max: 200_000, ttl: this.versionTtlMs });
    this.redis?.on('ready', () => void this.announcePending());
  }

  /** Whether other instances' invalidations reach this one right now: only then may a copy outlive localTtlMs. */
  private get hearsInvalidations(): boolean {
    return this.distributed && this.subscribed;
  }

  /** Shared through Redis right now: false while Redis is down (entries and limits are then per process). */
  get distributed(): boolean {
    return this.redis?.status === 'ready' && Date.now() >= this.suspendedUntil;
  }

  /**
   * Listens for other instances' invalidations. The subscription is (re)made on every (re)connection of the
   * subscriber: at start the subscriber may not be connected yet (commands fail fast while it is not, and the main
   * connection being ready says nothing about this one), and an instance that never subscribed would serve old
   * entries for as long as it trusts a version. Until it is subscribed, versions are trusted only briefly and local
   * copies live only localTtlMs; once subscribed, versions learned meanwhile are dropped and read again.
   */
  async start(): Promise<void> {
    const subscriber = this.subscriber;
    if (!subscriber) return;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      for (const line of message.split('\n')) {
        const separator = line.lastIndexOf('|');
        const ns = line.slice(0, separator);
        const version = Number(line.slice(separator + 1));
        if (Number.isFinite(version) && (this.versions.get(ns) ?? -1) < version) this.versions.set(ns, version);
      }
    });
    const subscribe = async () => {
      try {
        await subscriber.subscribe(this.channel);
        if (!this.subscribed) {
          // Writes made elsewhere while we were not listening are unknown: versions are read again, and copies made
          // meanwhile (at most localTtlMs old, but perhaps under a version number Redis is about to reuse after a
          // restart that lost its data) are dropped.
          this.versions.clear();
          this.local.clear();
        }
        this.subscribed = true;
      } catch (error) {
        this.logger.warn({ err: error }, 'cache invalidation channel unavailable: subscribing again when redis is ready');
      }
    };
    subscriber.on('ready', () => void subscribe());
    subscriber.on('close', () => {
      // From now on other instances' writes are not heard: the versions learned while they were (trusted up to
      // versionTtlMs) would hide every write made elsewhere until the subscriber is back. Drop them; until then each
      // read asks Redis for its namespace's version (versionOf). Local copies go too: should Redis be down altogether,
      // versions start again from this process's own, and a copy filed under one of those numbers earlier (a namespace
      // at version 0 before a bump we heard) must not come back. Only on the transition: while Redis is down, 'close'
      // comes with every reconnection attempt, and the versions kept then are this process's own.
      if (this.subscribed) {
        this.versions.clear();
        this.local.clear();
      }
      this.subscribed = false;
    });
    if (subscriber.status === 'ready') await subscribe();
  }

  /**
   * Reads through both layers; on a full miss runs `loader` once per key across concurrent callers. `dependsOn`
   * names other namespaces whose data the entry shows too (a player's page showing item names): their versions join
   * the key, so invalidating any of them leaves the entry behind, as invalidating `ns` does.
   */
  wrap<T>(ns: string, key: string, ttlMs: number, loader: Loader<T>, options?: { dependsOn?: readonly string[] }): Promise<T> {
    if (!this.subscribed) return this.lookup(ns, key, ttlMs, loader, options?.dependsOn);
    // An announcement this process has received but not yet handled (its socket is read later in the same turn of the
    // event loop as the request's) must still count: the answer is checked against the versions once it has been
    // handled (a local hit waits for the end of the turn, see wrapAt), and read again at the new versions if one
    // moved. One re-read is enough: it starts after every announcement received before the request.
    const dependsOn = options?.dependsOn;
    const own = this.versions.get(ns);
    const dependencies = dependsOn?.map((dependency) => this.versions.get(dependency));
    return this.lookup(ns, key, ttlMs, loader, dependsOn).then((value) => {
      const moved = (own !== undefined && this.versions.get(ns) !== own)
        || (dependencies?.some((version, i) => version !== undefined && this.versions.get(dependsOn![i]!) !== version) ?? false);
      return moved ? this.lookup(ns, key, ttlMs, loader, dependsOn) : value;
    });
  }

  private lookup<T>(ns: string, key: string, ttlMs: number, loader: Loader<T>, dependsOn: readonly string[] | undefined): Promise<T> {
    if (!dependsOn || dependsOn.length === 0) return this.wrapOwn(ns, key, ttlMs, loader);
    const known = dependsOn.map((dependency) => this.versions.get(dependency));
    if (known.every((version) => version !== undefined)) return this.wrapOwn(ns, `${known.join('.')}:${key}`, ttlMs, loader);
    return Promise.all(dependsOn.map((dependency) => this.versionOf(dependency)))
      .then((versions) => this.wrapOwn(ns, `${versions.join('.')}:${key}`, ttlMs, loader));
  }

  private wrapOwn<T>(ns: string, key: string, ttlMs: number, loader: Loader<T>): Promise<T> {
    // The hit path waits on no round trip: the namespace's version is usually known, and a local hit is answered
    // from memory at the end of the turn (this is most of a cached read's work).
    const known = this.versions.get(ns);
    if (known !== undefined) return this.wrapAt(ns, known, key, ttlMs, loader);
    return this.versionOf(ns).then((version) => this.wrapAt(ns, version, key, ttlMs, loader));
  }

  private wrapAt<T>(ns: string, version: number, key: string, ttlMs: number, loader: Loader<T>): Promise<T> {
    const fullKey = `${this.prefix}:c:${ns}:v${version}:${key}`;
    const hit = this.local.get(fullKey);
    if (hit) {
      // A copy filled while Redis was up lives as long as its version is trusted; once Redis is gone nobody can tell
      // us of another instance's write, so from then on it is trusted only localTtlMs from when it was filled.
      if (this.hearsInvalidations || Date.now() - hit.storedAt < this.localTtlMs) {
        recordCacheLookup(nsLabel(ns), 'local_hit');
        // Answered at the end of this turn of the event loop, once the sockets that were ready with the request's
        // have been read: an announcement that reached this process before the request may be handled after it in
        // the same turn (a busy loop reads its ready sockets in no order of arrival), and wrap() then reads again.
        // No Redis round trip: one setImmediate shared by every hit of the turn.
        if (this.subscribed) return this.endOfTurn().then(() => hit.value as T);
        return Promise.resolve(hit.value as T);
      }
      this.local.delete(fullKey);
    }
    const pending = this.inflight.get(fullKey);
    if (pending) {
      recordCacheLookup(nsLabel(ns), 'coalesced');
      return pending as Promise<T>;
    }
    const promise = this.fill(ns, fullKey, ttlMs, loader).finally(() => this.inflight.delete(fullKey));
    this.inflight.set(fullKey, promise);
    return promise;
  }

  /** Resolves in this turn's check phase: after the poll phase has handled every socket found ready with ours. */
  private endOfTurn(): Promise<void> {
    this.turnEnd ??= new Promise<void>((resolve) => {
      setImmediate(() => {
        this.turnEnd = undefined;
        resolve();
      });
    });
    return this.turnEnd;
  }

  private async fill<T>(ns: string, fullKey: string, ttlMs: number, loader: Loader<T>): Promise<T> {
    const remote = await this.redisCall((r) => r.get(fullKey));
    if (remote !== undefined && remote !== null) {
      recordCacheLookup(nsLabel(ns), 'redis_hit');
      const value = JSON.parse(remote) as T;
      this.local.set(fullKey, { value, storedAt: Date.now() }, { ttl: this.localTtl(ttlMs) });
      return value;
    }
    recordCacheLookup(nsLabel(ns), 'miss');
    const value = await loader();
    this.local.set(fullKey, { value, storedAt: Date.now() }, { ttl: this.localTtl(ttlMs) });
    await this.redisCall((r) => r.set(fullKey, JSON.stringify(value), 'PX', ttlMs));
    return value;
  }

  // While Redis is up, a local copy can be no staler than the namespace version it is filed under, which is trusted
  // for versionTtlMs without a pub/sub message; refilling it from Redis sooner would fetch the very same entry (at
  // the same version) and only cost a round trip, a parse and a new rendering. While Redis is down no instance hears
  // of another's writes, so copies expire after the short localTtlMs.
  private localTtl(ttlMs: number): number {
    return Math.min(ttlMs, this.hearsInvalidations ? this.versionTtlMs : this.localTtlMs);
  }

  /**
   * Makes every entry of the namespaces unreachable, here and (through Redis) on every other instance; resolves
   * once they are bumped and announced. Calls made while an earlier batch is on its way share the next round trip
   * and message (a purchase invalidates a player's inventory and loadouts; a busy store, many players' at once).
   */
  invalidate(...namespaces: string[]): Promise<void> {
    if (namespaces.length === 0) return Promise.resolve();
    return this.invalidations.add(namespaces);
  }

  /**
   * One batch of invalidate(): the namespaces of every write that committed while the previous batch was on its
   * way go out in one command and one pub/sub message, instead of a Lua call and a message per namespace each
   * (measured: ~10 purchases per batch, Redis's CPU per purchase ~0.10 → ~0.03 ms; docs/performance.md).
   */
  private async invalidateNow(namespaces: string[]): Promise<void> {
    const wasDistributed = this.distributed;
    // One attempt: the write's response waits for it. A bump that fails is remembered and announced as soon as Redis
    // answers again (the probe of probeWhileSuspended, every probeIntervalMs), and one that timed out on a slow Redis
    // has usually run there anyway (bumping twice is harmless: versions only need to move forward). Retrying here
    // made every write of the first batch after Redis hung wait three command timeouts (1.8 s) instead of one.
    const bumped = await this.redisCall((r) => this.bumpAndPublish(r, namespaces));
    // The script's answer is no proof that the other instances have the announcement: Redis writes the answer and the
    // message to every subscriber in one pass over its clients, and can be descheduled in the middle of it, so the
    // answer could arrive milliseconds before the message reached any other instance, and a client given the write's
    // response and asking another instance at once got the entries the write replaced (about 1 write in 150-300 on a
    // busy host). Redis finishes that pass before it reads another command: once a command sent after the answer is
    // answered, the message sits on every subscriber's socket, ahead of any request sent after this write's response.
    // One round trip per invalidation batch, none on reads.
    if (bumped !== undefined) await this.redisCall((r) => r.ping());
    if (bumped === undefined && this.redis) {
      if (wasDistributed) {
        this.logger.warn({ namespaces }, 'cache invalidation did not reach redis: announcing it when redis answers again');
      }
      this.rememberUnannounced(namespaces);
    }
    namespaces.forEach((ns, i) => {
      const current = this.versions.get(ns) ?? 0;
      const remote = bumped?.[i];
      // Redis's version is the truth, not current + 1: our own announcement may have arrived before the script's
      // reply and set it already, and going one past it would fill keys of a version no write has made yet, which
      // every other instance then trusts after the next write. Another instance's later bump, already heard, stays.
      if (typeof remote === 'number') this.keepVersion(ns, Math.max(remote, current), true);
      else this.versions.set(ns, current + 1);
    });
  }

  /**
   * Remembers a namespace's version. One that Redis answered is kept only while other instances' bumps reach us (the
   * subscriber is subscribed): otherwise nobody would tell us of the next write elsewhere, and a read right after it
   * (the writer's client reading on this instance) would still be served the entries it replaced, so every read asks
   * Redis again (one GET; the entry itself stays cached). Versions Redis did not answer (it is down: the cache is
   * in process) are this process's own and are kept, briefly while the subscriber is expected back.
   */
  private keepVersion(ns: string, version: number, answeredByRedis: boolean): void {
    if (this.subscribed || !this.subscriber) this.versions.set(ns, version);
    else if (!answeredByRedis) this.versions.set(ns, version, { ttl: UNSUBSCRIBED_VERSION_TTL_MS });
    else this.versions.delete(ns);
  }

  private versionKey(ns: string): string {
    return `${this.prefix}:cv:${ns}`;
  }

  /** Bumps the namespaces' versions and announces them on the channel: one round trip (BUMP_AND_PUBLISH). */
  private bumpAndPublish(redis: Redis, namespaces: readonly string[]): Promise<number[]> {
    return bumpAndPublishCommand(redis)(namespaces.length, ...namespaces.map((ns) => this.versionKey(ns)), this.channel, ...namespaces);
  }

  private rememberUnannounced(namespaces: readonly string[]): void {
    for (const ns of namespaces) {
      if (this.unannounced.size >= MAX_UNANNOUNCED && !this.unannounced.has(ns)) {
        if (!this.unannouncedOverflowWarned) {
          this.logger.warn({ max: MAX_UNANNOUNCED }, 'too many cache invalidations while redis is away: some entries may be served until their ttl once it is back');
        }
        this.unannouncedOverflowWarned = true;
        return;
      }
      this.unannounced.add(ns);
    }
  }

  /** Bumps and announces the namespaces invalidated while Redis was away (one round trip per 1,000). */
  private announcePending(): Promise<void> {
    if (this.unannounced.size === 0 || !this.redis || !this.distributed) return Promise.resolve();
    this.announcing ??= (async () => {
      const redis = this.redis!;
      try {
        while (this.unannounced.size > 0 && this.distributed) {
          const batch = [...this.unannounced].slice(0, 1000);
          await this.bumpAndPublish(redis, batch);
          for (const ns of batch) {
            this.unannounced.delete(ns);
            this.versions.delete(ns); // read again from Redis, like every other instance
          }
        }
        if (this.unannounced.size === 0) this.unannouncedOverflowWarned = false;
      } catch (error) {
        this.suspend();
        this.logger.warn({ err: error, pending: this.unannounced.size }, 'cache invalidations made while redis was away not announced yet');
      } finally {
        this.announcing = undefined;
      }
    })();
    return this.announcing;
  }

  /** The namespace's current version (what `wrap`'s keys embed). */
  async versionOf(ns: string): Promise<number> {
    const known = this.versions.get(ns);
    if (known !== undefined) return known;
    const remote = await this.redisCall((r) => r.get(this.versionKey(ns)));
    // The answer may arrive after the announcement of a newer version (two sockets, no order between them): a
    // version heard meanwhile stays. Taking the answer as it is would send this instance back to the entries of
    // the version before a write already acknowledged, for as long as it trusts that version (versionTtlMs).
    const version = Math.max(remote ? Number(remote) : 0, this.versions.get(ns) ?? 0);
    this.keepVersion(ns, version, remote !== undefined);
    return version;
  }

  /** Redis is an accelerator, never a dependency: on failure we log (once per outage) and fall back to local. */
  private async redisCall<T>(fn: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    if (!this.redis) return undefined;
    if (!this.distributed) {
      this.noteRedisDown(new Error(this.redis.status === 'ready' ? 'redis suspended after a failed command' : `redis status ${this.redis.status}`));
      return undefined;
    }
    try {
      // Our own invalidations that Redis missed go first: otherwise this very read could fetch an entry they replaced.
      if (this.unannounced.size > 0) {
        await this.announcePending();
        if (this.unannounced.size > 0) return undefined;
      }
      const result = await fn(this.redis);
      this.suspendedUntil = 0;
      if (this.redisDownSince) {
        this.logger.info({ downMs: Date.now() - this.redisDownSince }, 'redis cache layer recovered');
        this.redisDownSince = 0;
        this.versions.clear(); // versions may have moved while we could not hear about it
        this.local.clear(); // copies made meanwhile may sit under version numbers Redis reuses after losing its data
      }
      return result;
    } catch (error) {
      this.suspend();
      this.noteRedisDown(error);
      return undefined;
    }
  }

  /**
   * Stops asking Redis for retryAfterErrorMs (requests then never wait on it), probing it meanwhile; once it answers,
   * or the period is over, announces what was invalidated meanwhile: without it, a write on an idle instance would
   * stay unannounced.
   */
  private suspend(): void {
    if (Date.now() < this.suspendedUntil) return;
    this.suspendedUntil = Date.now() + this.retryAfterErrorMs;
    void this.probeWhileSuspended();
  }

  /**
   * One PING at a time, every probeIntervalMs, while Redis is suspended: the writes made while it hung reach the other
   * instances as soon as it answers again, not up to retryAfterErrorMs (plus a command timeout) later. Their entries
   * are meanwhile served by every other instance, and by this one's Redis reads too.
   */
  private async probeWhileSuspended(): Promise<void> {
    const redis = this.redis;
    if (this.probing || !redis) return;
    this.probing = true;
    try {
      while (Date.now() < this.suspendedUntil) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.probeIntervalMs, Math.max(1, this.suspendedUntil - Date.now()))).unref());
        // Not connected: the connection's own 'ready' announces (constructor); nothing to probe.
        if (redis.status !== 'ready' || Date.now() >= this.suspendedUntil) continue;
        try {
          await redis.ping();
          this.suspendedUntil = 0;
        } catch {
          // still not answering: the period runs on
        }
      }
    } finally {
      this.probing = false;
    }
    await this.announcePending();
  }

  private noteRedisDown(error: unknown): void {
    if (!this.redisDownSince) {
      this.redisDownSince = Date.now();
      this.logger.warn({ err: error }, 'redis unavailable: cache degrades to in-process');
    }
    recordCacheLookup('redis', 'error');
  }

  clearLocal(): void {
    this.local.clear();
    this.versions.clear();
  }
}

// Per-user namespaces ("inv:<uuid>") would explode label cardinality; label by the prefix.
function nsLabel(ns: string): string {
  const colon = ns.indexOf(':');
  return colon === -1 ? ns : ns.slice(0, colon);
}
