// Whole-database audit of the ledger's invariants. Read in one REPEATABLE READ snapshot, so transfers committing
// while it runs can never show up half-counted. Used by the ops command (npm run ledger:verify) and by every
// concurrency test: a passing run proves no gem was created, lost or double-spent.
import type { Database } from '../../platform/db.js';

export interface LedgerReport {
  ok: boolean;
  violations: string[];
  transfers: number;
  userWallets: number;
  /** Sum of every user wallet: the gems in players' hands. */
  userBalanceTotal: number;
  /** Balances of the system accounts, derived from their entries (negative = gems issued out of it). */
  systemBalances: Record<string, number>;
}

const SAMPLE = 20; // enough ids to start an investigation without flooding the output

export async function verifyLedger(db: Database): Promise<LedgerReport> {
  return db.withTx(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const violations: string[] = [];

    // Exactly two legs, opposite in sign, each as large as the transfer, so the pair sums to zero.
    const badTransfers = await tx.query<{ id: string }>(
      `SELECT t.id FROM ledger_transfers t LEFT JOIN ledger_entries e ON e.transfer_id = t.id
        GROUP BY t.id, t.amount
       HAVING count(e.id) <> 2 OR coalesce(sum(e.amount), 0) <> 0 OR coalesce(max(e.amount), 0) <> t.amount
        LIMIT ${SAMPLE}`,
    );
    for (const row of badTransfers.rows) violations.push(`transfer ${row.id} does not have two entries of ±amount summing to zero`);

    // A user wallet's stored balance must equal both the sum of its entries and its latest running balance.
    const badWallets = await tx.query<{ user_id: string; balance: number; total: number; last: number | null }>(
      `SELECT a.user_id, a.balance, s.total, l.balance_after AS last
         FROM ledger_accounts a
         CROSS JOIN LATERAL (SELECT coalesce(sum(amount), 0) AS total FROM ledger_entries WHERE account_id = a.id) s
         LEFT JOIN LATERAL (SELECT balance_after FROM ledger_entries WHERE account_id = a.id ORDER BY id DESC LIMIT 1) l ON true
        WHERE a.kind = 'user_wallet' AND (a.balance <> s.total OR a.balance <> coalesce(l.balance_after, 0) OR a.balance < 0)
        LIMIT ${SAMPLE}`,
    );
    for (const row of badWallets.rows) {
      violations.push(`wallet of user ${row.user_id}: balance ${row.balance}, entries sum ${row.total}, latest balance_after ${row.last}`);
    }

    // Every running balance, not only the latest: a player reads each balanceAfter of their history, and each must be
    // the sum of the wallet's entries up to it (entries of one wallet are written in id order under its row lock).
    const badRunning = await tx.query<{ id: number; user_id: string; balance_after: number; running: string }>(
      `SELECT r.id, a.user_id, r.balance_after, r.running::text AS running
         FROM (SELECT e.id, e.account_id, e.balance_after,
                      sum(e.amount) OVER (PARTITION BY e.account_id ORDER BY e.id) AS running
                 FROM ledger_entries e
                WHERE e.account_id IN (SELECT id FROM ledger_accounts WHERE kind = 'user_wallet')) r
         JOIN ledger_accounts a ON a.id = r.account_id
        WHERE r.balance_after IS DISTINCT FROM r.running
        ORDER BY r.id
        LIMIT ${SAMPLE}`,
    );
    for (const row of badRunning.rows) {
      violations.push(`entry ${row.id} of user ${row.user_id}: balance_after ${row.balance_after}, but the entries up to it sum to ${row.running}`);
    }

    // User legs carry a non-negative running balance; system legs carry none (their balance is derived).
    const badLegs = await tx.query<{ id: number }>(
      `SELECT e.id FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
        WHERE (a.kind = 'user_wallet') <> (e.balance_after IS NOT NULL) OR e.balance_after < 0
        LIMIT ${SAMPLE}`,
    );
    for (const row of badLegs.rows) violations.push(`entry ${row.id} has a running balance on the wrong kind of account, or a negative one`);

    const storedSystem = await tx.query<{ kind: string }>(`SELECT kind FROM ledger_accounts WHERE kind <> 'user_wallet' AND balance <> 0`);
    for (const row of storedSystem.rows) violations.push(`system account ${row.kind} has a stored balance; it must be derived`);

    const totals = await tx.query<{ kind: string; total: number; accounts: number }>(
      `SELECT a.kind, count(DISTINCT a.id)::int AS accounts, coalesce(sum(e.amount), 0) AS total
         FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
        GROUP BY a.kind`,
    );
    const systemBalances: Record<string, number> = {};
    let userBalanceTotal = 0;
    let userWallets = 0;
    for (const row of totals.rows) {
      if (row.kind === 'user_wallet') {
        userBalanceTotal = row.total;
        userWallets = row.accounts;
      } else {
        systemBalances[row.kind] = row.total;
      }
    }
    // Judged in PostgreSQL (exact numeric): the per-kind totals above are JS numbers, and a float sum of them
    // rounds once wallets together hold more than 2^53 gems, inventing (or hiding) an imbalance.
    const overall = await tx.query<{ total: string }>('SELECT coalesce(sum(amount), 0)::text AS total FROM ledger_entries');
    const exactTotal = overall.rows[0]?.total ?? '0';
    if (exactTotal !== '0') violations.push(`the entries of all accounts sum to ${exactTotal}, not 0`);

    const transfers = (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_transfers')).rows[0]?.n ?? 0;
    return { ok: violations.length === 0, violations, transfers, userWallets, userBalanceTotal, systemBalances };
  });
}
