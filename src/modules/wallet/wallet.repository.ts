// Ledger writes. Each transfer is ONE statement: the user's wallet row is updated conditionally, and the transfer
// and both entries are inserted from its RETURNING, so a transfer costs one round trip and the wallet row lock is
// held only from this statement to the commit. System accounts are only ever referenced by entries (their rows are
// never updated), so no purchase waits on a shared "revenue" row.
import { prepared, type Executor } from '../../platform/db.js';

export interface TransferRow {
  transfer_id: string;
  balance_after: number;
}

export interface TransferInput {
  userId: string;
  amount: number;
  counterparty: string;
  reason: string;
  referenceType: string;
  referenceId: string;
  memo: string | null;
}

// The two entry inserts live in one INSERT … SELECT … UNION ALL so the user entry (with its balance_after) and
// the system entry (NULL balance_after: derived accounts carry no running balance) are written together.
// `kind <> 'user_wallet'` repeats the partial unique index's predicate so the planner can use that index; an
// unknown system account yields a NULL account_id, which the NOT NULL constraint turns into an error rather than
// a one-legged transfer.
const entriesAndResult = `
  t AS (
    INSERT INTO ledger_transfers (reason, amount, reference_type, reference_id, memo)
    SELECT $3, $2, $4, $5, $6 FROM acct
    RETURNING id
  ),
  e AS (
    INSERT INTO ledger_entries (transfer_id, account_id, amount, balance_after)
    SELECT t.id, acct.id, $8::bigint * $2, acct.balance FROM t, acct
    UNION ALL
    SELECT t.id, (SELECT id FROM ledger_accounts WHERE kind = $7 AND kind <> 'user_wallet'), -$8::bigint * $2, NULL
      FROM t
  )
  SELECT t.id AS transfer_id, acct.balance AS balance_after FROM t, acct`;

/** Debits the wallet only when it holds enough gems; no row back means insufficient funds (or no wallet). */
export async function debitUser(db: Executor, input: TransferInput): Promise<TransferRow | undefined> {
  const { rows } = await db.query<TransferRow>(
    prepared(`WITH acct AS (
       UPDATE ledger_accounts SET balance = balance - $2, updated_at = now()
        WHERE user_id = $1 AND balance >= $2
       RETURNING id, balance
     ), ${entriesAndResult}`),
    params(input, -1),
  );
  return rows[0];
}

/**
 * Credits the wallet, creating the account for a known user who has none yet. No row back when the balance would
 * go past `maxBalance` (the conditional DO UPDATE): nothing is written. The caller keeps `amount` ≤ `maxBalance`,
 * which bounds a new wallet.
 */
export async function creditUser(db: Executor, input: TransferInput, maxBalance: number): Promise<TransferRow | undefined> {
  const { rows } = await db.query<TransferRow>(
    prepared(`WITH acct AS (
       INSERT INTO ledger_accounts (kind, user_id, balance) VALUES ('user_wallet', $1, $2)
       ON CONFLICT (user_id) DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance, updated_at = now()
        WHERE ledger_accounts.balance + EXCLUDED.balance <= $9::bigint
       RETURNING id, balance
     ), ${entriesAndResult}`),
    [...params(input, 1), maxBalance],
  );
  return rows[0];
}

function params(input: TransferInput, sign: 1 | -1): unknown[] {
  return [
    input.userId,
    input.amount,
    input.reason,
    input.referenceType,
    input.referenceId,
    input.memo,
    input.counterparty,
    sign,
  ];
}

export async function findBalance(db: Executor, userId: string): Promise<number | undefined> {
  const { rows } = await db.query<{ balance: number }>('SELECT balance FROM ledger_accounts WHERE user_id = $1', [userId]);
  return rows[0]?.balance;
}

export interface EntryRow {
  entry_id: number;
  transfer_id: string;
  amount: number;
  balance_after: number;
  reason: string;
  reference_type: string | null;
  reference_id: string | null;
  memo: string | null;
  created_at: Date;
}

/** One keyset page of a user's entries, newest first, walking ledger_entries_account_idx (account_id, id DESC). */
export async function listEntries(db: Executor, userId: string, beforeEntryId: number | null, limit: number): Promise<EntryRow[]> {
  const { rows } = await db.query<EntryRow>(
    `SELECT e.id AS entry_id, e.transfer_id, e.amount, e.balance_after, t.reason, t.reference_type, t.reference_id, t.memo,
            e.created_at
       FROM ledger_entries e
       JOIN ledger_transfers t ON t.id = e.transfer_id
      WHERE e.account_id = (SELECT id FROM ledger_accounts WHERE user_id = $1)
        AND ($2::bigint IS NULL OR e.id < $2)
      ORDER BY e.id DESC
      LIMIT $3`,
    [userId, beforeEntryId, limit],
  );
  return rows;
}

/** The user's side of one transfer: what a replayed webhook answers with. */
export async function findUserEntryByReference(
  db: Executor,
  referenceType: string,
  referenceId: string,
): Promise<{ transfer_id: string; user_id: string; amount: number; balance_after: number } | undefined> {
  const { rows } = await db.query<{ transfer_id: string; user_id: string; amount: number; balance_after: number }>(
    `SELECT t.id AS transfer_id, a.user_id, e.amount, e.balance_after
       FROM ledger_transfers t
       JOIN ledger_entries e ON e.transfer_id = t.id AND e.balance_after IS NOT NULL
       JOIN ledger_accounts a ON a.id = e.account_id
      WHERE t.reference_type = $1 AND t.reference_id = $2
      ORDER BY e.id
      LIMIT 1`,
    [referenceType, referenceId],
  );
  return rows[0];
}
