// Read replica routing with read-your-writes (docs/read-replica.md).
//
// A streaming replica lags the primary by a few milliseconds. A player who has just bought, used or equipped
// something and then reads their history must see it, so after such a write commits we remember the primary's
// WAL position (LSN) for that user; their reads go to the replica only once it has replayed past that position,
// and to the primary until then. Everyone else reads from the replica without any check. The positions live in
// an in-process LRU and, when Redis is up, in Redis with a short TTL, so the next request may land on any instance.
import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Executor } from './db.js';

/**
 * After a committed write that shared cached reads depend on (the catalog, the games list): notes the write's
 * position under `scope` — the cache loaders read through `readerFor(scope)`, so the refills this causes, on any
 * instance, use the replica only once it has replayed the write — then drops `namespace` on every instance. A note
 * that fails is logged, not thrown: the write is committed, and dropping the cached copies matters more.
 */
export async function invalidateSharedReads(
  deps: { db: { noteWrite(...scopes: string[]): Promise<void> }; cache: { invalidate(...namespaces: string[]): Promise<void> }; logger?: Logger },
  scope: string,
  ...namespaces: string[]
): Promise<void> {
  try {
    await deps.db.noteWrite(scope);
  } catch (error) {
    deps.logger?.warn({ err: error, scope }, 'could not note the write position for read-your-writes');
  }
  await deps.cache.invalidate(...namespaces);
}

/** PostgreSQL LSN text `16/B374D848` → fixed-width hex (`00000016B374D848`), so string order is WAL order. */
export function comparableLsn(lsn: string): string {
  const [high = '', low = ''] = lsn.split('/');
  return `${high.toUpperCase().padStart(8, '0')}${low.toUpperCase().padStart(8, '0')}`;
}

const maxLsn = (a: string | undefined, b: string | undefined): string | undefined => (a === undefined ? b : b === undefined || a >= b ? a : b);

// Redis keeps the highest position ever noted for the scope: two instances noting writes of one user out of
// order must not lower it.
const NOTE_LSN_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if (not current) or current < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`;

// A wrong query fails the same way on the primary: the replica is blamed for these only once the primary ran it.
const SCHEMA_MISSING_CODES = ['42P01', '42703', '42883'];

// Errors that mean "the replica is not there", not "the query is wrong": the read is safe to run on the primary.
// 40001 on a standby is a recovery conflict (the rows it read were vacuumed away by replay). The replica refusing the
// connection itself (3D000 no such database yet, 28000/28P01 login refused) is the replica not being there too. So is
// a schema the replica does not have yet (42P01 table, 42703 column, 42883 function): a standby that has not replayed
// the migrations this process applied at start; the same query on the primary is the one that counts.
const REPLICA_UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '40001', '3D000', '28000', '28P01', ...SCHEMA_MISSING_CODES]);

export function isReplicaUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = String((error as { code?: unknown }).code ?? '');
  if (REPLICA_UNAVAILABLE_CODES.has(code) || code.startsWith('08')) return true;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect/i.test(message);
}

export interface ReplicaExecutor extends Executor {
  /** False for a short while after the replica failed to answer, and while one read probes it; reads then go straight to the primary. */
  readonly available: boolean;
}

/**
 * The replica pool, falling back to the primary when the replica is unreachable (and not hammering it meanwhile).
 * Once it has failed, one read at a time probes it after each cool-off while the others read the primary: a replica
 * that accepts connections and never answers fails only at the connect timeout, which every read would wait out.
 */
export function withPrimaryFallback(replica: Executor, primary: Executor, logger?: Logger, coolOffMs = 2000): ReplicaExecutor {
  let downUntil = 0;
  let down = false;
  let probing = false;
  return {
    get available() {
      return !down || (!probing && Date.now() >= downUntil);
    },
    async query<R>(text: string, params?: readonly unknown[]) {
      if (down && (probing || Date.now() < downUntil)) return primary.query<R>(text, params);
      const probe = down;
      if (probe) probing = true;
      try {
        const result = await replica.query<R>(text, params);
        if (down) {
          down = false;
          logger?.info('read replica answering again');
        }
        return result;
      } catch (error) {
        if (!isReplicaUnavailable(error)) throw error;
        const setAside = () => {
          downUntil = Date.now() + coolOffMs;
          if (!down) logger?.warn({ err: error }, 'read replica unavailable: reading from the primary');
          down = true;
        };
        if (!SCHEMA_MISSING_CODES.includes(String((error as { code?: unknown }).code))) {
          setAside();
          return primary.query<R>(text, params);
        }
        const result = await primary.query<R>(text, params);
        setAside();
        return result;
      } finally {
        if (probe) probing = false;
      }
    },
  };
}

export interface ReadRouterOptions {
  primary: Executor;
  /** Undefined when no replica is configured: every read goes to the primary and nothing is tracked. */
  replica: ReplicaExecutor | undefined;
  logger?: Logger;
  /** How long a noted write pins the scope's reads (an upper bound on believable replica lag). */
  pinTtlMs?: number;
  /** How long a sampled replay position is reused before asking the replica again. */
  replayCacheMs?: number;
}

export interface ReadRouter {
  /** The replica once it has replayed the last write noted under every scope given, else the primary. */
  readerFor(scope: string, ...moreScopes: string[]): Promise<Executor>;
  noteWrite(...scopes: string[]): Promise<void>;
  /** Shares noted positions through Redis under `<keyPrefix>:ryw:<scope>`; undefined keeps them per process. */
  shareThrough(redis: Redis | undefined, keyPrefix?: string): void;
}

export function createReadRouter(options: ReadRouterOptions): ReadRouter {
  const { primary, replica, logger } = options;
  const pinTtlMs = options.pinTtlMs ?? 30_000;
  const replayCacheMs = options.replayCacheMs ?? 5;
  let prefix = 'bb:ryw:';
  const noted = new LRUCache<string, string>({ max: 100_000, ttl: pinTtlMs });
  let redis: Redis | undefined;
  let redisWarned = false;
  let replayed: { lsn: string | undefined; at: number } = { lsn: undefined, at: 0 };
  let sampling: Promise<string | undefined> | undefined;

  const redisReady = () => redis?.status === 'ready';
  const warnRedis = (error: unknown) => {
    if (!redisWarned) logger?.warn({ err: error }, 'read-your-writes: Redis unavailable, positions kept per instance');
    redisWarned = true;
  };

  // The replay position only moves forward, so one sample is shared by concurrent readers and reused for a few ms.
  function sampleReplay(): Promise<string | undefined> {
    sampling ??= replica!
      .query<{ lsn: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS lsn')
      .then(({ rows }) => {
        // NULL: not a standby (a promoted replica, or the primary itself); we cannot compare, so nothing counts as replayed.
        const lsn = rows[0]?.lsn ? comparableLsn(rows[0].lsn) : undefined;
        replayed = { lsn: maxLsn(replayed.lsn, lsn), at: Date.now() };
        return replayed.lsn;
      })
      .catch((error: unknown) => {
        logger?.debug({ err: error }, 'replay position unavailable');
        return undefined;
      })
      .finally(() => {
        sampling = undefined;
      });
    return sampling;
  }

  async function replayedPast(needed: string): Promise<boolean> {
    if (replayed.lsn !== undefined && replayed.lsn >= needed) return true;
    if (Date.now() - replayed.at < replayCacheMs) return false;
    const lsn = await sampleReplay();
    return lsn !== undefined && lsn >= needed;
  }

  /** The highest position noted for the scope here or on any instance; null when Redis cannot say (assume a write). */
  async function neededLsn(scope: string): Promise<string | undefined | null> {
    const local = noted.get(scope);
    if (!redis) return local;
    if (!redisReady()) return null;
    try {
      return maxLsn(local, (await redis.get(prefix + scope)) ?? undefined);
    } catch (error) {
      warnRedis(error);
      return null;
    }
  }

  return {
    async readerFor(scope, ...moreScopes) {
      if (!replica?.available) return primary;
      const scopes = [scope, ...moreScopes];
      const positions = await Promise.all(scopes.map(neededLsn));
      // Another instance may have noted a write we cannot see: the primary is the safe answer.
      if (positions.includes(null)) return primary;
      const needed = positions.reduce<string | undefined>((highest, lsn) => maxLsn(highest, lsn ?? undefined), undefined);
      if (needed === undefined) return replica;
      if (await replayedPast(needed)) {
        for (const each of scopes) noted.delete(each);
        return replica;
      }
      return primary;
    },

    async noteWrite(...scopes) {
      if (!replica || scopes.length === 0) return;
      // Asked after the commit: the position includes the commit record, so "replayed past it" means visible.
      const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const lsn = comparableLsn(rows[0]!.lsn);
      for (const scope of new Set(scopes)) noted.set(scope, maxLsn(noted.get(scope), lsn)!);
      if (!redis || !redisReady()) return;
      try {
        await Promise.all([...new Set(scopes)].map((scope) => redis!.eval(NOTE_LSN_SCRIPT, 1, prefix + scope, lsn, String(pinTtlMs))));
      } catch (error) {
        warnRedis(error);
      }
    },

    shareThrough(client, keyPrefix = 'bb') {
      redis = client;
      prefix = `${keyPrefix}:ryw:`;
    },
  };
}
