import type { CoreDeps } from '../../context.js';
import type { Tx } from '../../platform/db.js';
import type { CatalogService } from '../catalog/index.js';
import type { WalletService } from '../wallet/index.js';
import type { InventoryService } from '../inventory/index.js';
import type { FulfillmentService } from '../fulfillment/index.js';
import type { UsersService } from '../users/index.js';

// CONTRACT (issue 3): bodies to be implemented by the purchases module; signatures are used by other modules.
export function createPurchasesService(
  deps: CoreDeps,
  _services: { catalog: CatalogService; wallet: WalletService; inventory: InventoryService; fulfillment: FulfillmentService; users: UsersService },
) {
  void deps;
  const todo = (): never => {
    throw new Error('not implemented');
  };
  return {
    /**
     * Refunds a whole order in the caller's transaction: gems back through the ledger, granted items revoked
     * (and so unequipped), open fulfillments cancelled, stock restored. Refunding twice never pays twice
     * (the second call is a no-op returning refunded: false). Used by the admin route and by Shopify's
     * orders/cancelled webhook.
     */
    async refundOrderInTx(_tx: Tx, _orderId: string, _meta: { reason: string; actor: string }): Promise<{ refunded: boolean; amount: number; userId: string }> {
      return todo();
    },
  };
}
export type PurchasesService = ReturnType<typeof createPurchasesService>;
