// Idempotency keys with Stripe's semantics, in the work's own transaction.
//
// 1. The transaction opens by taking the key's transaction-scoped advisory lock without waiting
//    (pg_try_advisory_xact_lock) and reading the key's row, both sent with BEGIN in one round trip. Not getting
//    the lock means a request with this key is running right now, on any instance: 409 idempotency_in_progress
//    at once, never queueing behind the first transaction's row locks. A completed row is replayed.
// 2. The work runs in the same transaction, which ends by writing the key's row with the response, sent with the
//    COMMIT (one round trip). Read-only statements of the work may travel with
//    step 1 (IdempotentWork's readAhead). The key's row is written once, complete: a key
//    is never "in progress" on disk, so a process that dies mid-purchase leaves nothing behind — PostgreSQL
//    releases the lock with the connection and the client's retry runs at once (the old design, a claimed row,
//    blocked the key for 60 s after a crash).
// 3. A domain failure (409 insufficient_funds, …) rolls the transaction back, and a second, short transaction takes
//    the key again and stores the failure, to be replayed as Stripe does (a request that took the key in between
//    wins: its answer is the key's). Failures pay a second transaction so that successes need no SAVEPOINT: a
//    subtransaction would cost every purchase a statement and a second transaction ID. An unexpected failure
//    rolls everything back and stores nothing; the client's retry runs afresh, and so does a 400 validation_failed
//    the work raises (Stripe saves no result for a request that failed validation).
// 4. The write is fenced anyway: it may replace only an expired row (or a leftover in_progress row of the
//    claim-based design), and fails otherwise, which rolls the work back — the work can never commit twice for
//    one key, even if two holders ever believed they had the lock.
// Keys live 24 hours; purgeExpiredKeys() deletes older ones and an expired key is taken over on sight.
import { createHash, randomUUID } from 'node:crypto';
import { prepared, settleInOrder, type Database, type Tx } from './db.js';
import { DomainError, PG, pgErrorCode } from './errors.js';
import { problem } from './http/problem.js';

export const IDEMPOTENCY_TTL_HOURS = 24;

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
  response_status: number | null;
  response_body: unknown;
  expired: boolean;
}

// The advisory lock's first key names this use (the migrations' and pg-boss's locks use the one-argument form,
// a separate lock space), the second is a hash of scope and key. Two keys sharing a hash only make one of two
// simultaneous requests answer 409 once.
const LOCK_CLASS = 0x1dea;
const TAKE_LOCK = prepared(`SELECT pg_try_advisory_xact_lock(${LOCK_CLASS}, hashtext($1 || E'\\n' || $2)) AS locked`);
const READ_KEY = prepared(`SELECT request_hash, status, response_status, response_body,
         created_at < now() - make_interval(hours => $3) AS expired
    FROM idempotency_keys WHERE scope = $1 AND key = $2`);

// The store travels with the COMMIT, so it must fail (not match nothing) when the fence says no: its failure
// aborts the transaction and the COMMIT answers ROLLBACK (db.withTx). Plain SQL has no RAISE: casting a text that
// cannot be a number is the error, and count(*) keeps the planner from evaluating it when the write happened.
const FENCE_FAILED = 'idempotency key already completed';
const STORE = prepared(`WITH stored AS (
    INSERT INTO idempotency_keys AS k (scope, key, request_hash, status, lock_token, response_status, response_body)
    VALUES ($1, $2, $3, 'completed', $4, $5, $6::jsonb)
    ON CONFLICT (scope, key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, status = 'completed', lock_token = EXCLUDED.lock_token, locked_at = now(),
           created_at = now(), response_status = EXCLUDED.response_status, response_body = EXCLUDED.response_body
     WHERE k.status = 'in_progress' OR k.created_at < now() - make_interval(hours => $7)
    RETURNING 1
  )
  SELECT ('${FENCE_FAILED}: ' || count(*))::int FROM stored HAVING count(*) <> 1`);

function isFenceFailure(error: unknown): boolean {
  return pgErrorCode(error) === PG.invalidTextRepresentation && String((error as Error).message).includes(FENCE_FAILED);
}

const inProgress = () => new DomainError('idempotency_in_progress', 'a request with this Idempotency-Key is still being processed');

type Outcome = { replay: StoredResponse } | { response: StoredResponse };

/** Failures of statements the work left in flight, and the refusal each stands for (refuseIfFails). */
const deferredRefusals = new WeakMap<object, DomainError>();

/**
 * A check the work does not wait for: `statement` travels with the key's response and the COMMIT, and fails when the
 * work must be refused (so the transaction rolls back). Its failure then answers, and is stored for the key, as if
 * the work had thrown `refusal(error)`; a failure `refusal` does not recognise stays an unexpected error. A purchase
 * takes a limited listing's stock this way, so that the row every buyer takes is never held across a round trip.
 */
export function refuseIfFails(statement: Promise<unknown>, refusal: (error: unknown) => DomainError | undefined): void {
  statement.catch((error: unknown) => {
    const refused = refusal(error);
    if (refused && typeof error === 'object' && error !== null) deferredRefusals.set(error, refused);
  });
}

function refusalOf(error: unknown): DomainError | undefined {
  if (error instanceof WorkRefused) return error.failure;
  return typeof error === 'object' && error !== null ? deferredRefusals.get(error) : undefined;
}

/** A domain failure of the work, carried out of its transaction so that the transaction rolls back. */
class WorkRefused extends Error {
  constructor(readonly failure: DomainError) {
    super(failure.message);
  }
}

/** Takes the key's lock and reads its row (one round trip with BEGIN); a replay, or nothing when the work may run. */
async function open(tx: Tx, request: IdempotencyScope): Promise<StoredResponse | undefined> {
  const [lock, read] = await settleInOrder([
    tx.query<{ locked: boolean }>(TAKE_LOCK, [request.scope, request.key]),
    tx.query<KeyRow>(READ_KEY, [request.scope, request.key, IDEMPOTENCY_TTL_HOURS]),
  ]);
  if (!lock.rows[0]?.locked) throw inProgress();
  const row = read.rows[0];
  if (!row || row.expired) return undefined;
  if (row.request_hash !== request.fingerprint) {
    throw new DomainError('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
  }
  // An in_progress row was left by the claim-based design; whoever wrote it no longer holds the lock.
  return row.status === 'completed' ? { status: row.response_status ?? 200, body: row.response_body } : undefined;
}

/**
 * The work of an idempotent request. The plain form is a function of the transaction. The two-step form also
 * names reads that leave in the key's own round trip (with BEGIN, the lock and the key's row), before anyone
 * knows whether the work will run: they must only read — no writes, no row locks — and their answer is dropped
 * when the key is replayed or busy. A purchase reads its listing this way: one round trip less.
 */
export type IdempotentWork<R = unknown> =
  | ((tx: Tx) => Promise<StoredResponse>)
  | { readAhead: (tx: Tx) => Promise<R>; run: (tx: Tx, readAhead: R) => Promise<StoredResponse> };

/**
 * Runs `work` at most once per (scope, key). `work` receives the transaction in which the key's response is
 * stored, so the side effects and the record of them commit together.
 */
export async function runIdempotent<R>(
  db: Database,
  request: IdempotencyScope,
  work: IdempotentWork<R>,
): Promise<IdempotentResult> {
  try {
    return await inKeyTransaction(db, request, async (tx, opened) => {
      // Sent in the same tick as the key's statements, so in the same write.
      const ahead = typeof work === 'function' ? undefined : work.readAhead(tx);
      ahead?.catch(() => undefined); // dropped unread when the key is replayed or busy (withTx still sees a failure)
      const replay = await opened;
      if (replay) return { replay };
      try {
        return { response: typeof work === 'function' ? await work(tx) : await work.run(tx, await ahead!) };
      } catch (error) {
        // A request the work finds invalid (400: a parcel without an address, a grant of nothing) is not stored, as
        // Stripe stores nothing for a request that failed validation: the client corrects it and retries with the key.
        if (!(error instanceof DomainError) || error.code === 'idempotency_in_progress' || error.code === 'validation_failed') throw error;
        throw new WorkRefused(error); // rolls the work back; stored below
      }
    });
  } catch (error) {
    const failure = refusalOf(error);
    if (!failure) throw error;
    const body = problem(failure.code, failure.message, failure.details ?? {});
    const response = { status: body.status, body };
    return inKeyTransaction(db, request, async (_tx, opened) => {
      const replay = await opened;
      return replay ? { replay } : { response };
    });
  }
}

/**
 * One transaction holding the key: opens it (lock and row, with BEGIN), runs `body`, and stores the response
 * `body` settles on — sent with the COMMIT — unless it is a replay.
 */
async function inKeyTransaction(
  db: Database,
  request: IdempotencyScope,
  body: (tx: Tx, opened: Promise<StoredResponse | undefined>) => Promise<Outcome>,
): Promise<IdempotentResult> {
  let outcome: Outcome;
  try {
    outcome = await db.withTx<Outcome>(async (tx) => {
      const opened = open(tx, request);
      opened.catch(() => undefined); // awaited by body; a body that fails first must not leave it unhandled
      const result = await body(tx, opened);
      if ('response' in result) {
        const { status, body: responseBody } = result.response;
        // Left in flight on purpose: withTx sends the COMMIT right behind it and fails if it failed.
        void tx
          .query(STORE, [request.scope, request.key, request.fingerprint, randomUUID(), status, JSON.stringify(responseBody), IDEMPOTENCY_TTL_HOURS])
          .catch(() => undefined);
      }
      return result;
    });
  } catch (error) {
    if (isFenceFailure(error)) throw inProgress();
    throw error;
  }
  return 'replay' in outcome ? { ...outcome.replay, replayed: true } : { ...outcome.response, replayed: false };
}

export async function purgeExpiredKeys(db: Database): Promise<number> {
  const result = await db.query(
    `DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)`,
    [IDEMPOTENCY_TTL_HOURS],
  );
  return result.rowCount;
}
