// An entry copies its item's `consumable` flag and `max_stack` (the row's CHECKs guard quantities with them, and
// use/consume read the flag). When an operator changes either on the item definition, the entries players already
// own follow it in the operator's transaction (items.service.ts calls this after its UPDATE, holding the item row
// FOR NO KEY UPDATE): an item made consumable can be used, one made non-consumable cannot.
// Imported by the catalog like characters/equipment-sweep.ts: the inventory service is built after the catalog's.
import type { Tx } from '../../platform/db.js';
import { DomainError, PG, pgConstraint, pgErrorCode } from '../../platform/errors.js';

function cannotFollow(found?: { entries: number; largest: number }): DomainError {
  const detail = 'players hold more than 1 unit of this item, which a non-consumable item (one unit each) does not allow; their entries cannot follow';
  return new DomainError('conflict', detail, found && { entriesOverLimit: found.entries, largestHeld: found.largest, maxStack: 1 });
}

/**
 * Sets every entry of the item to the definition's `consumable` and `maxStack`. A stack held above a lowered
 * `maxStack` is kept, its entry's limit being what it holds (a player is not stripped of what they own; grants,
 * which check the definition's current limit, cannot add to it), so lowering a limit never fails. An item made
 * non-consumable while a player holds two or more units cannot follow (one unit each, and the row's CHECK says so):
 * the whole change answers 409 `conflict`, with how many entries hold more and the largest stack. A used-up entry
 * (quantity 0, not owned) of an item made non-consumable keeps `consumable` true (the row's CHECK allows a
 * non-consumable exactly one unit); the next grant stacks it to one unit and takes the definition's flag
 * (upsertEntries).
 */
export async function followItemRulesInTx(tx: Tx, rule: { itemId: string; consumable: boolean; maxStack: number }): Promise<void> {
  if (!rule.consumable) {
    const { rows } = await tx.query<{ entries: number; largest: number | null }>(
      'SELECT count(*)::int AS entries, max(quantity) AS largest FROM inventory_items WHERE item_id = $1 AND quantity > 1',
      [rule.itemId],
    );
    const over = rows[0]!;
    if (over.entries > 0) throw cannotFollow({ entries: over.entries, largest: over.largest! });
  }
  try {
    await tx.query(
      `UPDATE inventory_items SET consumable = $2 OR quantity = 0, max_stack = greatest($3, quantity)
        WHERE item_id = $1 AND (consumable <> ($2 OR quantity = 0) OR max_stack <> greatest($3, quantity))`,
      [rule.itemId, rule.consumable, rule.maxStack],
    );
  } catch (error) {
    // A grant that committed after the count stacked a second unit of an item made non-consumable: the row's CHECK refuses it.
    if (pgErrorCode(error) === PG.checkViolation && pgConstraint(error) === 'inventory_non_consumable_single') throw cannotFollow();
    throw error;
  }
}
