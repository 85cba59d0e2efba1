// For the tests that race equips against operators' catalog changes: every equipment row the equip rules would
// refuse (written here independently of equip-rules.ts and equipment-sweep.ts, from the table in
// docs/inventory-and-characters.md), and a wait for a request to queue on a row lock.
import type { Executor, Tx } from '../../src/platform/db.js';
import type { TestApp } from '../support/app.js';
import { afterUnequip, unequipDisallowedInTx } from '../../src/modules/characters/equipment-sweep.js';

/**
 * An operator's catalog change held open on a connection of the test: the caller takes the change's locks and
 * writes through `db`, `sweep` unequips what the new rules refuse, `commit` ends it and runs what the service runs
 * after such a commit.
 */
export async function operatorTransaction(t: TestApp, scope: { gameId: string } | { itemId: string }) {
  const client = await t.runtime.deps.db.pool.connect();
  await client.query('BEGIN');
  let unequipped: string[] = [];
  return {
    db: client,
    query: (text: string, params?: unknown[]) => client.query(text, params),
    sweep: async () => (unequipped = await unequipDisallowedInTx(client as unknown as Tx, scope)),
    async commit() {
      try {
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await afterUnequip(t.runtime.deps, unequipped);
    },
  };
}

export async function equipmentViolations(db: Executor): Promise<Array<{ characterId: string; slot: string }>> {
  const { rows } = await db.query<{ characterId: string; slot: string }>(
    `SELECT ce.character_id AS "characterId", ce.slot
       FROM character_equipment ce
       JOIN characters c ON c.id = ce.character_id
       JOIN inventory_items e ON e.id = ce.inventory_item_id
       JOIN item_definitions d ON d.id = e.item_id
      WHERE e.consumable OR d.consumable OR d.slot IS DISTINCT FROM ce.slot
         OR (c.game_id IS NULL AND d.game_id IS NOT NULL)
         OR (c.game_id IS NOT NULL AND (
               NOT EXISTS (SELECT 1 FROM game_slots s WHERE s.game_id = c.game_id AND s.slot = ce.slot)
            OR d.game_id <> c.game_id
            OR (d.game_id IS NULL
                AND EXISTS (SELECT 1 FROM item_compatible_games x WHERE x.item_id = d.id)
                AND NOT EXISTS (SELECT 1 FROM item_compatible_games x WHERE x.item_id = d.id AND x.game_id = c.game_id))))
      ORDER BY 1, 2`,
  );
  return rows;
}

/**
 * Resolves once `request` has settled or some backend of this database queues on a row lock, whichever comes
 * first: true when it queued. Polled from the pool (never from the transaction holding the lock: inside it,
 * pg_stat_activity would be one frozen snapshot).
 */
export async function queuedOnLock(db: Executor, request: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void request.then(() => (settled = true), () => (settled = true));
  for (let waited = 0; waited < 5_000; waited += 20) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0]!.n > 0) return true;
    if (settled) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the request neither settled nor queued on a lock within 5 s');
}
