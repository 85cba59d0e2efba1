import type { CoreDeps } from '../../context.js';
import type { Executor, Tx } from '../../platform/db.js';
import type { CatalogService } from '../catalog/index.js';

export type InventorySource = 'purchase' | 'grant';

export interface GrantItems {
  userId: string;
  items: ReadonlyArray<{ itemId: string; quantity: number }>;
  source: InventorySource;
  sourceRef: string; // order id, grant id, …
  actor?: string;
}

export interface GrantedEntry {
  inventoryItemId: string;
  itemId: string;
  quantity: number; // the stack after the grant
}

// CONTRACT (issue 4): bodies to be implemented by the inventory module; signatures are used by other modules.
export function createInventoryService(deps: CoreDeps, _services: { catalog: CatalogService }) {
  void deps;
  const todo = (): never => {
    throw new Error('not implemented');
  };
  return {
    /**
     * Adds items to the user's inventory in the caller's transaction: consumables stack (up to maxStack, else
     * DomainError('stack_limit_reached')), a non-consumable already owned → DomainError('already_owned').
     * Records inventory_events. Call invalidateUser(userId) after the transaction commits.
     */
    async grantItemsInTx(_tx: Tx, _grant: GrantItems): Promise<GrantedEntry[]> {
      return todo();
    },
    /** Item ids (of those given) that the user already owns with quantity > 0. */
    async ownedItemIdsInTx(_executor: Executor, _userId: string, _itemIds: readonly string[]): Promise<string[]> {
      return todo();
    },
    /**
     * Takes back up to `quantity` of an item (refund/revocation): a non-consumable entry is deleted (which
     * unequips it through the FK cascade), a consumable stack is decremented, never below zero.
     * Returns how many were actually revoked.
     */
    async revokeItemInTx(_tx: Tx, _revoke: { userId: string; itemId: string; quantity: number; reference: string; actor?: string }): Promise<number> {
      return todo();
    },
    /** Drops the user's cached inventory and loadouts; call after every committed change. */
    async invalidateUser(_userId: string): Promise<void> {
      return todo();
    },
  };
}
export type InventoryService = ReturnType<typeof createInventoryService>;
