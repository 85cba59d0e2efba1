// Idempotency keys with Stripe's semantics.
//
// 1. The key is claimed (status in_progress, a fresh lock_token) in its own tiny autocommitted statement, so a
//    second request with the same key sees the claim at once and gets 409 idempotency_in_progress instead of
//    queueing behind the first transaction's locks.
// 2. The work runs in one transaction that ends by storing the response on the key row, fenced by lock_token:
//    if the claim was taken over (the first holder looked dead), the fenced UPDATE matches nothing, fails, and
//    the whole transaction rolls back, so the work can never commit twice. It is sent with the COMMIT (one round
//    trip): a failed statement makes PostgreSQL answer the COMMIT with ROLLBACK, which db.withTx turns into an error.
// 3. A domain failure (409 insufficient_funds, …) is stored too and replayed, as Stripe does. An unexpected
//    failure releases the claim so the client's retry runs afresh.
// Keys live 24 hours; purgeExpiredKeys() deletes older ones and an expired key is reclaimed on sight.
import { createHash, randomUUID } from 'node:crypto';
import { prepared, type Database, type Tx } from './db.js';
import { DomainError } from './errors.js';
import { problem } from './http/problem.js';

export const IDEMPOTENCY_TTL_HOURS = 24;
/** A claim older than this with no completion is presumed dead (its process crashed) and may be taken over. */
export const STALE_CLAIM_SECONDS = 60;

export interface IdempotencyScope {
  scope: string;
  key: string;
  fingerprint: string;
}

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface IdempotentResult extends StoredResponse {
  replayed: boolean;
}

export function fingerprintRequest(parts: unknown): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

interface KeyRow {
  request_hash: string;
  status: 'in_progress' | 'completed';
  lock_token: string;
  response_status: number | null;
  response_body: unknown;
  stale: boolean;
  expired: boolean;
}

// The claim, a stored failure and a released claim are autocommitted statements whose loss in a crash is
// harmless: a lost claim is claimed again by the client's retry, and the guarded work commits synchronously,
// which flushes the WAL up to and including the claim before the work can count as done. So these statements
// do not wait for their own WAL flush (set_config(..., true) scopes the setting to the statement's implicit
// transaction): a purchase then pays for one durable commit, not two.
const NO_FLUSH_WAIT = `(SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait`;

// Every purchase runs these: prepared once per connection (db.ts).
const CLAIM = prepared(`INSERT INTO idempotency_keys (scope, key, request_hash, status, lock_token)
  SELECT $1, $2, $3, 'in_progress', $4 FROM ${NO_FLUSH_WAIT}
  ON CONFLICT (scope, key) DO NOTHING`);
const READ_CLAIM = prepared(`SELECT request_hash, status, lock_token, response_status, response_body,
         locked_at < now() - make_interval(secs => $3) AS stale,
         created_at < now() - make_interval(hours => $4) AS expired
    FROM idempotency_keys WHERE scope = $1 AND key = $2`);

async function claim(db: Database, request: IdempotencyScope): Promise<{ token: string } | { replay: StoredResponse }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const token = randomUUID();
    const inserted = await db.query(CLAIM, [request.scope, request.key, request.fingerprint, token]);
    if (inserted.rowCount === 1) return { token };

    const { rows } = await db.query<KeyRow>(READ_CLAIM, [request.scope, request.key, STALE_CLAIM_SECONDS, IDEMPOTENCY_TTL_HOURS]);
    const row = rows[0];
    if (!row) continue; // purged between our two statements: claim again

    if (row.expired && (row.status === 'completed' || row.stale)) {
      // Past its 24 h life the key is free again: take it over as a brand-new request.
      const renewed = await db.query(
        `UPDATE idempotency_keys SET request_hash = $3, status = 'in_progress', lock_token = $4, locked_at = now(),
                created_at = now(), response_status = NULL, response_body = NULL
          WHERE scope = $1 AND key = $2 AND lock_token = $5`,
        [request.scope, request.key, request.fingerprint, token, row.lock_token],
      );
      if (renewed.rowCount === 1) return { token };
      continue;
    }
    if (row.request_hash !== request.fingerprint) {
      throw new DomainError('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
    }
    if (row.status === 'completed') {
      return { replay: { status: row.response_status ?? 200, body: row.response_body } };
    }
    if (!row.stale) {
      throw new DomainError('idempotency_in_progress', 'a request with this Idempotency-Key is still being processed');
    }
    const takenOver = await db.query(
      `UPDATE idempotency_keys SET lock_token = $3, locked_at = now()
        WHERE scope = $1 AND key = $2 AND lock_token = $4 AND status = 'in_progress'`,
      [request.scope, request.key, token, row.lock_token],
    );
    if (takenOver.rowCount === 1) return { token };
  }
  throw new DomainError('idempotency_in_progress', 'a request with this Idempotency-Key is still being processed');
}

/** Stores a failure's response outside any transaction (its work rolled back); false when the claim was lost. */
async function completeFailure(db: Database, request: IdempotencyScope, token: string, response: StoredResponse): Promise<boolean> {
  // Losing this in a crash only means the request runs again, so it does not wait for its WAL flush.
  const result = await db.query(
    `UPDATE idempotency_keys SET status = 'completed', response_status = $4, response_body = $5::jsonb FROM ${NO_FLUSH_WAIT}
      WHERE scope = $1 AND key = $2 AND lock_token = $3 AND status = 'in_progress'`,
    [request.scope, request.key, token, response.status, JSON.stringify(response.body)],
  );
  return result.rowCount === 1;
}

// The fenced store inside the work's transaction fails (rather than matching nothing) when the claim is no longer
// ours, so it can travel with the COMMIT in one round trip: its failure aborts the transaction and the COMMIT
// answers ROLLBACK (db.withTx). Plain SQL has no RAISE: casting a text that cannot be a number is the error, and
// count(*) keeps the planner from evaluating it when the claim holds (HAVING filters the one good row out first).
const CLAIM_LOST = 'idempotency claim lost';

function isClaimLost(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '22P02' && String((error as Error).message).includes(CLAIM_LOST);
}

const COMPLETE_IN_TX = prepared(`WITH stored AS (
    UPDATE idempotency_keys SET status = 'completed', response_status = $4, response_body = $5::jsonb
     WHERE scope = $1 AND key = $2 AND lock_token = $3 AND status = 'in_progress'
    RETURNING 1
  )
  SELECT ('${CLAIM_LOST}: ' || count(*))::int FROM stored HAVING count(*) <> 1`);

function completeInTx(tx: Tx, request: IdempotencyScope, token: string, response: StoredResponse): Promise<unknown> {
  return tx.query(COMPLETE_IN_TX, [request.scope, request.key, token, response.status, JSON.stringify(response.body)]);
}

/**
 * Runs `work` at most once per (scope, key). `work` receives the transaction in which the key's response is
 * stored, so the side effects and the record of them commit together.
 */
export async function runIdempotent(
  db: Database,
  request: IdempotencyScope,
  work: (tx: Tx) => Promise<StoredResponse>,
): Promise<IdempotentResult> {
  const claimed = await claim(db, request);
  if ('replay' in claimed) return { ...claimed.replay, replayed: true };
  const { token } = claimed;
  try {
    const response = await db.withTx(async (tx) => {
      const result = await work(tx);
      // Left in flight on purpose: withTx sends the COMMIT right behind it and fails if it failed.
      void completeInTx(tx, request, token, result).catch(() => undefined);
      return result;
    });
    return { ...response, replayed: false };
  } catch (caught) {
    // Our claim was taken over while we ran: the transaction rolled back, so only the new holder's work commits.
    const error = isClaimLost(caught)
      ? new DomainError('idempotency_in_progress', 'a request with this Idempotency-Key is still being processed')
      : caught;
    if (error instanceof DomainError && error.code !== 'idempotency_in_progress') {
      const failure = { status: problem(error.code, error.message).status, body: problem(error.code, error.message, error.details ?? {}) };
      await completeFailure(db, request, token, failure);
      return { ...failure, replayed: false };
    }
    await db
      .query(`DELETE FROM idempotency_keys USING ${NO_FLUSH_WAIT} WHERE scope = $1 AND key = $2 AND lock_token = $3 AND status = $4`, [
        request.scope,
        request.key,
        token,
        'in_progress',
      ])
      .catch(() => undefined); // if even this fails, the claim goes stale and is taken over later
    throw error;
  }
}

export async function purgeExpiredKeys(db: Database): Promise<number> {
  const result = await db.query(
    `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)`,
    [IDEMPOTENCY_TTL_HOURS],
  );
  return result.rowCount;
}
