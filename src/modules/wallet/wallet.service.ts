import type { CoreDeps } from '../../context.js';
import type { Tx } from '../../platform/db.js';
import type { UsersService } from '../users/index.js';

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

// CONTRACT (issue 3): bodies to be implemented by the wallet module; signatures are used by other modules.
export function createWalletService(deps: CoreDeps, _services: { users: UsersService }) {
  void deps;
  const todo = (): never => {
    throw new Error('not implemented');
  };
  return {
    /** Moves gems from a system account into the user's wallet, in the caller's transaction. */
    async creditUserInTx(_tx: Tx, _transfer: UserTransfer): Promise<TransferResult> {
      return todo();
    },
    /** Moves gems out of the user's wallet (conditional UPDATE); throws DomainError('insufficient_funds'). */
    async debitUserInTx(_tx: Tx, _transfer: UserTransfer): Promise<TransferResult> {
      return todo();
    },
  };
}
export type WalletService = ReturnType<typeof createWalletService>;
