// SQL that changes what a user owns. The unique (user_id, item_id) constraint decides ownership, the
// quantity CHECKs decide stacks; the statements here are written so those guards, not reads before them, win.
import { prepared, type Executor, type Tx } from '../../platform/db.js';

export interface GrantLine {
  itemId: string;
  quantity: number;
  consumable: boolean;
  maxStack: number;
}

export interface UpsertedEntry {
  inventoryItemId: string;
  itemId: string;
  quantity: number;
}

/**
 * Adds every line in ONE statement (and records one event per line in the same statement). A line comes back
 * only when it was inserted, or stacked onto a consumable entry without passing the item's max stack; a
 * non-consumable already owned, or a stack that would overflow, is simply absent from the result (the caller
 * turns that into an error and the transaction rolls back). The row lock ON CONFLICT takes makes a
 * concurrent second purchase of a non-consumable wait for the first and then see it as owned.
 * A stacked row takes the definition's flag and limit: a used-up entry (quantity 0) of an item an operator has
 * since made non-consumable (owned-item-rules.ts) stacks to its one unit and is non-consumable from then on.
 * Rows are taken in item id order, whatever order the caller named them in: two grants of the same items in
 * opposite orders (or a grant racing a transaction that already holds one of its rows) wait, never deadlock.
 * The flag and limit written and checked are the definition's as this statement reads it FOR SHARE, not the line's
 * (read earlier, FOR KEY SHARE, which an item PATCH's FOR NO KEY UPDATE does not wait for): an operator's change of
 * either committing between that read and this statement, which has already set the owned entries
 * (owned-item-rules.ts), would otherwise be undone by a stale copy (a second unit stacked past the new limit, an entry
 * of an item made non-consumable left usable). FOR SHARE waits for such a PATCH and reads what it committed; a line
 * larger than the limit it reads is absent (refused like an overflowing stack), not a CHECK violation.
 */
export async function upsertEntries(
  tx: Tx,
  grant: { userId: string; lines: readonly GrantLine[]; source: 'purchase' | 'grant'; sourceRef: string; actor: string | null },
): Promise<UpsertedEntry[]> {
  const { rows } = await tx.query<UpsertedEntry>(
    prepared(`WITH input AS (
       SELECT * FROM unnest($2::uuid[], $3::int[], $4::boolean[], $5::int[]) AS t(item_id, quantity, consumable, max_stack)
     ), upserted AS (
       INSERT INTO inventory_items AS e (user_id, item_id, quantity, consumable, max_stack, source, source_ref)
       SELECT $1, i.item_id, i.quantity, d.consumable, d.max_stack, $6, $7
         FROM input i JOIN item_definitions d ON d.id = i.item_id WHERE i.quantity <= d.max_stack ORDER BY i.item_id FOR SHARE OF d
       ON CONFLICT (user_id, item_id) DO UPDATE
          SET quantity = e.quantity + EXCLUDED.quantity, consumable = EXCLUDED.consumable, max_stack = EXCLUDED.max_stack, updated_at = now()
        WHERE e.consumable AND e.quantity + EXCLUDED.quantity <= EXCLUDED.max_stack
       RETURNING e.id, e.item_id, e.quantity
     ), events AS (
       INSERT INTO inventory_events (user_id, item_id, inventory_item_id, delta, reason, reference, actor)
       SELECT $1, u.item_id, u.id, i.quantity, $6, $7, $8 FROM upserted u JOIN input i ON i.item_id = u.item_id
     )
     SELECT id AS "inventoryItemId", item_id AS "itemId", quantity FROM upserted`),
    [
      grant.userId,
      grant.lines.map((l) => l.itemId),
      grant.lines.map((l) => l.quantity),
      grant.lines.map((l) => l.consumable),
      grant.lines.map((l) => l.maxStack),
      grant.source,
      grant.sourceRef,
      grant.actor,
    ],
  );
  return rows;
}

export async function ownedItemIds(db: Executor, userId: string, itemIds: readonly string[]): Promise<string[]> {
  if (itemIds.length === 0) return [];
  const { rows } = await db.query<{ item_id: string }>(
    prepared('SELECT item_id FROM inventory_items WHERE user_id = $1 AND item_id = ANY($2::uuid[]) AND quantity > 0'),
    [userId, [...new Set(itemIds)]],
  );
  return rows.map((row) => row.item_id);
}

/**
 * Takes back up to `quantity`: a non-consumable entry is deleted (its equipment rows go with it through the
 * FK cascade, so revocation unequips in the same statement), a consumable stack shrinks, never below zero.
 * The entry is locked first so a concurrent use cannot make the count we record wrong.
 */
export async function revokeEntry(
  tx: Tx,
  revoke: { userId: string; itemId: string; quantity: number; reference: string; actor: string | null },
): Promise<number> {
  const { rows } = await tx.query<{ id: string; quantity: number; consumable: boolean }>(
    'SELECT id, quantity, consumable FROM inventory_items WHERE user_id = $1 AND item_id = $2 FOR UPDATE',
    [revoke.userId, revoke.itemId],
  );
  const entry = rows[0];
  if (!entry || entry.quantity === 0 || revoke.quantity < 1) return 0;
  let revoked: number;
  let eventEntryId: string | null;
  if (entry.consumable) {
    revoked = Math.min(entry.quantity, revoke.quantity);
    await tx.query('UPDATE inventory_items SET quantity = quantity - $2, updated_at = now() WHERE id = $1', [entry.id, revoked]);
    eventEntryId = entry.id;
  } else {
    revoked = entry.quantity;
    await tx.query('DELETE FROM inventory_items WHERE id = $1', [entry.id]);
    eventEntryId = null; // the entry is gone; user_id and item_id keep the history readable
  }
  await tx.query(
    `INSERT INTO inventory_events (user_id, item_id, inventory_item_id, delta, reason, reference, actor)
     VALUES ($1, $2, $3, $4, 'revoke', $5, $6)`,
    [revoke.userId, revoke.itemId, eventEntryId, -revoked, revoke.reference, revoke.actor],
  );
  return revoked;
}

export interface UsedEntry {
  id: string;
  itemId: string;
  quantity: number; // what is left
  effect: Record<string, unknown> | null;
}

/**
 * Uses `quantity` units in one conditional statement: the WHERE (and CHECK quantity >= 0 behind it) decides
 * whether enough is left, so parallel uses of one stack can never take more than it holds. The event is
 * written by the same statement. Nothing comes back when the entry is missing, someone else's, not
 * consumable or short; `describeEntry` tells which.
 */
export async function useEntry(
  tx: Tx,
  use: { entryId: string; userId: string; quantity: number; reason: 'use' | 'consume'; reference: string | null; actor: string },
): Promise<UsedEntry | undefined> {
  const { rows } = await tx.query<UsedEntry>(
    `WITH used AS (
       UPDATE inventory_items e SET quantity = e.quantity - $3, updated_at = now()
        WHERE e.id = $1 AND e.user_id = $2 AND e.consumable AND e.quantity >= $3
       RETURNING e.id, e.item_id, e.quantity
     ), event AS (
       INSERT INTO inventory_events (user_id, item_id, inventory_item_id, delta, reason, reference, actor)
       SELECT $2, item_id, id, -$3::int, $4, $5, $6 FROM used
     )
     SELECT u.id, u.item_id AS "itemId", u.quantity, d.effect FROM used u JOIN item_definitions d ON d.id = u.item_id`,
    [use.entryId, use.userId, use.quantity, use.reason, use.reference, use.actor],
  );
  return rows[0];
}

export async function describeEntry(db: Executor, entryId: string, userId: string): Promise<{ consumable: boolean; quantity: number } | undefined> {
  const { rows } = await db.query<{ consumable: boolean; quantity: number }>(
    'SELECT consumable, quantity FROM inventory_items WHERE id = $1 AND user_id = $2',
    [entryId, userId],
  );
  return rows[0];
}
