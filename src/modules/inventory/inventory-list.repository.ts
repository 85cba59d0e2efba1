// The player's inventory page: one statement per page, newest first, keyset on (acquired_at, id) so it walks
// inventory_items_user_idx. equippedBy is a correlated array_agg over character_equipment_inventory_idx, so a
// page costs one round trip however many entries it holds (no N+1).
import type { Executor } from '../../platform/db.js';
import type { ItemKind } from '../catalog/index.js';

export type InventoryEntry = {
  id: string;
  itemId: string;
  name: string;
  kind: ItemKind;
  gameId: string | null;
  quantity: number;
  consumable: boolean;
  slot: string | null;
  equippedBy: string[];
  acquiredAt: string;
  source: string;
  sourceRef: string | null;
};

export interface InventoryFilter {
  gameId?: string;
  kind?: ItemKind;
  consumable?: boolean;
  equipped?: boolean;
}

/** The page's rows plus each row's exact sort key (microseconds, which a JS Date would round away). */
export type InventoryRow = InventoryEntry & { sortKey: string };

export async function listInventoryPage(
  db: Executor,
  query: { userId: string; filter: InventoryFilter; after?: { acquiredAt: string; id: string }; limit: number },
): Promise<InventoryRow[]> {
  // Empty stacks stay as rows (their history and id survive a re-grant) but are not shown as owned.
  const where = ['e.user_id = $1', 'e.quantity > 0'];
  const params: unknown[] = [query.userId];
  const param = (value: unknown) => `$${params.push(value)}`;
  const { gameId, kind, consumable, equipped } = query.filter;
  if (gameId !== undefined) where.push(`d.game_id = ${param(gameId)}`);
  if (kind !== undefined) where.push(`d.kind = ${param(kind)}`);
  if (consumable !== undefined) where.push(`e.consumable = ${param(consumable)}`);
  if (equipped !== undefined) {
    where.push(`${equipped ? '' : 'NOT '}EXISTS (SELECT 1 FROM character_equipment x WHERE x.inventory_item_id = e.id)`);
  }
  if (query.after) where.push(`(e.acquired_at, e.id) < (${param(query.after.acquiredAt)}::timestamptz, ${param(query.after.id)}::uuid)`);
  const limit = param(query.limit);

  const { rows } = await db.query<InventoryRow>(
    `SELECT e.id, e.item_id AS "itemId", d.name, d.kind, d.game_id AS "gameId", e.quantity, e.consumable, d.slot,
            coalesce((SELECT array_agg(ce.character_id ORDER BY ce.character_id)
                        FROM character_equipment ce WHERE ce.inventory_item_id = e.id), '{}') AS "equippedBy",
            to_char(e.acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "acquiredAt",
            e.source, e.source_ref AS "sourceRef",
            to_char(e.acquired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "sortKey"
       FROM inventory_items e
       JOIN item_definitions d ON d.id = e.item_id
      WHERE ${where.join(' AND ')}
      ORDER BY e.acquired_at DESC, e.id DESC
      LIMIT ${limit}`,
    params,
  );
  return rows;
}
