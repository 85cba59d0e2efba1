// One delivery interface for every way a paid line reaches the player. A new type (a partner's API for a brand
// collab, say) is one file implementing DeliveryHandler and one line in handlers/registry.ts.
import type { Tx } from '../../../platform/db.js';
import type { DeliveryType, ItemDefinition } from '../../catalog/index.js';
import type { ShippingAddress } from '../fulfillment.types.js';

export interface OrderToFulfill {
  orderId: string;
  userId: string;
  shippingAddress: ShippingAddress | null;
}

/** A line with the fulfillment id chosen for it, before or just after its row is written. */
export interface PlannedLine {
  fulfillmentId: string;
  orderLineId: string;
  item: ItemDefinition;
  quantity: number;
}

/** A fulfillment leased by a worker for one delivery attempt. */
export interface LeasedFulfillment {
  id: string;
  orderId: string;
  orderLineId: string;
  userId: string;
  itemId: string;
  quantity: number;
  attempts: number; // including this one
}

export interface DeliveryOutcome {
  status: 'processing' | 'delivered';
  externalId?: string;
  detail: string;
  /** Sibling fulfillments of the same order that this delivery also completed (one Shopify order per order). */
  alsoCompletes?: string[];
  /**
   * What the outside system already did with it, applied right after (forward only, same transaction): an
   * adopted Shopify order may be fulfilled or delivered already, its webhooks spent while we did not know it.
   */
  observed?: { to: 'shipped' | 'delivered'; tracking: { number?: string | null; company?: string | null; url?: string | null }; detail: string };
}

export interface DeliveryHandler {
  readonly type: DeliveryType;
  /**
   * `delivered`: done inside the purchase transaction (inventory, functional).
   * `pending`: the line is reserved in the transaction and a job delivers it after commit (email, shopify).
   */
  readonly initialStatus: 'delivered' | 'pending';
  /** Enqueue one job per order instead of per line (lines that leave together, like one parcel). */
  readonly oneJobPerOrder?: boolean;
  /** Throws a DomainError before anything is written when the order cannot be fulfilled this way. */
  validate?(order: OrderToFulfill, lines: readonly PlannedLine[]): void;
  /**
   * The detail of the line's first history event, written with its fulfillment row before startInTx runs (a
   * failure of startInTx rolls both back, so the history never claims what did not happen).
   */
  describe(line: PlannedLine): string;
  /**
   * In the purchase transaction, after the fulfillment rows are sent: every line of this type in one batch. The
   * rows' statement may still be in flight (pipelined); PostgreSQL runs it first all the same, so a statement
   * here may reference the rows (voucher codes do).
   */
  startInTx(tx: Tx, order: OrderToFulfill, lines: readonly PlannedLine[]): Promise<void>;
  /** Worker side, outside any transaction: the outside call. Throw DeliveryError (or anything) to fail it. */
  deliver?(fulfillment: LeasedFulfillment): Promise<DeliveryOutcome>;
}

/** A failed delivery attempt. `retryable: false` dead-letters at once (e.g. Shopify userErrors). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly options: { retryable: boolean; retryAfterMs?: number } = { retryable: true },
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}
