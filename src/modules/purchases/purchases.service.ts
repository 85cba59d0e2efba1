import type { CoreDeps } from '../../context.js';
import type { Executor, Tx } from '../../platform/db.js';
import { DomainError, notFound } from '../../platform/errors.js';
import type { IdempotentWork } from '../../platform/idempotency.js';
import { decodeCursor, encodeCursor, pageOf } from '../../platform/http/pagination.js';
import type { CatalogService, PurchasableListing } from '../catalog/index.js';
import type { WalletService } from '../wallet/index.js';
import type { InventoryService } from '../inventory/index.js';
import type { FulfillmentService } from '../fulfillment/index.js';
import type { UsersService } from '../users/index.js';
import * as history from './order-history.repository.js';
import { purchaseWork, type PurchaseEffects, type PurchaseRequest, type PurchaseView } from './place-purchase.js';
import { refundOrderInTx } from './refund-order.js';
import { PLAYER_DELIVERY_ERROR, playerEventDetail } from '../fulfillment/index.js';

export type { PurchaseEffects, PurchaseRequest, PurchaseView };

export interface OrderLineView {
  id: string;
  itemId: string;
  name: string;
  quantity: number;
  deliveryType: string;
  fulfillment: {
    id: string;
    status: string;
    trackingNumber: string | null;
    trackingUrl: string | null;
    trackingCompany: string | null;
    events?: Array<{ status: string; at: string; detail: string | null }>;
    error?: string;
    code?: string | null;
    codes?: string[];
  } | null;
  /** The voucher code(s) of an email line, on the owner's single-order view only (`code` = the first). */
  code?: string | null;
  codes?: string[];
}

export interface OrderView {
  id: string;
  userId: string;
  status: 'completed' | 'refunded';
  listingId: string;
  quantity: number;
  unitPrice: number;
  totalPrice: number;
  createdAt: string;
  refundedAt: string | null;
  lines: OrderLineView[];
}

export interface OrderDetailView extends OrderView {
  events: Array<{ status: string; at: string; detail: string | null; lineId: string; fulfillmentId: string }>;
  trackingNumber: string | null;
  trackingUrl: string | null;
  trackingCompany: string | null;
}

type Page<T> = { items: T[]; nextCursor: string | null };

function voucherFields(row: history.LineRow): { code: string | null; codes: string[] } {
  const codes = row.voucher_codes ?? [];
  return { code: codes[0] ?? null, codes };
}

function toLineView(row: history.LineRow, detailed: boolean, events: Map<string, history.EventRow[]>): OrderLineView {
  const fulfillment = row.fulfillment_id
    ? {
        id: row.fulfillment_id,
        status: row.fulfillment_status ?? 'pending',
        trackingNumber: row.tracking_number,
        trackingUrl: row.tracking_url,
        trackingCompany: row.tracking_company,
        ...(detailed
          ? {
              events: (events.get(row.fulfillment_id) ?? []).map((e) => ({ status: e.status, at: e.created_at.toISOString(), detail: playerEventDetail(e.status, e.detail) })),
              ...(row.fulfillment_status === 'failed' ? { error: PLAYER_DELIVERY_ERROR } : {}),
              ...(row.delivery_type === 'email' ? voucherFields(row) : {}),
            }
          : {}),
      }
    : null;
  return {
    id: row.line_id,
    itemId: row.item_id,
    name: row.name,
    quantity: row.quantity,
    deliveryType: row.delivery_type,
    fulfillment,
    ...(detailed && row.delivery_type === 'email' ? voucherFields(row) : {}),
  };
}

function toOrderView(order: history.OrderRow, lines: OrderLineView[]): OrderView {
  return {
    id: order.id,
    userId: order.user_id,
    status: order.status,
    listingId: order.listing_id,
    quantity: order.quantity,
    unitPrice: order.unit_price,
    totalPrice: order.total_price,
    createdAt: order.created_at.toISOString(),
    refundedAt: order.refunded_at?.toISOString() ?? null,
    lines,
  };
}

export function createPurchasesService(
  { db }: CoreDeps,
  services: { catalog: CatalogService; wallet: WalletService; inventory: InventoryService; fulfillment: FulfillmentService; users: UsersService },
) {
  const flowDeps = { catalog: services.catalog, wallet: services.wallet, inventory: services.inventory, fulfillment: services.fulfillment };

  /** The player's history and the operators' list page the same order, but each takes back only its own cursors. */
  type OrderList = 'purchases' | 'orders';

  async function page(list: OrderList, reader: Executor, rows: history.OrderRow[], limit: number): Promise<Page<OrderView>> {
    const { rows: shown, last } = pageOf(rows, limit);
    const lines = await history.findLines(reader, shown.map((o) => o.id), false);
    const byOrder = new Map<string, OrderLineView[]>();
    for (const line of lines) byOrder.set(line.order_id, [...(byOrder.get(line.order_id) ?? []), toLineView(line, false, new Map())]);
    return {
      items: shown.map((order) => toOrderView(order, byOrder.get(order.id) ?? [])),
      nextCursor: last ? encodeCursor(list, [last.created_us, last.id]) : null,
    };
  }

  async function getInTx(tx: Tx, orderId: string): Promise<OrderView> {
    const order = await history.findOrder(tx, orderId);
    if (!order) throw notFound('order');
    const lines = await history.findLines(tx, [orderId], false);
    return toOrderView(order, lines.map((line) => toLineView(line, false, new Map())));
  }

  // Only the exact cursor a page handed out: Node's lenient base64 read a tampered one (a stray character, padding) as it.
  // The time is in microseconds since 1970, which no order precedes: a negative one was never handed out.
  const cursorOf = (list: OrderList, cursor: string | undefined) => {
    const after = decodeCursor(list, cursor, ['number', 'uuid']) as [number, string] | undefined;
    if (after && after[0] < 0) throw new DomainError('validation_failed', 'invalid cursor');
    return after ?? null;
  };

  return {
    /** The purchase transaction (see place-purchase.ts), as the work of the request's Idempotency-Key. */
    purchaseWork(request: PurchaseRequest, effects?: PurchaseEffects): IdempotentWork<PurchasableListing | undefined> {
      return purchaseWork(flowDeps, request, effects);
    },

    /**
     * Refunds a whole order in the caller's transaction: gems back through the ledger, granted items revoked
     * (and so unequipped), open fulfillments cancelled, stock restored. Refunding twice never pays twice
     * (the second call is a no-op returning refunded: false). Used by the admin route and by Shopify's
     * orders/cancelled webhook.
     */
    async refundOrderInTx(tx: Tx, orderId: string, meta: { reason: string; actor: string }): Promise<{ refunded: boolean; amount: number; userId: string }> {
      return refundOrderInTx(tx, flowDeps, orderId, meta);
    },

    /** Admin refund: 409 invalid_state when the order was refunded before (by an operator or by Shopify). */
    async refundInTx(tx: Tx, orderId: string, meta: { reason: string; actor: string }): Promise<OrderView & { refundedAmount: number }> {
      const result = await refundOrderInTx(tx, flowDeps, orderId, meta);
      if (!result.refunded) throw new DomainError('invalid_state', 'this order is already refunded');
      const order = await getInTx(tx, orderId);
      return { ...order, refundedAmount: result.amount };
    },

    async listForUser(userId: string, query: { limit: number; cursor?: string }): Promise<Page<OrderView>> {
      // The replica once it has replayed this user's last write (read-your-writes), else the primary.
      const reader = await db.readerFor(userId);
      return page('purchases', reader, await history.listUserOrders(reader, userId, cursorOf('purchases', query.cursor), query.limit + 1), query.limit);
    },

    async listAll(query: { status?: 'completed' | 'refunded'; limit: number; cursor?: string }): Promise<Page<OrderView>> {
      return page('orders', db.replica, await history.listOrders(db.replica, query.status ?? null, cursorOf('orders', query.cursor), query.limit + 1), query.limit);
    },

    /** One order of the caller with its fulfillment history; another user's order is indistinguishable from none. */
    async getForUser(userId: string, orderId: string): Promise<OrderDetailView> {
      const reader = await db.readerFor(userId);
      const order = await history.findOrder(reader, orderId);
      if (!order || order.user_id !== userId) throw notFound('order');
      const lines = await history.findLines(reader, [orderId], true);
      const events = new Map<string, history.EventRow[]>();
      for (const event of await history.findFulfillmentEvents(reader, lines.flatMap((l) => (l.fulfillment_id ? [l.fulfillment_id] : [])))) {
        events.set(event.fulfillment_id, [...(events.get(event.fulfillment_id) ?? []), event]);
      }
      const view = toOrderView(order, lines.map((line) => toLineView(line, true, events)));
      const shipped = view.lines.find((line) => line.fulfillment?.trackingNumber)?.fulfillment;
      return {
        ...view,
        // Every line's history in time order (a line's own events are already in order: a stable sort keeps them).
        events: view.lines
          .flatMap((line) => (line.fulfillment?.events ?? []).map((e) => ({ ...e, lineId: line.id, fulfillmentId: line.fulfillment!.id })))
          .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)),
        trackingNumber: shipped?.trackingNumber ?? null,
        trackingUrl: shipped?.trackingUrl ?? null,
        trackingCompany: shipped?.trackingCompany ?? null,
      };
    },
  };
}
export type PurchasesService = ReturnType<typeof createPurchasesService>;
