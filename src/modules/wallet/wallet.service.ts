import type { CoreDeps } from '../../context.js';
import type { Tx } from '../../platform/db.js';
import { DomainError, PG, pgErrorCode } from '../../platform/errors.js';
import type { UsersService } from '../users/index.js';
import * as repo from './wallet.repository.js';

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

export function createWalletService(deps: CoreDeps, _services: { users: UsersService }) {
  void deps;
  return {
    /** Moves gems from a system account into the user's wallet, in the caller's transaction. */
    async creditUserInTx(tx: Tx, transfer: UserTransfer): Promise<TransferResult> {
      checkAmount(transfer);
      let row: repo.TransferRow | undefined;
      try {
        row = await repo.creditUser(tx, toInput(transfer));
      } catch (error) {
        // The wallet is created on the fly, which needs the user: an unknown user is a 404, not a 500.
        if (pgErrorCode(error) === PG.foreignKeyViolation) throw new DomainError('not_found', 'user not found');
        throw error;
      }
      if (!row) throw new Error(`unknown system account ${transfer.counterparty}`);
      return { transferId: row.transfer_id, balanceAfter: row.balance_after };
    },
    /** Moves gems out of the user's wallet (conditional UPDATE); throws DomainError('insufficient_funds'). */
    async debitUserInTx(tx: Tx, transfer: UserTransfer): Promise<TransferResult> {
      checkAmount(transfer);
      const row = await repo.debitUser(tx, toInput(transfer));
      if (!row) throw new DomainError('insufficient_funds', 'not enough gems in the wallet', { required: transfer.amount });
      return { transferId: row.transfer_id, balanceAfter: row.balance_after };
    },
  };
}
export type WalletService = ReturnType<typeof createWalletService>;
