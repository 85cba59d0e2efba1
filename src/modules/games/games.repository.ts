import type { Executor } from '../../platform/db.js';

export interface GameRecord {
  id: string;
  slug: string;
  name: string;
  slots: string[];
  createdAt: string;
  updatedAt: string;
}

const SELECT_GAME = `
  SELECT g.id, g.slug, g.name,
         coalesce((SELECT array_agg(s.slot ORDER BY s.position, s.slot) FROM game_slots s WHERE s.game_id = g.id), '{}') AS slots,
         to_char(g.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt",
         to_char(g.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt"
    FROM games g`;

export async function listGames(db: Executor): Promise<GameRecord[]> {
  return (await db.query<GameRecord>(`${SELECT_GAME} ORDER BY g.name COLLATE "C", g.id`)).rows;
}

export async function findGame(db: Executor, id: string): Promise<GameRecord | undefined> {
  return (await db.query<GameRecord>(`${SELECT_GAME} WHERE g.id = $1`, [id])).rows[0];
}

/** Locks the game against deletion until the transaction ends (FOR KEY SHARE); false when there is none. */
export async function lockGameKey(tx: Executor, id: string): Promise<boolean> {
  return (await tx.query('SELECT 1 FROM games WHERE id = $1 FOR KEY SHARE', [id])).rowCount === 1;
}

export async function insertGame(db: Executor, game: { slug: string; name: string }): Promise<string> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO games (slug, name) VALUES ($1, $2) RETURNING id', [game.slug, game.name]);
  return rows[0]!.id;
}

export async function updateGame(db: Executor, id: string, patch: { slug?: string; name?: string }): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE games SET slug = coalesce($2, slug), name = coalesce($3, name), updated_at = now() WHERE id = $1`,
    [id, patch.slug ?? null, patch.name ?? null],
  );
  return rowCount === 1;
}

/** Replaces the slot list; slots still referenced by items are protected by the item_slot_in_game FK. */
export async function replaceSlots(db: Executor, gameId: string, slots: string[]): Promise<void> {
  await db.query('DELETE FROM game_slots WHERE game_id = $1 AND NOT (slot = ANY($2::text[]))', [gameId, slots]);
  await db.query(
    `INSERT INTO game_slots (game_id, slot, position)
     SELECT $1, slot, ord::int FROM unnest($2::text[]) WITH ORDINALITY AS t(slot, ord)
     ON CONFLICT (game_id, slot) DO UPDATE SET position = EXCLUDED.position`,
    [gameId, slots],
  );
}

/**
 * Locks the game row for its DELETE (FOR UPDATE): a concurrent insert referencing the game (its foreign-key check
 * takes KEY SHARE) waits, and then fails its foreign key, instead of slipping in after the checks below.
 */
export async function lockGameForDelete(tx: Executor, id: string): Promise<boolean> {
  return (await tx.query('SELECT 1 FROM games WHERE id = $1 FOR UPDATE', [id])).rowCount === 1;
}

/** Whether some platform item names the game among its compatible games. */
export async function isNamedCompatible(db: Executor, gameId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM item_compatible_games WHERE game_id = $1 LIMIT 1', [gameId]);
  return rowCount === 1;
}

export async function deleteGame(db: Executor, id: string): Promise<boolean> {
  return (await db.query('DELETE FROM games WHERE id = $1', [id])).rowCount === 1;
}

export async function gameSlotExists(db: Executor, gameId: string, slot: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM game_slots WHERE game_id = $1 AND slot = $2', [gameId, slot]);
  return rowCount === 1;
}
