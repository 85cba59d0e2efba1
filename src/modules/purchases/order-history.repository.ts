// Order reads for the buyer's history and for operators. Two statements per page whatever its size: the orders,
// then every line of those orders with its fulfillment (no query per order).
import type { Executor } from '../../platform/db.js';

export interface OrderRow {
  id: string;
  user_id: string;
  listing_id: string;
  quantity: number;
  unit_price: number;
  total_price: number;
  status: 'completed' | 'refunded';
  created_at: Date;
  /** created_at in whole microseconds: the exact keyset cursor (a JS Date would drop the microseconds). */
  created_us: number;
  refunded_at: Date | null;
}

export interface LineRow {
  order_id: string;
  line_id: string;
  item_id: string;
  name: string;
  quantity: number;
  delivery_type: string;
  fulfillment_id: string | null;
  fulfillment_status: string | null;
  tracking_number: string | null;
  tracking_url: string | null;
  tracking_company: string | null;
  voucher_codes: string[] | null;
}

const ORDER_COLUMNS = `o.id, o.user_id, o.listing_id, o.quantity, o.unit_price, o.total_price, o.status, o.created_at, o.refunded_at,
  (extract(epoch FROM o.created_at) * 1000000)::bigint AS created_us`;

/** Keyset page over orders_user_idx (user_id, created_at DESC, id DESC). */
export async function listUserOrders(db: Executor, userId: string, after: [number, string] | null, limit: number): Promise<OrderRow[]> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM orders o
      WHERE o.user_id = $1 AND ($2::bigint IS NULL OR (o.created_at, o.id) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid))
      ORDER BY o.created_at DESC, o.id DESC
      LIMIT $4`,
    [userId, after?.[0] ?? null, after?.[1] ?? null, limit],
  );
  return rows;
}

/** Keyset page over orders_status_idx (status, created_at DESC, id DESC), or over every order. */
export async function listOrders(db: Executor, status: string | null, after: [number, string] | null, limit: number): Promise<OrderRow[]> {
  const { rows } = await db.query<OrderRow>(
    `SELECT ${ORDER_COLUMNS} FROM orders o
      WHERE ($1::text IS NULL OR o.status = $1)
        AND ($2::bigint IS NULL OR (o.created_at, o.id) < (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid))
      ORDER BY o.created_at DESC, o.id DESC
      LIMIT $4`,
    [status, after?.[0] ?? null, after?.[1] ?? null, limit],
  );
  return rows;
}

export async function findOrder(db: Executor, orderId: string): Promise<OrderRow | undefined> {
  const { rows } = await db.query<OrderRow>(`SELECT ${ORDER_COLUMNS} FROM orders o WHERE o.id = $1`, [orderId]);
  return rows[0];
}

/**
 * Lines of the given orders with their fulfillment, each order's lines in its listing's order (position, then item
 * id: the order the purchase read them in and answered with; order_lines has no position of its own and its ids are
 * random). The voucher code is selected only when asked for: it is shown on the owner's single-order view, never in
 * lists.
 */
export async function findLines(db: Executor, orderIds: readonly string[], withVoucherCodes: boolean): Promise<LineRow[]> {
  if (orderIds.length === 0) return [];
  const { rows } = await db.query<LineRow>(
    `SELECT l.order_id, l.id AS line_id, l.item_id, d.name, l.quantity, l.delivery_type,
            f.id AS fulfillment_id, f.status AS fulfillment_status, f.tracking_number, f.tracking_url, f.tracking_company,
            ${withVoucherCodes ? '(SELECT array_agg(v.code ORDER BY v.claimed_at, v.id) FROM voucher_codes v WHERE v.fulfillment_id = f.id)' : 'NULL::text[]'} AS voucher_codes
       FROM order_lines l
       JOIN orders o ON o.id = l.order_id
       JOIN item_definitions d ON d.id = l.item_id
       LEFT JOIN listing_items li ON li.listing_id = o.listing_id AND li.item_id = l.item_id
       LEFT JOIN fulfillments f ON f.order_line_id = l.id
      WHERE l.order_id = ANY($1::uuid[])
      ORDER BY l.order_id, li.position NULLS LAST, l.item_id`,
    [orderIds],
  );
  return rows;
}

export interface EventRow {
  fulfillment_id: string;
  status: string;
  detail: string | null;
  created_at: Date;
}

export async function findFulfillmentEvents(db: Executor, fulfillmentIds: readonly string[]): Promise<EventRow[]> {
  if (fulfillmentIds.length === 0) return [];
  const { rows } = await db.query<EventRow>(
    `SELECT fulfillment_id, status, detail, created_at FROM fulfillment_events
      WHERE fulfillment_id = ANY($1::uuid[]) ORDER BY fulfillment_id, id`,
    [fulfillmentIds],
  );
  return rows;
}
