// The storefront's reads: listings on sale at `now`, filtered, in one of four keyset orders. Every order ends in
// `id`, so the order is total and a cursor (the last row's key) resumes exactly after it, however rows change.
import type { Executor } from '../../platform/db.js';
import { pageOf } from '../../platform/http/pagination.js';
import { LISTING_LINES_JSON, STOCK_REMAINING } from './listings.repository.js';
import type { SortKeyPart } from './cursors.js';

export type StoreSort = 'featured' | 'price_asc' | 'price_desc' | 'newest';

export interface StoreFilter {
  gameId?: string;
  kind?: string;
  deliveryType?: string;
  tag?: string;
  q?: string;
  minPrice?: number;
  maxPrice?: number;
  featured?: boolean;
}

export interface StoreListing {
  id: string;
  title: string;
  price: number;
  currency: 'gems';
  items: Array<{ itemId: string; name: string; kind: string; quantity: number }>;
  gameId: string | null;
  deliveryType: string;
  consumable: boolean;
  startsAt: string | null;
  endsAt: string | null;
  stockRemaining: number | null;
  perUserLimit: number | null;
  tags: string[];
  featuredRank: number | null;
  createdAt: string;
}

/** A sort's key columns (SQL) and how a cursor's values are typed; `seek` continues after the cursor row. */
interface SortSpec {
  orderBy: string;
  keyColumns: string[];
  cursorShape: SortKeyPart[];
  seek: (first: number) => string;
}

const FEATURED_KEY = '(-coalesce(l.featured_rank, 2147483647))';

export const SORTS: Record<StoreSort, SortSpec> = {
  // All columns descend (the rank is negated), so one row comparison seeks into listings_featured_idx.
  featured: {
    orderBy: `${FEATURED_KEY} DESC, l.created_at DESC, l.id DESC`,
    keyColumns: [FEATURED_KEY, `to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`, 'l.id'],
    cursorShape: ['featured', 'timestamp', 'uuid'],
    seek: (p) => `(${FEATURED_KEY}, l.created_at, l.id) < ($${p}::int, $${p + 1}::timestamptz, $${p + 2}::uuid)`,
  },
  price_asc: {
    orderBy: 'l.price ASC, l.id ASC',
    keyColumns: ['l.price', 'l.id'],
    cursorShape: ['price', 'uuid'],
    seek: (p) => `(l.price, l.id) > ($${p}::bigint, $${p + 1}::uuid)`,
  },
  price_desc: {
    orderBy: 'l.price DESC, l.id DESC',
    keyColumns: ['l.price', 'l.id'],
    cursorShape: ['price', 'uuid'],
    seek: (p) => `(l.price, l.id) < ($${p}::bigint, $${p + 1}::uuid)`,
  },
  newest: {
    orderBy: 'l.created_at DESC, l.id DESC',
    keyColumns: [`to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`, 'l.id'],
    cursorShape: ['timestamp', 'uuid'],
    seek: (p) => `(l.created_at, l.id) < ($${p}::timestamptz, $${p + 1}::uuid)`,
  },
};

const SELECT_STORE_LISTING = `
  SELECT l.id, l.title, l.price, ${LISTING_LINES_JSON} AS items, l.game_id, l.delivery_type, l.consumable,
         l.starts_at, l.ends_at, ${STOCK_REMAINING} AS stock_remaining, l.per_user_limit, l.tags, l.featured_rank, l.created_at`;

const ON_SALE = `l.active AND (l.starts_at IS NULL OR l.starts_at <= $1::timestamptz) AND (l.ends_at IS NULL OR l.ends_at > $1::timestamptz)`;

interface StoreRow {
  id: string;
  title: string;
  price: number;
  items: StoreListing['items'];
  game_id: string | null;
  delivery_type: string;
  consumable: boolean;
  starts_at: Date | null;
  ends_at: Date | null;
  stock_remaining: number | null;
  per_user_limit: number | null;
  tags: string[];
  featured_rank: number | null;
  created_at: Date;
}

function toStoreListing(row: StoreRow): StoreListing {
  return {
    id: row.id,
    title: row.title,
    price: row.price,
    currency: 'gems',
    items: row.items,
    gameId: row.game_id,
    deliveryType: row.delivery_type,
    consumable: row.consumable,
    startsAt: row.starts_at?.toISOString() ?? null,
    endsAt: row.ends_at?.toISOString() ?? null,
    stockRemaining: row.stock_remaining,
    perUserLimit: row.per_user_limit,
    tags: row.tags,
    featuredRank: row.featured_rank,
    createdAt: row.created_at.toISOString(),
  };
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (char) => `\\${char}`);

export interface StorePageQuery {
  now: Date;
  filter: StoreFilter;
  sort: StoreSort;
  after: unknown[] | undefined;
  limit: number;
}

/** One page, plus the key of its last row when more rows follow. */
export async function findStorePage(db: Executor, query: StorePageQuery): Promise<{ items: StoreListing[]; nextKey: unknown[] | null }> {
  const params: unknown[] = [query.now];
  const where = [ON_SALE];
  const add = (sql: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  const { filter } = query;
  if (filter.gameId !== undefined) add((p) => `l.game_id = ${p}::uuid`, filter.gameId);
  if (filter.kind !== undefined) add((p) => `l.kinds @> ARRAY[${p}::text]`, filter.kind);
  if (filter.deliveryType !== undefined) add((p) => `l.delivery_type = ${p}`, filter.deliveryType);
  if (filter.tag !== undefined) add((p) => `l.tags @> ARRAY[${p}::text]`, filter.tag);
  // Lower-cased by PostgreSQL, as search_text was: JS toLowerCase differs for some letters ('İ' → 'i̇', PG: 'i').
  // search_text (title and item names joined by blanks) is what the trigram index serves; it also matches a q that
  // spans two of them ("red dragon" in "Crimsonred" + "Dragon"), so the title and each name are checked on their own.
  // A correlated aggregate, not EXISTS: the planner may run an EXISTS as one hashed scan of every item's name.
  if (filter.q !== undefined) {
    add((p) => `l.search_text LIKE lower(${p}) AND (lower(l.title) LIKE lower(${p}) OR (
      SELECT bool_or(lower(sd.name) LIKE lower(${p})) FROM listing_items sli JOIN item_definitions sd ON sd.id = sli.item_id
       WHERE sli.listing_id = l.id))`, `%${escapeLike(filter.q)}%`);
  }
  if (filter.minPrice !== undefined) add((p) => `l.price >= ${p}::bigint`, filter.minPrice);
  if (filter.maxPrice !== undefined) add((p) => `l.price <= ${p}::bigint`, filter.maxPrice);
  // Written on the featured index's key (ranks are 0..1e6, so "not featured" is exactly the coalesce default):
  // featured=true then reads only the featured head of listings_featured_idx instead of filtering the rest.
  // The plain predicate is kept too, so partial indexes on `featured_rank IS NOT NULL` stay usable.
  if (filter.featured !== undefined) {
    where.push(filter.featured
      ? `l.featured_rank IS NOT NULL AND ${FEATURED_KEY} > -2147483647`
      : `l.featured_rank IS NULL AND ${FEATURED_KEY} = -2147483647`);
  }

  const sort = SORTS[query.sort];
  if (query.after) {
    where.push(sort.seek(params.length + 1));
    params.push(...query.after);
  }
  params.push(query.limit + 1);
  const { rows } = await db.query<StoreRow & { sort_key: unknown[] }>(
    `${SELECT_STORE_LISTING}, json_build_array(${sort.keyColumns.join(', ')}) AS sort_key
       FROM listings l
      WHERE ${where.join(' AND ')}
      ORDER BY ${sort.orderBy}
      LIMIT $${params.length}`,
    params,
  );
  const page = pageOf(rows, query.limit);
  return { items: page.rows.map(toStoreListing), nextKey: page.last ? page.last.sort_key : null };
}

export async function findStoreListing(db: Executor, id: string, now: Date): Promise<StoreListing | undefined> {
  const { rows } = await db.query<StoreRow>(`${SELECT_STORE_LISTING} FROM listings l WHERE l.id = $2::uuid AND ${ON_SALE}`, [now, id]);
  return rows[0] && toStoreListing(rows[0]);
}

/**
 * The next moments at which some active listing starts or ends: the storefront's cached pages are valid only
 * until the first of them. Bounded, so a catalog with many timed listings still answers in one index scan each.
 */
export async function findUpcomingBoundaries(db: Executor, now: Date, max: number): Promise<number[]> {
  // Rounded up to the millisecond: at the rounded instant the listing has certainly started (or ended).
  const { rows } = await db.query<{ at_ms: number }>(
    `SELECT ceil(extract(epoch FROM at) * 1000)::float8 AS at_ms FROM (
       (SELECT starts_at AS at FROM listings WHERE active AND starts_at > $1 ORDER BY starts_at LIMIT $2)
       UNION
       (SELECT ends_at FROM listings WHERE active AND ends_at > $1 ORDER BY ends_at LIMIT $2)
     ) boundaries ORDER BY at LIMIT $2`,
    [now, max],
  );
  return rows.map((row) => row.at_ms);
}
