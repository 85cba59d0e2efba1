// Voucher code pools: SQL only. A code belongs to at most one fulfillment; claiming locks the oldest free codes
// with SKIP LOCKED, so parallel purchases take different codes without waiting on each other.
import type { Executor, Tx } from '../../platform/db.js';

/** Claims up to `count` free codes of the item for the fulfillment; returns how many it got. */
export async function claimCodes(tx: Tx, itemId: string, fulfillmentId: string, count: number): Promise<number> {
  const { rowCount } = await tx.query(
    `WITH free AS (
       SELECT id FROM voucher_codes
        WHERE item_id = $1 AND claimed_at IS NULL
        ORDER BY created_at, id
        LIMIT $3
        FOR UPDATE SKIP LOCKED
     )
     UPDATE voucher_codes v SET claimed_at = now(), fulfillment_id = $2
       FROM free WHERE v.id = free.id`,
    [itemId, fulfillmentId, count],
  );
  return rowCount;
}

export async function codesOf(db: Executor, fulfillmentId: string): Promise<string[]> {
  const { rows } = await db.query<{ code: string }>(
    'SELECT code FROM voucher_codes WHERE fulfillment_id = $1 ORDER BY claimed_at, id',
    [fulfillmentId],
  );
  return rows.map((row) => row.code);
}

/**
 * Adds codes, skipping those already in the item's pool; returns how many were new. Inserted in one fixed order
 * (byte order of the code): two uploads sharing codes in different orders each waited on a code the other had
 * just inserted, and deadlocked.
 */
export async function addCodes(db: Executor, itemId: string, codes: readonly string[]): Promise<number> {
  const { rowCount } = await db.query(
    `INSERT INTO voucher_codes (item_id, code)
     SELECT $1, code FROM unnest($2::text[]) AS t(code) ORDER BY code COLLATE "C"
     ON CONFLICT (item_id, code) DO NOTHING`,
    [itemId, codes],
  );
  return rowCount;
}

export async function countFree(db: Executor, itemId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM voucher_codes WHERE item_id = $1 AND claimed_at IS NULL', [itemId]);
  return rows[0]?.n ?? 0;
}
