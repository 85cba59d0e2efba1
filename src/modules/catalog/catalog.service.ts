import type { CoreDeps } from '../../context.js';
import type { Executor, Tx } from '../../platform/db.js';
import { invalidateSharedReads } from '../../platform/replica.js';
import type { GamesService } from '../games/index.js';
import * as purchaseRepo from './purchase.repository.js';
import { createItemsAdmin } from './items.service.js';
import { createListingsAdmin } from './listings.service.js';
import { createStorefront } from './storefront.service.js';

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
  /** The read waited for an admin change and mixes its row with the lines before it: read again (purchase.repository). */
  moved?: true;
}

/**
 * Bumped when an item definition changes. Players' cached inventories and characters show item names, kinds, slots
 * and games; they embed this namespace's version in their keys, so an operator's edit shows on the next read.
 */
export const ITEM_DEFINITIONS_CACHE_NS = 'item-definitions';

export function createCatalogService(deps: CoreDeps, services: { games: GamesService }) {
  const storefront = createStorefront(deps);
  const invalidateStorefront = () => storefront.invalidate();
  // The edit's position is noted under the namespace's name too: players' pages refill through
  // readerFor(userId, ITEM_DEFINITIONS_CACHE_NS), so a replica that has not replayed the edit is not read and cached.
  const itemsChanged = async () => {
    await Promise.all([invalidateStorefront(), invalidateSharedReads(deps, ITEM_DEFINITIONS_CACHE_NS, ITEM_DEFINITIONS_CACHE_NS)]);
  };
  return {
    /** Admin CRUD of item definitions. */
    items: createItemsAdmin(deps, services.games, itemsChanged),
    /** Admin CRUD of listings (single items and bundles). */
    listings: createListingsAdmin(deps, invalidateStorefront),
    /** The public, cached storefront. */
    storefront,
    /**
     * Drops every cached storefront page on every instance. Catalog writes call it; another module may call it
     * when it changes what the storefront shows (e.g. after uploading voucher codes) to skip the short TTL.
     */
    invalidateStorefront,

    /**
     * The listing with its items' definitions, or undefined. Takes KEY SHARE on the listing row (only a DELETE of the
     * listing waits for it, so the order's foreign key always finds its listing); in a transaction only.
     */
    getListingForPurchaseInTx(tx: Executor, listingId: string): Promise<PurchasableListing | undefined> {
      return purchaseRepo.findPurchasableListing(tx, listingId);
    },
    /** Takes `quantity` units of a limited listing (conditional UPDATE); true when unlimited or taken. */
    /**
     * Takes `quantity` units of a limited listing without waiting for the answer (purchase.repository.ts
     * takeStockOrFail): the statement, and the transaction, fail when they are not there (isOutOfStockFailure).
     */
    takeStockWithCommitInTx(tx: Tx, listingId: string, quantity: number): Promise<unknown> {
      return purchaseRepo.takeStockOrFail(tx, listingId, quantity);
    },
    isOutOfStockFailure: purchaseRepo.isOutOfStockFailure,
    /** Gives back units (refund), never above stock_total. */
    restoreStockInTx(tx: Tx, listingId: string, quantity: number): Promise<void> {
      return purchaseRepo.giveBackStock(tx, listingId, quantity);
    },
    /**
     * Item definitions by id (unknown ids skipped). Takes KEY SHARE on them: in a transaction, an admin DELETE of one
     * waits until it ends, so rows it then inserts referencing the items always find them.
     */
    getItemsInTx(executor: Executor, itemIds: readonly string[]): Promise<ItemDefinition[]> {
      return purchaseRepo.findItemDefinitions(executor, itemIds);
    },
  };
}
export type CatalogService = ReturnType<typeof createCatalogService>;
