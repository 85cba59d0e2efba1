// SQL the purchase flow runs inside its transaction: reading a listing with its items, taking and giving back
// stock. The conditional UPDATE is the guard against overselling, not any read before it.
import type { Executor, Tx } from '../../platform/db.js';
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

export async function findItemDefinitions(db: Executor, itemIds: readonly string[]): Promise<ItemDefinition[]> {
  if (itemIds.length === 0) return [];
  const { rows } = await db.query<ItemRow>(
    `SELECT ${ITEM_DEFINITION_COLUMNS} FROM item_definitions d WHERE d.id = ANY($1::uuid[]) ORDER BY d.id`,
    [[...new Set(itemIds)]],
  );
  return rows.map(toItemDefinition);
}

interface ListingRow {
  id: string;
  title: string;
  price: number;
  active: boolean;
  starts_at: Date | null;
  ends_at: Date | null;
  stock_remaining: number | null;
  per_user_limit: number | null;
}

export async function findPurchasableListing(db: Executor, listingId: string): Promise<PurchasableListing | undefined> {
  const { rows } = await db.query<ListingRow>(
    `SELECT id, title, price, active, starts_at, ends_at, stock_remaining, per_user_limit FROM listings WHERE id = $1`,
    [listingId],
  );
  const listing = rows[0];
  if (!listing) return undefined;
  const lines = await db.query<ItemRow & { quantity: number }>(
    `SELECT ${ITEM_DEFINITION_COLUMNS}, li.quantity
       FROM listing_items li JOIN item_definitions d ON d.id = li.item_id
      WHERE li.listing_id = $1
      ORDER BY li.position, li.item_id`,
    [listingId],
  );
  return {
    id: listing.id,
    title: listing.title,
    price: listing.price,
    active: listing.active,
    startsAt: listing.starts_at,
    endsAt: listing.ends_at,
    stockRemaining: listing.stock_remaining,
    perUserLimit: listing.per_user_limit,
    items: lines.rows.map((row) => ({ ...toItemDefinition(row), quantity: row.quantity })),
  };
}

/** True when the listing is unlimited or `quantity` units were taken; false when not enough are left. */
export async function takeStock(tx: Tx, listingId: string, quantity: number): Promise<boolean> {
  const taken = await tx.query(
    `UPDATE listings SET stock_remaining = stock_remaining - $2, updated_at = now()
      WHERE id = $1 AND stock_remaining IS NOT NULL AND stock_remaining >= $2`,
    [listingId, quantity],
  );
  if (taken.rowCount === 1) return true;
  // Unlimited listings are never touched, so buying them does not serialize on the listing row.
  const { rows } = await tx.query<{ unlimited: boolean }>('SELECT stock_remaining IS NULL AS unlimited FROM listings WHERE id = $1', [listingId]);
  return rows[0]?.unlimited ?? false;
}

/** Gives units back (a refund); capped at stock_total so a double restore cannot create stock. */
export async function giveBackStock(tx: Tx, listingId: string, quantity: number): Promise<void> {
  await tx.query(
    `UPDATE listings SET stock_remaining = least(stock_total, stock_remaining + $2), updated_at = now()
      WHERE id = $1 AND stock_remaining IS NOT NULL`,
    [listingId, quantity],
  );
}
