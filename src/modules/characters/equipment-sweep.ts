// After an operator changes a game's slots or an item definition, some equipment may no longer pass the equip
// rules (equip-rules.ts): the slot is gone, the item moved slot or game, became consumable, or left the game's
// compatible list. Those rows are unequipped in the same transaction (the items stay owned), so a character never
// shows, and a game server's loadout never carries, an item the equip endpoint would refuse.
import type { Tx } from '../../platform/db.js';
import { userCacheNamespaces } from '../inventory/cache-namespaces.js';

// The rows of equip-rules.ts that depend on the catalog, as SQL over ce (equipment), e (entry), d (item), c (character).
// Comparisons with a NULL slot or game yield NULL, hence the coalesce at the use site: unknown is not allowed.
const STILL_ALLOWED = `
  NOT (e.consumable OR d.consumable) AND d.slot = ce.slot AND
  CASE WHEN c.game_id IS NULL THEN d.game_id IS NULL
       ELSE EXISTS (SELECT 1 FROM game_slots s WHERE s.game_id = c.game_id AND s.slot = ce.slot)
        AND (d.game_id = c.game_id
             OR (d.game_id IS NULL AND (NOT EXISTS (SELECT 1 FROM item_compatible_games x WHERE x.item_id = d.id)
                                        OR EXISTS (SELECT 1 FROM item_compatible_games x WHERE x.item_id = d.id AND x.game_id = c.game_id))))
  END`;

/** Unequips what the rules no longer allow among the game's characters or the item's wearers; returns their users. */
export async function unequipDisallowedInTx(tx: Tx, scope: { gameId: string } | { itemId: string }): Promise<string[]> {
  const [filter, value] = 'gameId' in scope ? ['c.game_id = $1', scope.gameId] : ['d.id = $1', scope.itemId];
  const { rows } = await tx.query<{ user_id: string }>(
    `WITH gone AS (
       DELETE FROM character_equipment ce
        USING characters c, inventory_items e, item_definitions d
        WHERE c.id = ce.character_id AND e.id = ce.inventory_item_id AND d.id = e.item_id AND ${filter}
          AND NOT coalesce((${STILL_ALLOWED}), false)
       RETURNING c.user_id, c.id AS character_id)
     UPDATE characters SET updated_at = now() WHERE id IN (SELECT character_id FROM gone)
     RETURNING user_id`,
    [value],
  );
  return [...new Set(rows.map((row) => row.user_id))];
}

/** After the commit: the users' characters and inventories (equippedBy) are read fresh. */
export async function afterUnequip(
  deps: { db: { noteWrite(...scopes: string[]): Promise<void> }; cache: { invalidate(...namespaces: string[]): Promise<void> } },
  userIds: readonly string[],
): Promise<void> {
  if (userIds.length === 0) return;
  await deps.db.noteWrite(...userIds);
  await deps.cache.invalidate(...userIds.flatMap(userCacheNamespaces));
}
