import type { CoreDeps } from '../../context.js';
import type { Tx } from '../../platform/db.js';
import type { CatalogService, DeliveryType, ItemDefinition } from '../catalog/index.js';
import type { InventoryService } from '../inventory/index.js';
import type { WalletService } from '../wallet/index.js';
import type { UsersService } from '../users/index.js';

export type FulfillmentStatus = 'pending' | 'processing' | 'shipped' | 'delivered' | 'failed' | 'cancelled';

export interface ShippingAddress {
  name: string;
  address1: string;
  address2?: string;
  city: string;
  province?: string;
  zip: string;
  country: string;
  phone?: string;
}

export interface OrderLineToFulfill {
  orderLineId: string;
  item: ItemDefinition;
  quantity: number; // units of this item in the line (listing quantity × bundle quantity)
}

export interface CreatedFulfillment {
  orderLineId: string;
  fulfillmentId: string;
  deliveryType: DeliveryType;
  status: FulfillmentStatus;
}

// CONTRACT (issue 5): bodies to be implemented by the fulfillment module; signatures are used by other modules.
export function createFulfillmentService(
  deps: CoreDeps,
  _services: { wallet: WalletService; inventory: InventoryService; catalog: CatalogService; users: UsersService },
) {
  void deps;
  const todo = (): never => {
    throw new Error('not implemented');
  };
  return {
    /**
     * Inside the purchase transaction: one fulfillment per line, delivered through the line's handler —
     * inventory (granted now, via inventory.grantItemsInTx), functional (effect applied now), email (a voucher
     * code claimed now with SKIP LOCKED, DomainError('out_of_stock') when the pool is empty; mail sent by a
     * job), shopify (job enqueued). Returns each line's fulfillment id and status.
     */
    async createForOrderInTx(
      _tx: Tx,
      _order: { orderId: string; userId: string; lines: OrderLineToFulfill[]; shippingAddress: ShippingAddress | null },
    ): Promise<CreatedFulfillment[]> {
      return todo();
    },
    /** Refund: cancels every fulfillment of the order that is not delivered/shipped yet; returns their ids. */
    async cancelOpenForOrderInTx(_tx: Tx, _orderId: string, _detail: string): Promise<string[]> {
      return todo();
    },
  };
}
export type FulfillmentService = ReturnType<typeof createFulfillmentService>;
