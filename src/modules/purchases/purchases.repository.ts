// SQL of the purchase transaction and of refunds. Every write that guards a rule is conditional (the WHERE is
// the check), so a concurrent transaction can never slip between a read and a write.
import { prepared, type Executor, type Tx } from '../../platform/db.js';

/**
 * Counts `units` against the user's limit on the listing; false when it would go over. The first purchase seeds
 * the counter from the user's completed orders, so a limit added to a listing later still counts earlier buys.
 */
export async function takeLimitUnits(tx: Tx, userId: string, listingId: string, units: number, limit: number): Promise<boolean> {
  const { rowCount } = await tx.query(
    prepared(`INSERT INTO purchase_limit_usage AS u (user_id, listing_id, units)
     SELECT $1, $2, h.total
       FROM (SELECT $3::int + coalesce(sum(quantity), 0) AS total
               FROM orders WHERE user_id = $1 AND listing_id = $2 AND status = 'completed') AS h
      WHERE h.total <= $4
     ON CONFLICT (user_id, listing_id) DO UPDATE SET units = u.units + $3::int, updated_at = now()
      WHERE u.units + $3::int <= $4`),
    [userId, listingId, units, limit],
  );
  return rowCount === 1;
}

/**
 * Gives a refunded order's units back, called after the order is marked refunded in this transaction. When the
 * player has no counter yet (the limit came after their orders) it is seeded here from the completed orders, which
 * no longer include this one, instead of giving back to nothing: a purchase seeding the counter at the same time
 * counted this order from its snapshot, and an UPDATE cannot see its uncommitted row. Both now write the one key,
 * so the second waits for the first and takes the conflict path (refund: minus, purchase: plus): the counter ends
 * equal to the completed units. Counters of a listing without a limit are never read (forgotten when one returns).
 */
export async function giveBackLimitUnits(tx: Tx, userId: string, listingId: string, units: number): Promise<void> {
  await tx.query(
    `INSERT INTO purchase_limit_usage AS u (user_id, listing_id, units)
     SELECT $1, $2, (SELECT coalesce(sum(quantity), 0) FROM orders WHERE user_id = $1 AND listing_id = $2 AND status = 'completed')
       FROM listings WHERE id = $2 AND per_user_limit IS NOT NULL
     ON CONFLICT (user_id, listing_id) DO UPDATE SET units = greatest(u.units - $3::int, 0), updated_at = now()`,
    [userId, listingId, units],
  );
}

export interface NewOrder {
  id: string;
  userId: string;
  listingId: string;
  quantity: number;
  unitPrice: number;
  totalPrice: number;
  idempotencyKey: string;
  shippingAddress: unknown;
  lines: Array<{ id: string; itemId: string; quantity: number; deliveryType: string }>;
}

/** The order and all its lines in one statement. */
export async function insertOrder(tx: Tx, order: NewOrder): Promise<{ created_at: Date }> {
  const { rows } = await tx.query<{ created_at: Date }>(
    prepared(`WITH o AS (
       INSERT INTO orders (id, user_id, listing_id, quantity, unit_price, total_price, idempotency_key, shipping_address)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
       RETURNING created_at
     ), l AS (
       INSERT INTO order_lines (id, order_id, item_id, quantity, delivery_type)
       SELECT x.id, $1, x.item_id, x.quantity, x.delivery_type
         FROM unnest($9::uuid[], $10::uuid[], $11::int[], $12::text[]) AS x(id, item_id, quantity, delivery_type)
     )
     SELECT created_at FROM o`),
    [
      order.id,
      order.userId,
      order.listingId,
      order.quantity,
      order.unitPrice,
      order.totalPrice,
      order.idempotencyKey,
      order.shippingAddress === null ? null : JSON.stringify(order.shippingAddress),
      order.lines.map((l) => l.id),
      order.lines.map((l) => l.itemId),
      order.lines.map((l) => l.quantity),
      order.lines.map((l) => l.deliveryType),
    ],
  );
  return rows[0]!;
}

export interface RefundedOrderRow {
  user_id: string;
  listing_id: string;
  quantity: number;
  total_price: number;
}

/** Flips completed → refunded; no row back when the order is unknown or already refunded (so it pays once). */
export async function markRefunded(tx: Tx, orderId: string): Promise<RefundedOrderRow | undefined> {
  const { rows } = await tx.query<RefundedOrderRow>(
    `UPDATE orders SET status = 'refunded', refunded_at = now() WHERE id = $1 AND status = 'completed'
     RETURNING user_id, listing_id, quantity, total_price`,
    [orderId],
  );
  return rows[0];
}

export async function findOrderOwner(db: Executor, orderId: string): Promise<{ user_id: string; status: string } | undefined> {
  const { rows } = await db.query<{ user_id: string; status: string }>('SELECT user_id, status FROM orders WHERE id = $1', [orderId]);
  return rows[0];
}

export interface RefundLineRow {
  item_id: string;
  quantity: number;
  delivery_type: string;
}

export async function findLinesForRefund(tx: Tx, orderId: string): Promise<RefundLineRow[]> {
  const { rows } = await tx.query<RefundLineRow>(
    'SELECT l.item_id, l.quantity, l.delivery_type FROM order_lines l WHERE l.order_id = $1 ORDER BY l.item_id',
    [orderId],
  );
  return rows;
}

/**
 * The gems the order's functional lines credited, as the ledger recorded them (the item's effect may have been
 * edited since the purchase, and `true` credited 1 per unit).
 */
export async function sumEffectGemsCredited(tx: Tx, orderId: string): Promise<number> {
  const { rows } = await tx.query<{ gems: string }>(
    `SELECT coalesce(sum(t.amount), 0)::text AS gems
       FROM fulfillments f
       JOIN ledger_transfers t ON t.reference_type = 'fulfillment' AND t.reference_id = f.id::text AND t.reason = 'functional_effect'
      WHERE f.order_id = $1`,
    [orderId],
  );
  return Number(rows[0]!.gems);
}
