import type { Executor } from '../../platform/db.js';

export interface UserRow {
  id: string;
  email: string | null;
  name: string | null;
}

/**
 * Creates the user and their wallet account, or brings email/name up to date with the token.
 * Safe under concurrent first requests: both statements are ON CONFLICT upserts, so racing requests converge.
 */
export async function upsertUserWithWallet(db: Executor, user: UserRow): Promise<void> {
  await db.query(
    `WITH u AS (
       INSERT INTO users (id, email, name) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, updated_at = now()
         WHERE users.email IS DISTINCT FROM EXCLUDED.email OR users.name IS DISTINCT FROM EXCLUDED.name
       RETURNING id
     )
     INSERT INTO ledger_accounts (kind, user_id)
     SELECT 'user_wallet', $1::uuid
     ON CONFLICT (user_id) DO NOTHING`,
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
