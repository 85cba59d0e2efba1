// An entry copies its item's `consumable` flag and `max_stack` (the row's CHECKs guard quantities with them, and
// use/consume read the flag). When an operator changes either on the item definition, the entries players already
// own follow it in the operator's transaction (items.service.ts calls this after its UPDATE, holding the item row
// FOR NO KEY UPDATE): an item made consumable can be used, one made non-consumable cannot.
// Imported by the catalog like characters/equipment-sweep.ts: the inventory service is built after the catalog's.
import type { Tx } from '../../platform/db.js';
import { DomainError, PG, pgConstraint, pgErrorCode } from '../../platform/errors.js';

const STACK_CONSTRAINTS = new Set(['inventory_within_stack', 'inventory_non_consumable_single']);

function wouldNotFit(rule: { consumable: boolean; maxStack: number }, found?: { entries: number; largest: number }): DomainError {
  const limit = rule.consumable ? `maxStack ${rule.maxStack}` : 'a non-consumable item (one unit each)';
  const detail = `players hold more than ${rule.maxStack} of this item, which ${limit} does not allow; their entries cannot follow`;
  return new DomainError('conflict', detail, found && { entriesOverLimit: found.entries, largestHeld: found.largest, maxStack: rule.maxStack });
}

/**
 * Sets every entry of the item to the definition's `consumable` and `maxStack`; a stack larger than the new limit
 * (for a non-consumable: more than one unit) cannot follow, and the whole change answers 409 `conflict`, with how
 * many entries are over and the largest stack (the lowest maxStack that fits). A used-up entry (quantity 0, not
 * owned) of an item made non-consumable keeps `consumable` true (the row's CHECK allows a non-consumable exactly one
 * unit); the next grant stacks it to one unit and takes the definition's flag (upsertEntries).
 */
export async function followItemRulesInTx(tx: Tx, rule: { itemId: string; consumable: boolean; maxStack: number }): Promise<void> {
  const { rows } = await tx.query<{ entries: number; largest: number | null }>(
    'SELECT count(*)::int AS entries, max(quantity) AS largest FROM inventory_items WHERE item_id = $1 AND quantity > $2',
    [rule.itemId, rule.maxStack],
  );
  const over = rows[0]!;
  if (over.entries > 0) throw wouldNotFit(rule, { entries: over.entries, largest: over.largest! });
  try {
    await tx.query(
      `UPDATE inventory_items SET consumable = $2 OR quantity = 0, max_stack = $3
        WHERE item_id = $1 AND (consumable <> ($2 OR quantity = 0) OR max_stack <> $3)`,
      [rule.itemId, rule.consumable, rule.maxStack],
    );
  } catch (error) {
    // A grant that committed after the count stacked past the new limit: the row's CHECK refuses it.
    if (pgErrorCode(error) === PG.checkViolation && STACK_CONSTRAINTS.has(pgConstraint(error) ?? '')) throw wouldNotFit(rule);
    throw error;
  }
}
