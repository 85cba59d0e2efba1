// SQL for listings (admin side): rows, bundle lines, and the denormalized columns the storefront filters on.
import type { Executor } from '../../platform/db.js';
import { pageOf } from '../../platform/http/pagination.js';
import type { AdminListingView, ListListingsFilter } from './catalog.schemas.js';

interface AdminListingRow {
  id: string;
  title: string;
  price: number;
  items: AdminListingView['items'];
  game_id: string | null;
  delivery_type: AdminListingView['deliveryType'];
  kinds: AdminListingView['kinds'];
  consumable: boolean;
  starts_at: Date | null;
  ends_at: Date | null;
  stock_total: number | null;
  stock_remaining: number | null;
  per_user_limit: number | null;
  tags: string[];
  featured_rank: number | null;
  active: boolean;
  created_at: Date;
  updated_at: Date;
  created_key: string;
}

/** The lines as the API shows them, in the order the admin gave them. */
export const LISTING_LINES_JSON = `
  coalesce((SELECT json_agg(json_build_object('itemId', d.id, 'name', d.name, 'kind', d.kind, 'quantity', li.quantity)
                            ORDER BY li.position, li.item_id)
              FROM listing_items li JOIN item_definitions d ON d.id = li.item_id
             WHERE li.listing_id = l.id), '[]'::json)`;

// What is left to sell, as the storefront and the admin show it: a voucher line can sell only as many bundles as its
// pool has free codes (an empty pool is out of stock, API.md); explicit stock (if any) also caps it.
// least() ignores NULLs, so an unlimited listing of vouchers shows the pool's size.
export const STOCK_REMAINING = `
  CASE WHEN l.delivery_type IN ('email', 'mixed') THEN
    least(l.stock_remaining::bigint,
          (SELECT min((SELECT count(*) FROM voucher_codes v WHERE v.item_id = li.item_id AND v.claimed_at IS NULL) / li.quantity)
             FROM listing_items li JOIN item_definitions d ON d.id = li.item_id
            WHERE li.listing_id = l.id AND d.delivery_type = 'email'))
  ELSE l.stock_remaining END`;

const SELECT_ADMIN_LISTING = `
  SELECT l.id, l.title, l.price, ${LISTING_LINES_JSON} AS items, l.game_id, l.delivery_type, l.kinds, l.consumable,
         l.starts_at, l.ends_at, l.stock_total, ${STOCK_REMAINING} AS stock_remaining, l.per_user_limit, l.tags, l.featured_rank, l.active,
         l.created_at, l.updated_at,
         to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key
    FROM listings l`;

function toView(row: AdminListingRow): AdminListingView {
  return {
    id: row.id,
    title: row.title,
    price: row.price,
    currency: 'gems',
    items: row.items,
    gameId: row.game_id,
    deliveryType: row.delivery_type,
    kinds: row.kinds,
    consumable: row.consumable,
    startsAt: row.starts_at?.toISOString() ?? null,
    endsAt: row.ends_at?.toISOString() ?? null,
    stock: row.stock_total,
    stockRemaining: row.stock_remaining,
    perUserLimit: row.per_user_limit,
    tags: row.tags,
    featuredRank: row.featured_rank,
    active: row.active,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function findListing(db: Executor, id: string): Promise<AdminListingView | undefined> {
  const { rows } = await db.query<AdminListingRow>(`${SELECT_ADMIN_LISTING} WHERE l.id = $1`, [id]);
  return rows[0] && toView(rows[0]);
}

export async function listListings(
  db: Executor,
  filter: ListListingsFilter,
  after: { createdAt: string; id: string } | undefined,
): Promise<{ items: AdminListingView[]; last?: { createdAt: string; id: string } }> {
  const { rows } = await db.query<AdminListingRow>(
    `${SELECT_ADMIN_LISTING}
      WHERE ($1::uuid IS NULL OR l.game_id = $1)
        AND ($2::boolean IS NULL OR l.active = $2)
        AND ($3::timestamptz IS NULL OR (l.created_at, l.id) < ($3::timestamptz, $4::uuid))
      ORDER BY l.created_at DESC, l.id DESC
      LIMIT $5`,
    [filter.gameId ?? null, filter.active ?? null, after?.createdAt ?? null, after?.id ?? null, filter.limit + 1],
  );
  const page = pageOf(rows, filter.limit);
  return { items: page.rows.map(toView), last: page.last && { createdAt: page.last.created_key, id: page.last.id } };
}

export interface ListingColumns {
  title: string;
  price: number;
  startsAt: string | null;
  endsAt: string | null;
  stock: number | null;
  perUserLimit: number | null;
  tags: string[];
  featuredRank: number | null;
  active: boolean;
}

export async function insertListing(db: Executor, listing: ListingColumns): Promise<string> {
  // delivery_type is a placeholder until refreshDerivedColumns runs in the same transaction.
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO listings (title, price, starts_at, ends_at, stock_total, stock_remaining, per_user_limit, tags, featured_rank, active, delivery_type)
     VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, 'inventory') RETURNING id`,
    [listing.title, listing.price, listing.startsAt, listing.endsAt, listing.stock, listing.perUserLimit, listing.tags, listing.featuredRank, listing.active],
  );
  return rows[0]!.id;
}

/**
 * Writes the merged listing. A new `stock` keeps what was already sold: remaining = new total − sold, never
 * below zero, so an admin raising the total of a half-sold drop adds exactly the difference. A listing that was
 * unlimited has no stock to subtract from: `soldUnlimited` (unlimitedSales) is what it sold meanwhile.
 */
export async function updateListing(db: Executor, id: string, listing: ListingColumns, stockChanged: boolean, soldUnlimited = 0): Promise<void> {
  await db.query(
    `UPDATE listings
        SET title = $2, price = $3, starts_at = $4, ends_at = $5, per_user_limit = $6, tags = $7, featured_rank = $8, active = $9,
            stock_remaining = CASE WHEN NOT $11::boolean THEN stock_remaining
                                   WHEN $10::int IS NULL THEN NULL
                                   WHEN stock_total IS NULL THEN greatest(0, $10::int - $12::int)
                                   ELSE greatest(0, $10::int - (stock_total - stock_remaining)) END,
            stock_total = CASE WHEN $11::boolean THEN $10::int ELSE stock_total END,
            updated_at = now()
      WHERE id = $1`,
    [id, listing.title, listing.price, listing.startsAt, listing.endsAt, listing.perUserLimit, listing.tags, listing.featuredRank,
      listing.active, listing.stock, stockChanged, soldUnlimited],
  );
}

/**
 * Waits until no purchase of the listing is running, and keeps new ones waiting until this transaction ends. A
 * purchase holds KEY SHARE on the listing row from its first read to its commit, which FOR UPDATE (unlike the
 * NO KEY UPDATE of lockListing) waits for: for a change that purchases already running would get wrong because
 * they read the listing before it (a stock or a per-user limit set where there was none, which they do not
 * count). Purchases that read the listing later see the change. Taken before lockListing, never after it.
 */
export async function waitForRunningPurchases(tx: Executor, id: string): Promise<void> {
  await tx.query('SELECT 1 FROM listings WHERE id = $1 FOR UPDATE', [id]);
}

/**
 * Units of an unlimited listing held in completed orders; called after waitForRunningPurchases, so none that read
 * the listing as unlimited can commit an order this sum misses. A sum over orders: only for the rare change from
 * unlimited to limited, never for a purchase.
 */
export async function unlimitedSales(tx: Executor, id: string): Promise<number> {
  const { rows } = await tx.query<{ sold: number }>(
    `SELECT coalesce(sum(quantity), 0)::int AS sold FROM orders WHERE listing_id = $1 AND status = 'completed'`, [id]);
  return rows[0]!.sold;
}

export async function replaceLines(db: Executor, listingId: string, lines: ReadonlyArray<{ itemId: string; quantity: number }>): Promise<void> {
  await db.query('DELETE FROM listing_items WHERE listing_id = $1', [listingId]);
  await db.query(
    `INSERT INTO listing_items (listing_id, item_id, quantity, position)
     SELECT $1, line.item_id, line.quantity, line.position::int
       FROM unnest($2::uuid[], $3::int[]) WITH ORDINALITY AS line(item_id, quantity, position)`,
    [listingId, lines.map((line) => line.itemId), lines.map((line) => line.quantity)],
  );
}

/**
 * Recomputes what the storefront filters on from the listings' items: the single game of its game items (null
 * when none or several), the common delivery type ('mixed' when lines differ), the kinds, whether every item is
 * consumable, and the lower-cased search text (title and item names).
 */
export async function refreshDerivedColumns(db: Executor, listingIds: readonly string[]): Promise<void> {
  if (listingIds.length === 0) return;
  // Row locks in id order first: an UPDATE … FROM locks in whatever order its plan visits the rows, and two item
  // changes refreshing the same listings in different orders deadlock.
  await db.query('SELECT 1 FROM listings WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE', [listingIds]);
  await db.query(
    `UPDATE listings l
        SET game_id = agg.game_id, delivery_type = agg.delivery_type, kinds = agg.kinds, consumable = agg.consumable,
            search_text = lower(l.title || ' ' || agg.names), updated_at = now()
       FROM (SELECT li.listing_id,
                    CASE WHEN count(DISTINCT d.game_id) = 1 THEN (array_agg(d.game_id) FILTER (WHERE d.game_id IS NOT NULL))[1] END AS game_id,
                    CASE WHEN count(DISTINCT d.delivery_type) = 1 THEN min(d.delivery_type) ELSE 'mixed' END AS delivery_type,
                    array_agg(DISTINCT d.kind ORDER BY d.kind) AS kinds,
                    bool_and(d.consumable) AS consumable,
                    string_agg(d.name, ' ' ORDER BY li.position) AS names
               FROM listing_items li JOIN item_definitions d ON d.id = li.item_id
              WHERE li.listing_id = ANY($1::uuid[])
              GROUP BY li.listing_id) agg
      WHERE l.id = agg.listing_id`,
    [listingIds],
  );
}

export interface LineItemFacts {
  consumable: boolean;
  maxStack: number;
  deliveryType: string;
  /** A non-consumable delivered to the inventory: a player owns it at most once. */
  ownedOnce: boolean;
}

/** Takes a share lock on the items (in id order, so concurrent writers never deadlock) and returns those found. */
export async function lockItemsForShare(db: Executor, itemIds: readonly string[]): Promise<Map<string, LineItemFacts>> {
  const { rows } = await db.query<{ id: string; consumable: boolean; max_stack: number; delivery_type: string }>(
    'SELECT id, consumable, max_stack, delivery_type FROM item_definitions WHERE id = ANY($1::uuid[]) ORDER BY id FOR SHARE',
    [itemIds],
  );
  return new Map(rows.map((row) => [row.id, {
    consumable: row.consumable,
    maxStack: row.max_stack,
    deliveryType: row.delivery_type,
    ownedOnce: !row.consumable && row.delivery_type === 'inventory',
  }]));
}

/**
 * Locks the listing row (a concurrent PATCH waits; so does a purchase taking stock) and returns its writable columns
 * and the units sold out of its stock (null when unlimited). NO KEY UPDATE: the id never changes, so orders
 * referencing the listing (their foreign-key check takes KEY SHARE) are not blocked.
 */
export async function lockListing(db: Executor, id: string): Promise<(ListingColumns & { sold: number | null }) | undefined> {
  const { rows } = await db.query<{
    title: string; price: number; starts_at: Date | null; ends_at: Date | null; stock_total: number | null; sold: number | null;
    per_user_limit: number | null; tags: string[]; featured_rank: number | null; active: boolean;
  }>(`SELECT title, price, starts_at, ends_at, stock_total, stock_total - stock_remaining AS sold, per_user_limit, tags, featured_rank, active
        FROM listings WHERE id = $1 FOR NO KEY UPDATE`, [id]);
  const row = rows[0];
  return row && {
    sold: row.sold,
    title: row.title,
    price: row.price,
    startsAt: row.starts_at?.toISOString() ?? null,
    endsAt: row.ends_at?.toISOString() ?? null,
    stock: row.stock_total,
    perUserLimit: row.per_user_limit,
    tags: row.tags,
    featuredRank: row.featured_rank,
    active: row.active,
  };
}

export async function deleteListing(db: Executor, id: string): Promise<boolean> {
  return (await db.query('DELETE FROM listings WHERE id = $1', [id])).rowCount === 1;
}

export async function deactivateListing(db: Executor, id: string): Promise<boolean> {
  return (await db.query('UPDATE listings SET active = false, updated_at = now() WHERE id = $1', [id])).rowCount === 1;
}
