import type { Executor } from '../../platform/db.js';

export interface UserRow {
  id: string;
  email: string | null;
  name: string | null;
}

/**
 * Creates the user and their wallet account, or brings email/name up to date with the token.
 * Safe under concurrent first requests: both inserts are ON CONFLICT DO NOTHING, so racing requests converge.
 * An unchanged user costs no write at all: `ON CONFLICT DO UPDATE … WHERE false` would still lock the row and
 * write WAL, so the update is a separate statement that matches nothing when the claims are unchanged.
 *
 * One race needs a second statement: when another transaction (a grant's ensureUserExists, another first
 * request) inserts the user while this statement runs, the INSERT waits for it and finds the conflict, but the
 * UPDATE beside it reads the statement's snapshot, from before that row was committed, and matches nothing.
 * `seen` says whether this statement saw the user at all; when it did not, the claims are applied again in a
 * statement of its own (a new snapshot), so the record still follows the token.
 */
export async function upsertUserWithWallet(db: Executor, user: UserRow): Promise<void> {
  const { rows } = await db.query<{ seen: boolean }>(
    `WITH inserted AS (
       INSERT INTO users (id, email, name) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO NOTHING
       RETURNING id
     ), updated AS (
       UPDATE users SET email = $2, name = $3, updated_at = now()
        WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM inserted)
          AND (email IS DISTINCT FROM $2 OR name IS DISTINCT FROM $3)
       RETURNING id
     ), wallet AS (
       INSERT INTO ledger_accounts (kind, user_id)
       SELECT 'user_wallet', $1::uuid
       ON CONFLICT (user_id) DO NOTHING
     )
     SELECT EXISTS (SELECT 1 FROM inserted) OR EXISTS (SELECT 1 FROM users WHERE id = $1) AS seen`,
    [user.id, user.email, user.name],
  );
  if (rows[0]?.seen) return;
  await db.query(
    `UPDATE users SET email = $2, name = $3, updated_at = now()
      WHERE id = $1 AND (email IS DISTINCT FROM $2 OR name IS DISTINCT FROM $3)`,
    [user.id, user.email, user.name],
  );
}

/** For grants to users who never logged in: creates them without touching an existing email/name. */
export async function ensureUserExists(db: Executor, userId: string): Promise<void> {
  await db.query(
    `WITH u AS (INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING)
     INSERT INTO ledger_accounts (kind, user_id) VALUES ('user_wallet', $1) ON CONFLICT (user_id) DO NOTHING`,
    [userId],
  );
}

export async function findUser(db: Executor, userId: string): Promise<UserRow | undefined> {
  const { rows } = await db.query<UserRow>('SELECT id, email, name FROM users WHERE id = $1', [userId]);
  return rows[0];
}
