// SQL the purchase flow runs inside its transaction: reading a listing with its items, taking and giving back
// stock. The conditional UPDATE is the guard against overselling, not any read before it.
import { prepared, type Executor, type Tx } from '../../platform/db.js';
import { PG, pgErrorCode } from '../../platform/errors.js';
import type { DeliveryType, ItemDefinition, ItemKind, PurchasableListing } from './catalog.service.js';

export interface ItemRow {
  id: string;
  sku: string;
  name: string;
  kind: ItemKind;
  game_id: string | null;
  compatible_game_ids: string[];
  slot: string | null;
  consumable: boolean;
  max_stack: number;
  delivery_type: DeliveryType;
  effect: Record<string, unknown> | null;
  attributes: Record<string, unknown>;
  shopify_variant_id: string | null;
}

export const ITEM_DEFINITION_COLUMNS = `
  d.id, d.sku, d.name, d.kind, d.game_id, d.slot, d.consumable, d.max_stack, d.delivery_type, d.effect,
  d.attributes, d.shopify_variant_id,
  coalesce((SELECT array_agg(c.game_id ORDER BY c.game_id) FROM item_compatible_games c WHERE c.item_id = d.id), '{}') AS compatible_game_ids`;

export function toItemDefinition(row: ItemRow): ItemDefinition {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    kind: row.kind,
    gameId: row.game_id,
    compatibleGameIds: row.compatible_game_ids,
    slot: row.slot,
    consumable: row.consumable,
    maxStack: row.max_stack,
    deliveryType: row.delivery_type,
    effect: row.effect,
    attributes: row.attributes,
    shopifyVariantId: row.shopify_variant_id,
  };
}

/**
 * FOR KEY SHARE (in id order): inside a transaction that goes on to write rows referencing the items (a grant's
 * grant_items and inventory entries), an admin DELETE of an item waits for it and then finds those rows (409)
 * instead of deleting the item between the read and the insert, which failed the insert's foreign key (a 500).
 * It blocks nothing else: item PATCHes take NO KEY UPDATE, listing writes FOR SHARE.
 */
export async function findItemDefinitions(db: Executor, itemIds: readonly string[]): Promise<ItemDefinition[]> {
  if (itemIds.length === 0) return [];
  const { rows } = await db.query<ItemRow>(
    `SELECT ${ITEM_DEFINITION_COLUMNS} FROM item_definitions d WHERE d.id = ANY($1::uuid[]) ORDER BY d.id FOR KEY SHARE OF d`,
    [[...new Set(itemIds)]],
  );
  return rows.map(toItemDefinition);
}

interface ListingRow {
  listing_id: string;
  listing_title: string;
  listing_price: number;
  listing_active: boolean;
  listing_starts_at: Date | null;
  listing_ends_at: Date | null;
  listing_stock_remaining: number | null;
  listing_per_user_limit: number | null;
  listing_as_read: boolean;
  item_kept: number;
  item_quantity: number | null; // null: the listing has no items (the LEFT JOIN's one empty row)
}

/**
 * The listing and its items' definitions in one statement: one row per item, or one row with no item.
 *
 * FOR KEY SHARE on the listing row: an admin DELETE of the listing waits until this purchase ends (then finds its
 * order and deactivates the listing instead), and a purchase that reads after a DELETE sees no listing. Without it a
 * DELETE committed between this read and the order's insert, and the order's foreign key failed: a 500. The lock
 * costs nothing more: the order insert's foreign-key check takes the same KEY SHARE lock in this transaction, and
 * it conflicts with neither a stock UPDATE nor an admin PATCH (NO KEY UPDATE), only with DELETE.
 *
 * It does conflict with the FOR UPDATE a PATCH setting a stock or a per-user limit takes first. A read that waited
 * for one gets the listing row the PATCH committed but, from the statement's older snapshot, the lines and items the
 * listing had before (the new price sold with the old bundle). `listing_as_read` compares the row locked with the
 * row of the snapshot (the subquery reads the snapshot's version); when the sale terms differ, `moved` says so and
 * the purchase reads again (`getListingForPurchaseInTx` in its work), in a new snapshot that sees the whole PATCH.
 *
 * FOR KEY SHARE on each item too (`item_kept`; a locking clause cannot reach the outer join's nullable side, so a
 * subquery takes it): an operator who takes an item out of the listing and deletes it while this purchase runs
 * waits for it, then finds its order line (409). Before, the DELETE committed between this read and the line's
 * insert, whose foreign key failed: a 500. The insert's foreign-key check takes the same lock, so it costs only the
 * lookup. An item deleted between this statement's snapshot and its lock is not kept: `moved`, read again.
 */
export async function findPurchasableListing(db: Executor, listingId: string): Promise<PurchasableListing | undefined> {
  const { rows } = await db.query<ListingRow & ItemRow>(
    prepared(`SELECT l.id AS listing_id, l.title AS listing_title, l.price AS listing_price, l.active AS listing_active,
            l.starts_at AS listing_starts_at, l.ends_at AS listing_ends_at, l.stock_remaining AS listing_stock_remaining,
            l.per_user_limit AS listing_per_user_limit, li.quantity AS item_quantity, ${ITEM_DEFINITION_COLUMNS},
            (SELECT (s.title, s.price, s.active, s.starts_at, s.ends_at, s.per_user_limit) FROM listings s WHERE s.id = l.id)
              IS NOT DISTINCT FROM (l.title, l.price, l.active, l.starts_at, l.ends_at, l.per_user_limit) AS listing_as_read,
            (SELECT count(*) FROM (SELECT 1 FROM item_definitions k WHERE k.id = li.item_id FOR KEY SHARE) kept)::int AS item_kept
       FROM listings l
       LEFT JOIN listing_items li ON li.listing_id = l.id
       LEFT JOIN item_definitions d ON d.id = li.item_id
      WHERE l.id = $1
      ORDER BY li.position, li.item_id
        FOR KEY SHARE OF l`),
    [listingId],
  );
  const listing = rows[0];
  if (!listing) return undefined;
  return {
    id: listing.listing_id,
    title: listing.listing_title,
    price: listing.listing_price,
    active: listing.listing_active,
    startsAt: listing.listing_starts_at,
    endsAt: listing.listing_ends_at,
    stockRemaining: listing.listing_stock_remaining,
    perUserLimit: listing.listing_per_user_limit,
    items: rows.filter((row) => row.item_quantity !== null).map((row) => ({ ...toItemDefinition(row), quantity: row.item_quantity! })),
    ...(listing.listing_as_read && rows.every((row) => row.item_quantity === null || row.item_kept === 1) ? {} : { moved: true as const }),
  };
}

// Sent with the key's response and the COMMIT, so it must fail (not match nothing) when the units are not there: its
// failure aborts the transaction and the COMMIT answers ROLLBACK (db.withTx), like the idempotency key's fenced store.
// Plain SQL has no RAISE: the cast of a text that cannot be a number is the error. A listing that is unlimited now
// takes nothing and does not fail (the purchase's KEY SHARE on the listing keeps an admin from changing that meanwhile).
const OUT_OF_STOCK_MARKER = 'listing stock exhausted';
const TAKE_STOCK_OR_FAIL = prepared(`WITH taken AS (
    UPDATE listings SET stock_remaining = stock_remaining - $2, updated_at = now()
     WHERE id = $1 AND stock_remaining IS NOT NULL AND stock_remaining >= $2
    RETURNING 1
  )
  SELECT ('${OUT_OF_STOCK_MARKER}: ' || count(*))::int FROM taken
  HAVING count(*) <> 1 AND NOT EXISTS (SELECT 1 FROM listings WHERE id = $1 AND stock_remaining IS NULL)`);

/**
 * Takes `quantity` units of a limited listing without waiting for the answer: the statement travels with what the
 * transaction sends next (a purchase: the key's response and the COMMIT), so the listing's row — every buyer's — is
 * never held across a round trip to the service. It fails, and the transaction with it, when the units are not there
 * (isOutOfStockFailure tells that failure apart).
 */
export function takeStockOrFail(tx: Tx, listingId: string, quantity: number): Promise<unknown> {
  return tx.query(TAKE_STOCK_OR_FAIL, [listingId, quantity]);
}

export function isOutOfStockFailure(error: unknown): boolean {
  return pgErrorCode(error) === PG.invalidTextRepresentation && String((error as Error).message).includes(OUT_OF_STOCK_MARKER);
}

/** Gives units back (a refund); capped at stock_total so a double restore cannot create stock. */
export async function giveBackStock(tx: Tx, listingId: string, quantity: number): Promise<void> {
  await tx.query(
    `UPDATE listings SET stock_remaining = least(stock_total, stock_remaining + $2), updated_at = now()
      WHERE id = $1 AND stock_remaining IS NOT NULL`,
    [listingId, quantity],
  );
}
