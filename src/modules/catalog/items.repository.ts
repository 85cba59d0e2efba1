// SQL for item definitions and their game compatibility (admin side).
import type { Executor } from '../../platform/db.js';
import { pageOf } from '../../platform/http/pagination.js';
import type { ItemDefinitionView, ListItemsFilter } from './catalog.schemas.js';
import { ITEM_DEFINITION_COLUMNS, toItemDefinition, type ItemRow } from './purchase.repository.js';

interface ItemViewRow extends ItemRow {
  description: string;
  created_at: Date;
  updated_at: Date;
  created_key: string;
}

const SELECT_ITEM_VIEW = `
  SELECT ${ITEM_DEFINITION_COLUMNS}, d.description, d.created_at, d.updated_at,
         to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key
    FROM item_definitions d`;

function toView(row: ItemViewRow): ItemDefinitionView {
  const { id, sku, name, kind, gameId, compatibleGameIds, slot, consumable, maxStack, deliveryType, effect, attributes, shopifyVariantId } =
    toItemDefinition(row);
  return {
    id, sku, name, description: row.description, kind, gameId, compatibleGameIds, slot, consumable, maxStack, deliveryType,
    effect, attributes, shopifyVariantId, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
  };
}

export async function findItem(db: Executor, id: string, options: { forUpdate?: boolean } = {}): Promise<ItemDefinitionView | undefined> {
  // NO KEY UPDATE: conflicts with the FOR SHARE of listing writes, but not with the KEY SHARE that a purchase's
  // inserts referencing the item take while the purchase holds its listing row (FOR UPDATE deadlocked with it).
  const { rows } = await db.query<ItemViewRow>(`${SELECT_ITEM_VIEW} WHERE d.id = $1${options.forUpdate ? ' FOR NO KEY UPDATE OF d' : ''}`, [id]);
  return rows[0] && toView(rows[0]);
}

/** Newest first; the cursor is the last row's (created_at, id), present only when more rows follow. */
export async function listItems(
  db: Executor,
  filter: ListItemsFilter,
  after: { createdAt: string; id: string } | undefined,
): Promise<{ items: ItemDefinitionView[]; last?: { createdAt: string; id: string } }> {
  const { rows } = await db.query<ItemViewRow>(
    `${SELECT_ITEM_VIEW}
      WHERE ($1::uuid IS NULL OR d.game_id = $1)
        AND ($2::text IS NULL OR d.kind = $2)
        AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3::timestamptz, $4::uuid))
      ORDER BY d.created_at DESC, d.id DESC
      LIMIT $5`,
    [filter.gameId ?? null, filter.kind ?? null, after?.createdAt ?? null, after?.id ?? null, filter.limit + 1],
  );
  const page = pageOf(rows, filter.limit);
  return { items: page.rows.map(toView), last: page.last && { createdAt: page.last.created_key, id: page.last.id } };
}

export interface ItemColumns {
  sku: string;
  name: string;
  description: string;
  kind: string;
  gameId: string | null;
  slot: string | null;
  consumable: boolean;
  maxStack: number;
  deliveryType: string;
  effect: Record<string, unknown> | null;
  attributes: Record<string, unknown>;
  shopifyVariantId: string | null;
}

const columnValues = (item: ItemColumns) => [
  item.sku, item.name, item.description, item.kind, item.gameId, item.slot, item.consumable, item.maxStack, item.deliveryType,
  item.effect === null ? null : JSON.stringify(item.effect), JSON.stringify(item.attributes), item.shopifyVariantId,
];

export async function insertItem(db: Executor, item: ItemColumns): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO item_definitions (sku, name, description, kind, game_id, slot, consumable, max_stack, delivery_type, effect, attributes, shopify_variant_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12) RETURNING id`,
    columnValues(item),
  );
  return rows[0]!.id;
}

export async function updateItem(db: Executor, id: string, item: ItemColumns): Promise<void> {
  await db.query(
    `UPDATE item_definitions SET sku = $2, name = $3, description = $4, kind = $5, game_id = $6, slot = $7, consumable = $8,
            max_stack = $9, delivery_type = $10, effect = $11::jsonb, attributes = $12::jsonb, shopify_variant_id = $13, updated_at = now()
      WHERE id = $1`,
    [id, ...columnValues(item)],
  );
}

export async function replaceCompatibleGames(db: Executor, itemId: string, gameIds: readonly string[]): Promise<void> {
  await db.query('DELETE FROM item_compatible_games WHERE item_id = $1 AND NOT (game_id = ANY($2::uuid[]))', [itemId, gameIds]);
  await db.query(
    `INSERT INTO item_compatible_games (item_id, game_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`,
    [itemId, gameIds],
  );
}

export async function deleteItem(db: Executor, id: string): Promise<boolean> {
  return (await db.query('DELETE FROM item_definitions WHERE id = $1', [id])).rowCount === 1;
}

/** The ids among `gameIds` that name no game. */
export async function missingGameIds(db: Executor, gameIds: readonly string[]): Promise<string[]> {
  if (gameIds.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM unnest($1::uuid[]) AS wanted(id) WHERE NOT EXISTS (SELECT 1 FROM games g WHERE g.id = wanted.id)',
    [gameIds],
  );
  return rows.map((row) => row.id);
}

/** Listings that contain the item: their denormalized columns follow the item's definition. */
export async function listingIdsContaining(db: Executor, itemId: string): Promise<string[]> {
  const { rows } = await db.query<{ listing_id: string }>('SELECT listing_id FROM listing_items WHERE item_id = $1 ORDER BY listing_id', [itemId]);
  return rows.map((row) => row.listing_id);
}

/** Listings with a line of the item holding more than `maxQuantity` units. */
export async function listingsOverLineQuantity(db: Executor, itemId: string, maxQuantity: number): Promise<string[]> {
  const { rows } = await db.query<{ listing_id: string }>(
    'SELECT listing_id FROM listing_items WHERE item_id = $1 AND quantity > $2 ORDER BY listing_id LIMIT 20',
    [itemId, maxQuantity],
  );
  return rows.map((row) => row.listing_id);
}
