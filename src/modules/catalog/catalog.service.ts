import type { CoreDeps } from '../../context.js';
import type { Executor, Tx } from '../../platform/db.js';
import type { GamesService } from '../games/index.js';

export type ItemKind = 'game_skin' | 'platform_skin' | 'game_item' | 'voucher' | 'merch' | 'utility' | 'gem_pack';
export type DeliveryType = 'inventory' | 'email' | 'shopify' | 'functional';

/** An item definition as other modules need it. */
export interface ItemDefinition {
  id: string;
  sku: string;
  name: string;
  kind: ItemKind;
  gameId: string | null;
  compatibleGameIds: string[]; // platform items: empty = every game
  slot: string | null;
  consumable: boolean;
  maxStack: number;
  deliveryType: DeliveryType;
  effect: Record<string, unknown> | null;
  attributes: Record<string, unknown>;
  shopifyVariantId: string | null;
}

export interface PurchasableListing {
  id: string;
  title: string;
  price: number;
  active: boolean;
  startsAt: Date | null;
  endsAt: Date | null;
  stockRemaining: number | null; // null = unlimited
  perUserLimit: number | null;
  items: Array<ItemDefinition & { quantity: number }>;
}

// CONTRACT (issue 2): bodies to be implemented by the catalog module; signatures are used by other modules.
export function createCatalogService(deps: CoreDeps, _services: { games: GamesService }) {
  void deps;
  const todo = (): never => {
    throw new Error('not implemented');
  };
  return {
    /** The listing with its items' definitions, or undefined. Reads without locking. */
    async getListingForPurchaseInTx(_tx: Executor, _listingId: string): Promise<PurchasableListing | undefined> {
      return todo();
    },
    /** Takes `quantity` units of a limited listing (conditional UPDATE); true when unlimited or taken. */
    async reserveStockInTx(_tx: Tx, _listingId: string, _quantity: number): Promise<boolean> {
      return todo();
    },
    /** Gives back units (refund), never above stock_total. */
    async restoreStockInTx(_tx: Tx, _listingId: string, _quantity: number): Promise<void> {
      return todo();
    },
    async getItemsInTx(_executor: Executor, _itemIds: readonly string[]): Promise<ItemDefinition[]> {
      return todo();
    },
  };
}
export type CatalogService = ReturnType<typeof createCatalogService>;
