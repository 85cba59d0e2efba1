import type { Executor } from '../../platform/db.js';

export interface UserRow {
  id: string;
  email: string | null;
  name: string | null;
}

/** The claims of one verified token: `iat` (seconds) orders them against the claims the row already holds. */
export interface UserClaims extends UserRow {
  iat?: number;
}

/**
 * Which existing rows take the token's claims, and what they become ($1 id, $2 email, $3 name, $4 iat or null).
 *
 * Claims are ordered by the token's issue time (`users.claims_issued_at`): with several instances, an older token
 * still in use must not write its old email back over a newer token's (each instance's memo would then keep it
 * there; users.service.ts). A token with `iat` writes when it is not older than the stored claims and its claims or
 * its `iat` differ: a newer token with the same claims records its `iat` (one write per token, not per request), so
 * an older token with other claims, issued in between, cannot revert them later. A token without `iat` cannot be
 * ordered: it writes only while no ordered claims are stored (NULL), as before this column existed, and never
 * replaces claims an ordered token wrote. Under concurrent writes the row lock serialises them and PostgreSQL
 * re-checks this WHERE against the row the other committed (READ COMMITTED), so the newest token's claims stay,
 * in whatever order the writes commit. A request that changes nothing matches no row: no lock, no WAL.
 */
const APPLY_CLAIMS = `SET email = $2, name = $3, claims_issued_at = to_timestamp($4::double precision),
         updated_at = CASE WHEN email IS DISTINCT FROM $2 OR name IS DISTINCT FROM $3 THEN now() ELSE updated_at END
   WHERE id = $1 AND CASE
     WHEN $4::double precision IS NULL THEN claims_issued_at IS NULL AND (email IS DISTINCT FROM $2 OR name IS DISTINCT FROM $3)
     ELSE (claims_issued_at IS NULL OR claims_issued_at <= to_timestamp($4::double precision))
      AND (email IS DISTINCT FROM $2 OR name IS DISTINCT FROM $3 OR claims_issued_at IS DISTINCT FROM to_timestamp($4::double precision))
   END`;

/**
 * Creates the user and their wallet account, or brings email/name up to date with the token (APPLY_CLAIMS).
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
export async function upsertUserWithWallet(db: Executor, user: UserClaims): Promise<void> {
  const params = [user.id, user.email, user.name, user.iat ?? null];
  const { rows } = await db.query<{ seen: boolean }>(
    `WITH inserted AS (
       INSERT INTO users (id, email, name, claims_issued_at) VALUES ($1, $2, $3, to_timestamp($4::double precision))
       ON CONFLICT (id) DO NOTHING
       RETURNING id
     ), updated AS (
       UPDATE users ${APPLY_CLAIMS} AND NOT EXISTS (SELECT 1 FROM inserted)
       RETURNING id
     ), wallet AS (
       INSERT INTO ledger_accounts (kind, user_id)
       SELECT 'user_wallet', $1::uuid
       ON CONFLICT (user_id) DO NOTHING
     )
     SELECT EXISTS (SELECT 1 FROM inserted) OR EXISTS (SELECT 1 FROM users WHERE id = $1) AS seen`,
    params,
  );
  if (rows[0]?.seen) return;
  await db.query(`UPDATE users ${APPLY_CLAIMS}`, params);
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
