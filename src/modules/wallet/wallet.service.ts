import type { CoreDeps } from '../../context.js';
import type { Executor, Tx } from '../../platform/db.js';
import { DomainError, PG, notFound, pgErrorCode } from '../../platform/errors.js';
import { decodeCursor, encodeCursor, pageOf } from '../../platform/http/pagination.js';
import type { UsersService } from '../users/index.js';
import * as repo from './wallet.repository.js';
import { verifyLedger } from './ledger-verifier.js';
import { MAX_WALLET_BALANCE } from './wallet.schemas.js';
import { newRowId } from '../../platform/ids.js';

export type SystemAccount = 'issuance' | 'store_revenue' | 'refunds' | 'topups' | 'adjustments' | 'promotions';
export type TransferReason = 'purchase' | 'grant' | 'topup' | 'adjustment' | 'refund' | 'functional_effect' | 'shopify_cancellation';

export interface UserTransfer {
  userId: string;
  amount: number; // > 0
  counterparty: SystemAccount;
  reason: TransferReason;
  referenceType: string; // 'order' | 'grant' | 'topup' | 'adjustment' | 'fulfillment' | …
  referenceId: string;
  memo?: string;
}

export interface TransferResult {
  transferId: string;
  balanceAfter: number;
}

function checkAmount(transfer: UserTransfer): void {
  // Callers validate user input; this guards the ledger itself against a programming error (NaN, 0, 1.5, …).
  if (!Number.isSafeInteger(transfer.amount) || transfer.amount <= 0) {
    throw new DomainError('validation_failed', 'a transfer amount must be a positive whole number of gems');
  }
}

function toInput(transfer: UserTransfer): repo.TransferInput {
  return { ...transfer, memo: transfer.memo ?? null };
}

/**
 * The memo of an operator's movement (an adjustment, a refund): the reason, and who did it for the ledger's audit
 * trail. The player reads it without the operator (playerMemo): an operator's user id is not the player's to see.
 */
export function operatorMemo(reason: string, actor: string): string {
  return `${reason} (by ${actor})`;
}

const OPERATOR_SUFFIX = / \(by (?:admin:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\)$/;

/** A memo as the player sees it: an operator's id (operatorMemo's suffix) is left out. */
function playerMemo(reason: string, memo: string | null): string | null {
  return memo !== null && (reason === 'adjustment' || reason === 'refund') ? memo.replace(OPERATOR_SUFFIX, '') : memo;
}

export interface WalletTransactionView {
  id: string;
  amount: number;
  balanceAfter: number;
  reason: string;
  reference: string | null;
  referenceType: string | null;
  memo: string | null;
  createdAt: string;
}

export interface AdjustmentView {
  id: string;
  userId: string;
  amount: number;
  reason: string;
  transferId: string;
  balanceAfter: number;
  createdAt: string;
}

const walletFull = (amount: number) =>
  new DomainError('limit_reached', `a wallet can hold at most ${MAX_WALLET_BALANCE} gems`, { maxBalance: MAX_WALLET_BALANCE, amount });

/**
 * Moves gems from a system account into the user's wallet, in the caller's transaction; throws
 * DomainError('limit_reached') when the balance would go past MAX_WALLET_BALANCE (nothing is written).
 */
async function creditUserInTx(tx: Tx, transfer: UserTransfer): Promise<TransferResult> {
  checkAmount(transfer);
  if (transfer.amount > MAX_WALLET_BALANCE) throw walletFull(transfer.amount);
  let row: repo.TransferRow | undefined;
  try {
    row = await repo.creditUser(tx, toInput(transfer), MAX_WALLET_BALANCE);
  } catch (error) {
    // The wallet is created on the fly, which needs the user: an unknown user is a 404, not a 500.
    if (pgErrorCode(error) === PG.foreignKeyViolation) throw new DomainError('not_found', 'user not found');
    throw error;
  }
  // An unknown system account fails inside the statement (NOT NULL account_id); no row means the cap said no.
  if (!row) throw walletFull(transfer.amount);
  return { transferId: row.transfer_id, balanceAfter: row.balance_after };
}

/** Moves gems out of the user's wallet (conditional UPDATE); throws DomainError('insufficient_funds'). */
async function debitUserInTx(tx: Tx, transfer: UserTransfer): Promise<TransferResult> {
  checkAmount(transfer);
  const row = await repo.debitUser(tx, toInput(transfer));
  if (!row) throw new DomainError('insufficient_funds', 'not enough gems in the wallet', { required: transfer.amount });
  return { transferId: row.transfer_id, balanceAfter: row.balance_after };
}

export function createWalletService({ db }: CoreDeps, _services: { users: UsersService }) {
  return {
    creditUserInTx,
    debitUserInTx,
    /** The balance a player sees: read from the primary, so a purchase that just committed is reflected. */
    async getBalance(userId: string, executor: Executor = db): Promise<number> {
      return (await repo.findBalance(executor, userId)) ?? 0;
    },

    async listTransactions(userId: string, page: { limit: number; cursor?: string }): Promise<{ items: WalletTransactionView[]; nextCursor: string | null }> {
      const [before] = (decodeCursor('transactions', page.cursor, ['number']) ?? [null]) as [number | null];
      // Entry ids start at 1, so a cursor of 0 or less was never handed out: a forged one is refused, not an empty page.
      if (before !== null && before < 1) throw new DomainError('validation_failed', 'invalid cursor');
      // History may come from the replica once it has replayed this user's last write (read-your-writes).
      const rows = await repo.listEntries(await db.readerFor(userId), userId, before, page.limit + 1);
      const { rows: shown, last } = pageOf(rows, page.limit);
      const items = shown.map((row) => ({
        id: row.transfer_id,
        amount: row.amount,
        balanceAfter: row.balance_after,
        reason: row.reason,
        reference: row.reference_id,
        referenceType: row.reference_type,
        memo: playerMemo(row.reason, row.memo),
        createdAt: row.created_at.toISOString(),
      }));
      return { items, nextCursor: last ? encodeCursor('transactions', [last.entry_id]) : null };
    },

    /** An operator's correction: a positive amount credits, a negative one debits (never below zero). */
    async adjustInTx(tx: Tx, input: { userId: string; amount: number; reason: string; actor: string }): Promise<AdjustmentView> {
      const id = newRowId();
      const transfer: UserTransfer = {
        userId: input.userId,
        amount: Math.abs(input.amount),
        counterparty: 'adjustments',
        reason: 'adjustment',
        referenceType: 'adjustment',
        referenceId: id,
        memo: operatorMemo(input.reason, input.actor),
      };
      let result: TransferResult;
      if (input.amount > 0) {
        result = await creditUserInTx(tx, transfer);
      } else {
        try {
          result = await debitUserInTx(tx, transfer);
        } catch (error) {
          // A failed debit is ambiguous: tell "no such user" apart from "not enough gems".
          if (error instanceof DomainError && error.code === 'insufficient_funds' && (await repo.findBalance(tx, input.userId)) === undefined) {
            throw notFound('user');
          }
          throw error;
        }
      }
      return { id, userId: input.userId, amount: input.amount, reason: input.reason, transferId: result.transferId, balanceAfter: result.balanceAfter, createdAt: new Date().toISOString() };
    },

    verifyLedger(): ReturnType<typeof verifyLedger> {
      return verifyLedger(db);
    },
  };
}
export type WalletService = ReturnType<typeof createWalletService>;
