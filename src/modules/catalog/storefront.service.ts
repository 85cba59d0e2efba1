// The storefront read path: cached, rendered once per cache fill, served as a ready string with its ETag.
//
// Freshness has three sources: (1) admin writes invalidate the namespace (a version bump that reaches every
// instance through Redis); (2) time: a page is keyed by the next moment some listing starts or ends, so when
// that moment passes the key changes and the page is rebuilt — a timed listing appears and disappears on time
// even while cached; (3) a purchase of a limited listing or of a mailed item (a code pool), and a refund, invalidate
// after their commit (purchases.routes.ts, workers.ts), so stockRemaining follows each sale; the purchase itself checks real stock.
import type { CoreDeps } from '../../context.js';
import { DomainError } from '../../platform/errors.js';
import { render, type RenderedBody } from '../../platform/http/rendered-body.js';
import { invalidateSharedReads } from '../../platform/replica.js';
import { decodeSortCursor, encodeSortCursor } from './cursors.js';
import { CATALOG_CACHE_DEPENDENCIES } from './cache-generation.js';
import * as repo from './storefront.repository.js';

export const STOREFRONT_CACHE_NS = 'storefront';
export const PAGE_TTL_MS = 10_000;
const SCHEDULE_TTL_MS = 60_000;
const MAX_BOUNDARIES = 500;
/** How far before a filling request's clock reading the schedule starts (see windowKey). */
const SCHEDULE_SLACK_MS = 1_000;
/** Entries of an earlier process (another database, or a write whose invalidation died with it) are never served. */
const CACHED_BY_GENERATION = { dependsOn: CATALOG_CACHE_DEPENDENCIES };
/**
 * Read-your-writes scope of the catalog (platform/replica.ts): an admin write notes the primary's WAL position
 * under it, and the cache loaders read the replica only once it has replayed past that position. Without this the
 * refill right after an invalidation could read a lagging replica and cache the old catalog for a page TTL.
 */
export const CATALOG_READ_SCOPE = 'catalog';

export const STORE_LISTING_FIELDS = [
  'id', 'title', 'price', 'currency', 'items', 'gameId', 'deliveryType', 'consumable', 'startsAt', 'endsAt',
  'stockRemaining', 'perUserLimit', 'tags', 'featuredRank', 'createdAt',
] as const;
const KNOWN_FIELDS = new Set<string>(STORE_LISTING_FIELDS);

export interface StoreQuery extends repo.StoreFilter {
  sort: repo.StoreSort;
  limit: number;
  cursor?: string;
  fields?: string;
}

export interface StorePage {
  items: Array<Partial<repo.StoreListing>>;
  nextCursor: string | null;
}

interface Schedule {
  /** The boundaries after this instant are all known (up to MAX_BOUNDARIES); earlier ones may be missing. */
  from: number;
  boundaries: number[];
  truncated: boolean;
}

export function createStorefront({ db, cache, logger }: Pick<CoreDeps, 'db' | 'cache'> & Partial<Pick<CoreDeps, 'logger'>>) {
  const reader = () => db.readerFor(CATALOG_READ_SCOPE);

  /** Names the time window `now` falls in: the next start/end boundary after it. */
  async function windowKey(now: number): Promise<string> {
    const schedule = await cache.wrap<Schedule>(STOREFRONT_CACHE_NS, 'schedule', SCHEDULE_TTL_MS, async () => {
      // From the filling request's reading, not the clock at fill time, and a little earlier: requests that took
      // their reading just before it share this fill (or read it from Redis, filled by an instance whose clock is
      // ahead). Past boundaries cost nothing: the search below skips them.
      const from = now - SCHEDULE_SLACK_MS;
      const boundaries = await repo.findUpcomingBoundaries(await reader(), new Date(from), MAX_BOUNDARIES);
      return { from, boundaries, truncated: boundaries.length === MAX_BOUNDARIES };
    }, CACHED_BY_GENERATION);
    // A reading before the schedule's start may lie before a boundary the schedule does not know: the page built for
    // it would be filed under the window after that boundary and served there (a sale hidden after its start, or
    // shown after its end, for a page TTL). Such a reading gets a window of its own.
    if (now < schedule.from) return `t${now}`;
    const { boundaries } = schedule;
    let low = 0;
    let high = boundaries.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (boundaries[mid]! <= now) low = mid + 1;
      else high = mid;
    }
    if (low < boundaries.length) return `w${boundaries[low]}`;
    // Past the last known boundary of a truncated schedule: fall back to one-second windows until it reloads.
    return schedule.truncated ? `s${Math.floor(now / 1000)}` : 'w-';
  }

  function checkFields(fields: string | undefined): void {
    if (fields === undefined) return;
    const unknown = fields.split(',').filter((field) => !KNOWN_FIELDS.has(field));
    if (unknown.length) throw new DomainError('validation_failed', `unknown fields: ${unknown.join(', ')}`, { unknownFields: unknown });
  }

  function pageKey(query: StoreQuery): string {
    // q goes last: it is the only part that may contain the separator.
    return [
      query.sort, query.limit, query.cursor ?? '', query.gameId ?? '', query.kind ?? '', query.deliveryType ?? '', query.tag ?? '',
      query.minPrice ?? '', query.maxPrice ?? '', query.featured ?? '', query.fields ?? '', query.q ?? '',
    ].join('|');
  }

  return {
    /** A page of listings on sale now; `serialize` renders it (the route passes its schema's serializer). */
    async page(query: StoreQuery, serialize: (page: StorePage) => string): Promise<RenderedBody> {
      if (query.minPrice !== undefined && query.maxPrice !== undefined && query.minPrice > query.maxPrice) {
        throw new DomainError('validation_failed', 'minPrice must not exceed maxPrice');
      }
      checkFields(query.fields);
      const sort = repo.SORTS[query.sort];
      const after = decodeSortCursor(query.cursor, query.sort, sort.cursorShape);
      const now = Date.now();
      const key = `page:${await windowKey(now)}:${pageKey(query)}`;
      return cache.wrap(STOREFRONT_CACHE_NS, key, PAGE_TTL_MS, async () => {
        const found = await repo.findStorePage(await reader(), { now: new Date(now), filter: query, sort: query.sort, after, limit: query.limit });
        const items = query.fields ? pick(found.items, query.fields) : found.items;
        return render({ items, nextCursor: encodeSortCursor(query.sort, found.nextKey) }, serialize as (value: unknown) => string);
      }, CACHED_BY_GENERATION);
    },

    /** One listing on sale now, or null (not found, inactive, or outside its window). */
    async listing(id: string, serialize: (listing: repo.StoreListing) => string): Promise<RenderedBody | null> {
      const now = Date.now();
      const key = `one:${await windowKey(now)}:${id}`;
      return cache.wrap(STOREFRONT_CACHE_NS, key, PAGE_TTL_MS, async () => {
        const listing = await repo.findStoreListing(await reader(), id, new Date(now));
        return listing ? render(listing, serialize as (value: unknown) => string) : null;
      }, CACHED_BY_GENERATION);
    },

    /**
     * Every instance stops serving cached storefront entries: called after each catalog write commits. The write's
     * position is noted first, so that the refills this invalidation causes (on any instance) do not read a
     * replica that has not replayed the write yet.
     */
    invalidate(): Promise<void> {
      return invalidateSharedReads({ db, cache, logger }, CATALOG_READ_SCOPE, STOREFRONT_CACHE_NS);
    },
  };
}

function pick(items: repo.StoreListing[], fields: string): Array<Partial<repo.StoreListing>> {
  const wanted = ['id', ...fields.split(',')] as Array<keyof repo.StoreListing>;
  return items.map((item) => {
    const picked: Partial<Record<keyof repo.StoreListing, unknown>> = {};
    for (const field of wanted) picked[field] = item[field];
    return picked as Partial<repo.StoreListing>;
  });
}

export type Storefront = ReturnType<typeof createStorefront>;
