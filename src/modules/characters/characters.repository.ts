// Characters and what they wear. Every read of a character brings its equipment in the same statement
// (a correlated json_agg over character_equipment's primary key), so a character, a player's list or a
// 100-character loadout batch is one round trip.
import type { Executor, Tx } from '../../platform/db.js';

export interface EquipmentView {
  slot: string;
  inventoryItemId: string;
  itemId: string;
  name: string;
  kind: string;
}

export interface CharacterView {
  id: string;
  userId: string;
  name: string;
  gameId: string | null;
  equipment: EquipmentView[];
  createdAt: string;
  updatedAt: string;
}

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const SELECT_CHARACTER = `
  SELECT c.id, c.user_id AS "userId", c.name, c.game_id AS "gameId",
         coalesce((SELECT json_agg(json_build_object('slot', ce.slot, 'inventoryItemId', ce.inventory_item_id,
                                                     'itemId', e.item_id, 'name', d.name, 'kind', d.kind) ORDER BY ce.slot)
                     FROM character_equipment ce
                     JOIN inventory_items e ON e.id = ce.inventory_item_id
                     JOIN item_definitions d ON d.id = e.item_id
                    WHERE ce.character_id = c.id), '[]'::json) AS equipment,
         ${iso('c.created_at')} AS "createdAt", ${iso('c.updated_at')} AS "updatedAt",
         to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "sortKey"
    FROM characters c`;

export async function findCharacter(db: Executor, userId: string, characterId: string): Promise<CharacterView | undefined> {
  const { rows } = await db.query<CharacterView & { sortKey?: string }>(`${SELECT_CHARACTER} WHERE c.id = $1 AND c.user_id = $2`, [characterId, userId]);
  const row = rows[0];
  if (row) delete row.sortKey;
  return row;
}

/**
 * Oldest first, keyset on (created_at, id): characters_user_idx. The game filter is checked on the player's rows that
 * index walks (at most MAX_CHARACTERS_PER_USER), so it needs no index of its own.
 */
export async function listCharacters(
  db: Executor,
  query: { userId: string; gameId?: string; after?: { createdAt: string; id: string }; limit: number },
): Promise<Array<CharacterView & { sortKey: string }>> {
  const params: unknown[] = [query.userId, query.limit];
  const param = (value: unknown) => `$${params.push(value)}`;
  let where = 'c.user_id = $1';
  if (query.gameId !== undefined) where += ` AND c.game_id = ${param(query.gameId)}::uuid`;
  if (query.after) where += ` AND (c.created_at, c.id) > (${param(query.after.createdAt)}::timestamptz, ${param(query.after.id)}::uuid)`;
  const { rows } = await db.query<CharacterView & { sortKey: string }>(
    `${SELECT_CHARACTER} WHERE ${where} ORDER BY c.created_at, c.id LIMIT $2`,
    params,
  );
  return rows;
}

/** Any user's characters by id, for game servers; ids that do not exist are simply not returned. */
export async function findCharactersByIds(db: Executor, characterIds: readonly string[]): Promise<CharacterView[]> {
  const { rows } = await db.query<CharacterView & { sortKey?: string }>(
    `${SELECT_CHARACTER} WHERE c.id = ANY($1::uuid[]) ORDER BY c.id`,
    [characterIds],
  );
  return rows.map(({ sortKey: _sortKey, ...row }) => row);
}

/**
 * Serializes character creation per user (the users row is the lock), so the per-user cap holds under
 * concurrent creates; FOR NO KEY UPDATE does not block the FK checks other tables make against users.
 */
export async function lockUserForCharacters(tx: Tx, userId: string): Promise<void> {
  await tx.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
}

export async function countCharacters(tx: Tx, userId: string): Promise<number> {
  const { rows } = await tx.query<{ count: number }>('SELECT count(*)::int AS count FROM characters WHERE user_id = $1', [userId]);
  return rows[0]!.count;
}

export async function insertCharacter(tx: Tx, character: { userId: string; name: string; gameId: string | null }): Promise<string> {
  const { rows } = await tx.query<{ id: string }>(
    'INSERT INTO characters (user_id, name, game_id) VALUES ($1, $2, $3) RETURNING id',
    [character.userId, character.name, character.gameId],
  );
  return rows[0]!.id;
}

export async function renameCharacter(db: Executor, userId: string, characterId: string, name: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE characters SET name = $3, updated_at = now() WHERE id = $1 AND user_id = $2', [characterId, userId, name]);
  return rowCount === 1;
}

export async function deleteCharacter(db: Executor, userId: string, characterId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM characters WHERE id = $1 AND user_id = $2', [characterId, userId]);
  return rowCount === 1;
}

/** Locks the character for an unequip (an equip takes it through lockForEquip, after the rules). */
export async function lockCharacter(tx: Tx, userId: string, characterId: string): Promise<{ id: string; gameId: string | null } | undefined> {
  const { rows } = await tx.query<{ id: string; gameId: string | null }>(
    'SELECT id, game_id AS "gameId" FROM characters WHERE id = $1 AND user_id = $2 FOR UPDATE',
    [characterId, userId],
  );
  return rows[0];
}

/**
 * The equip's first statement. The rules an equip is judged by are locked FOR SHARE: the character's game row
 * (its slots) and the entry's item definition (its slot, game, compatible games). An operator's game or item
 * update takes those rows first (its UPDATE), so either it waits for this equip and then sweeps what it put on
 * (equipment-sweep.ts), or this equip waits for its commit and the next statement, with a fresh snapshot, reads
 * the new rules. They are locked before the character (FOR UPDATE) because the operator's sweep goes on to
 * update the characters it unequips: the other order deadlocked. The subselects run while the character row is
 * produced, so before the locking clause of this statement takes it.
 * Only the user's own character and entry are found; the character and item ids are immutable, so reading them
 * unlocked is safe.
 */
export async function lockForEquip(
  tx: Tx,
  query: { userId: string; characterId: string; inventoryItemId: string },
): Promise<{ id: string; gameId: string | null } | undefined> {
  const { rows } = await tx.query<{ id: string; gameId: string | null }>(
    `SELECT c.id, c.game_id AS "gameId",
            (SELECT count(*) FROM (SELECT FROM games g WHERE g.id = c.game_id FOR SHARE) AS g) AS "gameLocked",
            (SELECT count(*) FROM (SELECT FROM item_definitions d JOIN inventory_items e ON e.item_id = d.id
                                    WHERE e.id = $3 AND e.user_id = $2 FOR SHARE OF d) AS d) AS "itemLocked"
       FROM characters c
      WHERE c.id = $1 AND c.user_id = $2
        FOR UPDATE OF c`,
    [query.characterId, query.userId, query.inventoryItemId],
  );
  const row = rows[0];
  return row && { id: row.id, gameId: row.gameId };
}

export interface EquippableEntry {
  quantity: number;
  consumable: boolean;
  itemGameId: string | null;
  itemSlot: string | null;
  compatibleGameIds: string[];
  /** Whether the character's game declares the requested slot (null for a platform-wide character). */
  slotInCharacterGame: boolean | null;
}

/**
 * The entry with what the equip rules need, locked FOR SHARE so a refund cannot delete it between our checks
 * and the equipment write (revocation takes FOR UPDATE and waits for us, then cascades the unequip). Runs after
 * lockForEquip: the game and item rows are already held, so the slots and compatible games read here are the
 * committed ones and stay so until the equipment row is written.
 * Only the user's own entries are found: someone else's id looks exactly like a missing one.
 */
export async function lockEntryForEquip(
  tx: Tx,
  query: { userId: string; inventoryItemId: string; characterGameId: string | null; slot: string },
): Promise<EquippableEntry | undefined> {
  const { rows } = await tx.query<EquippableEntry>(
    `SELECT e.quantity, e.consumable OR d.consumable AS consumable, d.game_id AS "itemGameId", d.slot AS "itemSlot",
            coalesce((SELECT array_agg(c.game_id) FROM item_compatible_games c WHERE c.item_id = d.id), '{}') AS "compatibleGameIds",
            CASE WHEN $3::uuid IS NULL THEN NULL
                 ELSE EXISTS (SELECT 1 FROM game_slots s WHERE s.game_id = $3::uuid AND s.slot = $4) END AS "slotInCharacterGame"
       FROM inventory_items e
       JOIN item_definitions d ON d.id = e.item_id
      WHERE e.id = $1 AND e.user_id = $2
      FOR SHARE OF e`,
    [query.inventoryItemId, query.userId, query.characterGameId, query.slot],
  );
  return rows[0];
}

/** One item per slot: equipping an occupied slot replaces what was there. The character's updated_at follows. */
export async function putEquipment(tx: Tx, characterId: string, slot: string, inventoryItemId: string): Promise<void> {
  await tx.query(
    `WITH put AS (
       INSERT INTO character_equipment (character_id, slot, inventory_item_id) VALUES ($1, $2, $3)
       ON CONFLICT (character_id, slot) DO UPDATE SET inventory_item_id = EXCLUDED.inventory_item_id, equipped_at = now())
     UPDATE characters SET updated_at = now() WHERE id = $1`,
    [characterId, slot, inventoryItemId],
  );
}

/**
 * Empties the slot and touches the character, unless the slot is unknown: not one of the game's slots, or for a
 * platform-wide character (which wears platform items in whatever slot they declare) a slot no platform item
 * declares. An unknown slot changes nothing and answers false; something still worn there (left by a rule
 * change the sweep did not see) is taken off all the same.
 */
export async function removeEquipment(tx: Tx, character: { id: string; gameId: string | null }, slot: string): Promise<boolean> {
  const { rows } = await tx.query<{ known: boolean }>(
    `WITH gone AS (
       DELETE FROM character_equipment WHERE character_id = $1 AND slot = $2 RETURNING 1
     ), known AS (
       SELECT EXISTS (SELECT 1 FROM gone)
              OR CASE WHEN $3::uuid IS NULL THEN EXISTS (SELECT 1 FROM item_definitions d WHERE d.game_id IS NULL AND d.slot = $2)
                      ELSE EXISTS (SELECT 1 FROM game_slots s WHERE s.game_id = $3::uuid AND s.slot = $2) END AS known
     ), touched AS (
       UPDATE characters SET updated_at = now() WHERE id = $1 AND (SELECT known FROM known)
     )
     SELECT known FROM known`,
    [character.id, slot, character.gameId],
  );
  return rows[0]!.known;
}
