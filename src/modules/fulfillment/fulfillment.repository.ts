// Fulfillments and their history: SQL only. Every status change is a conditional UPDATE whose WHERE lists the
// statuses it may come from (fulfillment.status.ts), so racing workers and late webhooks cannot move one back.
import { prepared, type Executor, type Tx } from '../../platform/db.js';
import type { DeliveryType } from '../catalog/index.js';
import type { FulfillmentStatus } from './fulfillment.status.js';
import type { LeasedFulfillment } from './handlers/types.js';

const ISO = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export interface NewFulfillment {
  id: string;
  orderLineId: string;
  deliveryType: DeliveryType;
  status: FulfillmentStatus;
  /** The first history event's detail. */
  detail: string | null;
}

export interface NewEvent {
  fulfillmentId: string;
  status: FulfillmentStatus;
  detail: string | null;
}

/**
 * The order's fulfillments and the first history event of each, in one statement (the events' foreign key is
 * checked at the end of the statement, when the fulfillments exist).
 */
export async function insertFulfillments(tx: Tx, order: { orderId: string; userId: string }, rows: readonly NewFulfillment[]): Promise<void> {
  await tx.query(
    prepared(`WITH input AS (
       SELECT * FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS t(id, line, type, status, detail, ord)
     ), created AS (
       INSERT INTO fulfillments (id, order_id, order_line_id, user_id, delivery_type, status)
       SELECT id, $1, line, $2, type, status FROM input
     )
     INSERT INTO fulfillment_events (fulfillment_id, status, detail)
     SELECT id, status, detail FROM input ORDER BY ord`),
    [
      order.orderId,
      order.userId,
      rows.map((r) => r.id),
      rows.map((r) => r.orderLineId),
      rows.map((r) => r.deliveryType),
      rows.map((r) => r.status),
      rows.map((r) => r.detail),
    ],
  );
}

export async function insertEvents(db: Executor, events: readonly NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `INSERT INTO fulfillment_events (fulfillment_id, status, detail)
     SELECT f, s, d FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS t(f, s, d, ord) ORDER BY ord`,
    [events.map((e) => e.fulfillmentId), events.map((e) => e.status), events.map((e) => e.detail)],
  );
}

export interface CancelledFulfillment {
  id: string;
  deliveryType: DeliveryType;
  deliveryStarted: boolean;
  externalId: string | null;
  /** The lease of a delivery attempt that was running when the line was cancelled; null when none was live. */
  leaseLiveUntil: Date | null;
}

/**
 * Cancels the order's fulfillments that have not left yet — dead letters (failed) included, or an operator's
 * retry would deliver what was refunded; returns them with whether delivery had started, the outside order id,
 * and until when a delivery attempt still held its lease (a Shopify orderCreate may be in flight until then).
 */
export async function cancelOpen(tx: Tx, orderId: string): Promise<CancelledFulfillment[]> {
  const { rows } = await tx.query<CancelledFulfillment>(
    `WITH old AS (
       SELECT id, CASE WHEN lease_owner IS NOT NULL AND lease_expires_at > now() THEN lease_expires_at END AS lease_live_until
         FROM fulfillments WHERE order_id = $1 AND status IN ('pending','processing','failed') ORDER BY id FOR UPDATE
     )
     UPDATE fulfillments f SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
       FROM old
      WHERE f.id = old.id
      RETURNING f.id, f.delivery_type AS "deliveryType", f.delivery_started_at IS NOT NULL AS "deliveryStarted",
                f.external_id AS "externalId", old.lease_live_until AS "leaseLiveUntil"`,
    [orderId],
  );
  return rows;
}

/** The order's cancelled Shopify lines (the history of a Shopify cancellation goes to them). */
export async function cancelledShopifyLines(db: Executor, orderId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM fulfillments WHERE order_id = $1 AND delivery_type = 'shopify' AND status = 'cancelled' ORDER BY id`,
    [orderId],
  );
  return rows.map((r) => r.id);
}

/** Keeps the outcome of a Shopify cancellation on cancelled lines: the error operators see, the order id learnt. */
export async function noteShopifyCancel(tx: Tx, ids: readonly string[], update: { error?: string; externalId?: string }): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(
    `UPDATE fulfillments SET last_error = CASE WHEN $2::text IS NULL THEN last_error ELSE $2 END,
            external_id = coalesce(external_id, $3), updated_at = now()
      WHERE id = ANY($1::uuid[]) AND status = 'cancelled'`,
    [ids, update.error?.slice(0, 2000) ?? null, update.externalId ?? null],
  );
}

/**
 * Leases a pending fulfillment for one delivery attempt and counts the attempt — before any outside call, so a
 * crash after it is visible. A live lease held by another job means someone else is delivering it right now.
 */
export async function lease(db: Executor, id: string, jobId: string, leaseSeconds: number): Promise<LeasedFulfillment | undefined> {
  const { rows } = await db.query<LeasedFulfillment>(
    `UPDATE fulfillments f
        SET attempts = f.attempts + 1, delivery_started_at = now(), lease_owner = $2,
            lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
       FROM order_lines l
      WHERE f.id = $1 AND l.id = f.order_line_id AND f.status = 'pending'
        AND (f.lease_owner IS NULL OR f.lease_owner = $2 OR f.lease_expires_at < now())
      RETURNING f.id, f.order_id AS "orderId", f.order_line_id AS "orderLineId", f.user_id AS "userId",
                l.item_id AS "itemId", l.quantity, f.attempts`,
    [id, jobId, leaseSeconds],
  );
  return rows[0];
}

/** A pending line whose delivery job pg-boss gave up on, locked: what delivery.gaveUp decides on. */
export async function lockForGiveUp(tx: Tx, id: string): Promise<{ status: FulfillmentStatus; deliveryType: DeliveryType; orderId: string; attempts: number; liveLeaseOwner: string | null } | undefined> {
  const { rows } = await tx.query<{ status: FulfillmentStatus; deliveryType: DeliveryType; orderId: string; attempts: number; liveLeaseOwner: string | null }>(
    `SELECT status, delivery_type AS "deliveryType", order_id AS "orderId", attempts,
            CASE WHEN lease_expires_at > now() THEN lease_owner END AS "liveLeaseOwner"
       FROM fulfillments WHERE id = $1 FOR UPDATE`,
    [id],
  );
  return rows[0];
}

export async function statusOf(db: Executor, id: string): Promise<{ status: FulfillmentStatus; deliveryType: DeliveryType } | undefined> {
  const { rows } = await db.query<{ status: FulfillmentStatus; deliveryType: DeliveryType }>(
    'SELECT status, delivery_type AS "deliveryType" FROM fulfillments WHERE id = $1',
    [id],
  );
  return rows[0];
}

/** Moves pending fulfillments forward after a delivery, releasing the lease. Returns the ids it moved. */
export async function markDelivered(
  tx: Tx,
  ids: readonly string[],
  to: 'processing' | 'delivered',
  externalId: string | null,
): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `UPDATE fulfillments SET status = $2, external_id = coalesce($3, external_id), last_error = NULL,
            lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
      WHERE id = ANY($1::uuid[]) AND status = 'pending'
      RETURNING id`,
    [ids, to, externalId],
  );
  return rows.map((r) => r.id);
}

/** A failed attempt: keeps the error, releases the lease, and dead-letters (status failed) when `terminal`. */
export async function recordFailure(tx: Tx, ids: readonly string[], error: string, terminal: boolean): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `UPDATE fulfillments SET last_error = $2, status = CASE WHEN $3 THEN 'failed' ELSE status END,
            lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
      WHERE id = ANY($1::uuid[]) AND status = 'pending'
      RETURNING id`,
    [ids, error.slice(0, 2000), terminal],
  );
  return rows.map((r) => r.id);
}

/**
 * Operator retry: failed → pending with a fresh attempt budget. `withSiblings`: the order's other failed lines of
 * the same delivery type come along (lines that leave in one Shopify order failed together and must be sent
 * together: a line retried alone would leave its siblings to "join" an order created without them). Returns the
 * ids reopened, the asked one first; empty when it was not failed.
 */
export async function reopenFailed(tx: Tx, id: string, withSiblings: boolean): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `WITH asked AS (
       SELECT id, order_id, delivery_type FROM fulfillments WHERE id = $1 AND status = 'failed' FOR UPDATE
     ), target AS (
       SELECT f.id FROM fulfillments f, asked a
        WHERE f.id = a.id
           OR ($2 AND f.order_id = a.order_id AND f.delivery_type = a.delivery_type AND f.status = 'failed')
        ORDER BY f.id FOR UPDATE OF f
     )
     UPDATE fulfillments f SET status = 'pending', attempts = 0, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
       FROM target t
      WHERE f.id = t.id AND f.status = 'failed'
      RETURNING f.id`,
    [id, withSiblings],
  );
  return rows.map((r) => r.id).sort((x, y) => (x === id ? -1 : y === id ? 1 : x < y ? -1 : 1));
}

// ───────────── reads ─────────────

export interface FulfillmentRow {
  id: string;
  orderId: string;
  orderLineId: string;
  userId: string;
  itemId: string;
  quantity: number;
  deliveryType: DeliveryType;
  status: FulfillmentStatus;
  attempts: number;
  lastError: string | null;
  externalId: string | null;
  trackingNumber: string | null;
  trackingCompany: string | null;
  trackingUrl: string | null;
  createdAt: string;
  updatedAt: string;
  /** created_at to the microsecond: the keyset cursor (milliseconds would repeat rows). */
  cursorAt: string;
}

const SELECT_FULFILLMENT = `
  SELECT f.id, f.order_id AS "orderId", f.order_line_id AS "orderLineId", f.user_id AS "userId", l.item_id AS "itemId",
         l.quantity, f.delivery_type AS "deliveryType", f.status, f.attempts, f.last_error AS "lastError",
         f.external_id AS "externalId", f.tracking_number AS "trackingNumber", f.tracking_company AS "trackingCompany",
         f.tracking_url AS "trackingUrl", ${ISO('f.created_at')} AS "createdAt", ${ISO('f.updated_at')} AS "updatedAt",
         to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "cursorAt"
    FROM fulfillments f JOIN order_lines l ON l.id = f.order_line_id`;

export async function findFulfillment(db: Executor, id: string): Promise<FulfillmentRow | undefined> {
  return (await db.query<FulfillmentRow>(`${SELECT_FULFILLMENT} WHERE f.id = $1`, [id])).rows[0];
}

/** Keyset page ordered by (created_at, id), optionally of one status (served by fulfillments_status_idx). */
export async function listFulfillments(
  db: Executor,
  filter: { status?: FulfillmentStatus; after?: { createdAt: string; id: string }; limit: number },
): Promise<FulfillmentRow[]> {
  const { rows } = await db.query<FulfillmentRow>(
    `${SELECT_FULFILLMENT}
      WHERE ($1::text IS NULL OR f.status = $1)
        AND ($2::timestamptz IS NULL OR (f.created_at, f.id) > ($2::timestamptz, $3::uuid))
      ORDER BY f.created_at, f.id
      LIMIT $4`,
    [filter.status ?? null, filter.after?.createdAt ?? null, filter.after?.id ?? null, filter.limit],
  );
  return rows;
}

export interface EventRow {
  fulfillmentId: string;
  status: string;
  detail: string | null;
  at: string;
}

export async function eventsOf(db: Executor, fulfillmentIds: readonly string[]): Promise<EventRow[]> {
  if (fulfillmentIds.length === 0) return [];
  const { rows } = await db.query<EventRow>(
    `SELECT fulfillment_id AS "fulfillmentId", status, detail, ${ISO('created_at')} AS at
       FROM fulfillment_events WHERE fulfillment_id = ANY($1::uuid[]) ORDER BY fulfillment_id, id`,
    [fulfillmentIds],
  );
  return rows;
}

// ───────────── Shopify ─────────────

export interface ShopifyOrderContext {
  orderId: string;
  shippingAddress: Record<string, unknown> | null;
  email: string | null;
  lines: Array<{ fulfillmentId: string; variantId: string | null; quantity: number; status: FulfillmentStatus; externalId: string | null }>;
}

export async function shopifyOrderContext(db: Executor, orderId: string): Promise<ShopifyOrderContext | undefined> {
  const { rows } = await db.query<{
    shippingAddress: Record<string, unknown> | null;
    email: string | null;
    fulfillmentId: string;
    variantId: string | null;
    quantity: number;
    status: FulfillmentStatus;
    externalId: string | null;
  }>(
    `SELECT o.shipping_address AS "shippingAddress", u.email, f.id AS "fulfillmentId", i.shopify_variant_id AS "variantId",
            l.quantity, f.status, f.external_id AS "externalId"
       FROM orders o
       JOIN users u ON u.id = o.user_id
       JOIN fulfillments f ON f.order_id = o.id AND f.delivery_type = 'shopify'
       JOIN order_lines l ON l.id = f.order_line_id
       JOIN item_definitions i ON i.id = l.item_id
      WHERE o.id = $1
      ORDER BY f.id`,
    [orderId],
  );
  if (rows.length === 0) return undefined;
  return {
    orderId,
    shippingAddress: rows[0]!.shippingAddress,
    email: rows[0]!.email,
    lines: rows.map(({ fulfillmentId, variantId, quantity, status, externalId }) => ({ fulfillmentId, variantId, quantity, status, externalId })),
  };
}

export interface TrackingUpdate {
  number?: string | null;
  company?: string | null;
  url?: string | null;
}

/**
 * Applies a Shopify status to every fulfillment of that Shopify order: moves forward only, keeps tracking up to
 * date even when the status stays (while the line is open: never after cancelled or failed, and after delivered only
 * to fill in tracking that was never known). Returns
 * each fulfillment with the status it has afterwards and whether it moved.
 */
export async function advanceByExternalId(
  tx: Tx,
  externalId: string,
  to: FulfillmentStatus | null,
  from: readonly FulfillmentStatus[],
  tracking: TrackingUpdate,
): Promise<Array<{ id: string; orderId: string; status: FulfillmentStatus; moved: boolean }>> {
  const { rows } = await tx.query<{ id: string; orderId: string; status: FulfillmentStatus; moved: boolean }>(
    `WITH target AS (
       SELECT id, status AS old_status, tracking_number, tracking_url FROM fulfillments WHERE external_id = $1 ORDER BY id FOR UPDATE
     )
     UPDATE fulfillments f
        SET status = CASE WHEN $2::text IS NOT NULL AND t.old_status = ANY($3::text[]) THEN $2 ELSE f.status END,
            -- Tracking is refreshed while the parcel is on its way; a delivered, cancelled or failed line is
            -- history, and a late or stray webhook must not rewrite it. Only a parcel delivered before any tracking
            -- was known (a bare "delivered" event first) takes the tracking that comes late, all of it together.
            tracking_number = CASE WHEN t.refresh THEN coalesce($4, f.tracking_number) WHEN t.fill THEN $4 ELSE f.tracking_number END,
            tracking_company = CASE WHEN t.refresh THEN coalesce($5, f.tracking_company) WHEN t.fill THEN $5 ELSE f.tracking_company END,
            tracking_url = CASE WHEN t.refresh THEN coalesce($6, f.tracking_url) WHEN t.fill THEN $6 ELSE f.tracking_url END,
            updated_at = now()
       FROM (SELECT id, old_status, old_status IN ('pending','processing','shipped') AS refresh,
                    old_status = 'delivered' AND tracking_number IS NULL AND tracking_url IS NULL
                      AND ($4::text IS NOT NULL OR $6::text IS NOT NULL) AS fill
               FROM target) t
      WHERE f.id = t.id
      RETURNING f.id, f.order_id AS "orderId", f.status, f.status IS DISTINCT FROM t.old_status AS moved`,
    [externalId, to, from, tracking.number ?? null, tracking.company ?? null, tracking.url ?? null],
  );
  return rows;
}

/** Shopify orders still on their way, oldest news first (for reconciliation). */
export async function openShopifyOrders(db: Executor, limit: number, minAgeSeconds: number): Promise<Array<{ externalId: string; orderId: string }>> {
  const { rows } = await db.query<{ externalId: string; orderId: string }>(
    `SELECT external_id AS "externalId", min(order_id::text) AS "orderId"
       FROM fulfillments
      WHERE status IN ('processing','shipped') AND delivery_type = 'shopify' AND external_id IS NOT NULL
        AND updated_at <= now() - make_interval(secs => $2)
      GROUP BY external_id
      ORDER BY min(updated_at)
      LIMIT $1`,
    [limit, minAgeSeconds],
  );
  return rows;
}

/** Every Shopify order still on its way (one row per order), with the tracking the parcel already has. */
export async function shopifyOrdersInTransit(db: Executor): Promise<Array<{ externalId: string; orderId: string; trackingNumber: string | null; trackingCompany: string | null; trackingUrl: string | null }>> {
  const { rows } = await db.query<{ externalId: string; orderId: string; trackingNumber: string | null; trackingCompany: string | null; trackingUrl: string | null }>(
    `SELECT external_id AS "externalId", min(order_id::text) AS "orderId", max(tracking_number) AS "trackingNumber",
            max(tracking_company) AS "trackingCompany", max(tracking_url) AS "trackingUrl"
       FROM fulfillments
      WHERE status IN ('processing','shipped') AND delivery_type = 'shopify' AND external_id IS NOT NULL
      GROUP BY external_id`,
  );
  return rows;
}

export async function touchExternal(db: Executor, externalId: string): Promise<void> {
  await db.query('UPDATE fulfillments SET updated_at = now() WHERE external_id = $1', [externalId]);
}

// ───────────── metrics ─────────────

export async function countByStatus(db: Executor): Promise<Array<{ status: FulfillmentStatus; n: number }>> {
  return (await db.query<{ status: FulfillmentStatus; n: number }>('SELECT status, count(*)::int AS n FROM fulfillments GROUP BY status')).rows;
}

export async function countStale(db: Executor, olderThanSeconds: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM fulfillments
      WHERE status IN ('pending','processing') AND updated_at < now() - make_interval(secs => $1)`,
    [olderThanSeconds],
  );
  return rows[0]?.n ?? 0;
}

export async function pendingSiblings(db: Executor, orderId: string, selfId: string, type: DeliveryType): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM fulfillments WHERE order_id = $1 AND delivery_type = $2 AND status = 'pending' AND id <> $3 ORDER BY id`,
    [orderId, type, selfId],
  );
  return rows.map((r) => r.id);
}

// ───────────── webhooks ─────────────

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const storableText = (text: string) => text.replace(/\u0000/g, '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');

/**
 * jsonb refuses NUL and lone surrogates, which JSON allows (a customer's note may hold them). A genuine, signed
 * webhook refused for that would be retried by Shopify for 48 h and then cost us the whole subscription, so such
 * characters are stored as U+FFFD, keys and values alike (the payload nests at most 64 levels: recursion is safe).
 */
function storablePayload(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storablePayload);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [storableText(key), storablePayload(child)]));
  }
  return value;
}

export async function insertWebhookEvent(
  tx: Tx,
  event: { webhookId: string; eventId: string | null; topic: string; payload: unknown },
): Promise<string | undefined> {
  // No conflict target: a repeat of either the webhook id or the event id is a duplicate.
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO webhook_events (source, external_id, event_id, topic, payload)
     VALUES ('shopify', $1, $2, $3, $4::jsonb)
     ON CONFLICT DO NOTHING
     RETURNING id`,
    [event.webhookId, event.eventId, event.topic, JSON.stringify(storablePayload(event.payload))],
  );
  return rows[0]?.id;
}

export async function lockWebhookEvent(tx: Tx, id: string): Promise<{ topic: string; payload: Record<string, unknown>; processed: boolean } | undefined> {
  const { rows } = await tx.query<{ topic: string; payload: Record<string, unknown>; processed: boolean }>(
    `SELECT topic, payload, processed_at IS NOT NULL AS processed FROM webhook_events WHERE id = $1 AND source = 'shopify' FOR UPDATE`,
    [id],
  );
  return rows[0];
}

export async function markWebhookProcessed(db: Executor, id: string, error: string | null): Promise<void> {
  await db.query('UPDATE webhook_events SET processed_at = now(), error = $2 WHERE id = $1', [id, error]);
}

export async function markWebhookError(db: Executor, id: string, error: string): Promise<void> {
  await db.query('UPDATE webhook_events SET error = $2 WHERE id = $1', [id, error.slice(0, 2000)]);
}

/** When a webhook beats our own record of the Shopify order id (a lost response), the order's tag links them. */
/**
 * Locks every fulfillment of the orders concerned, in id order: of `orderId`, and of the orders that hold the
 * Shopify order `externalId`. A refund takes these locks before the order row, and so does a Shopify cancellation
 * (which refunds): both then queue on the same rows in the same order instead of deadlocking.
 */
export async function lockOrderFulfillments(tx: Tx, orders: { orderId?: string; externalId?: string }): Promise<void> {
  await tx.query(
    `SELECT id FROM fulfillments
      WHERE order_id = $1 OR order_id IN (SELECT order_id FROM fulfillments WHERE external_id = $2)
      ORDER BY id FOR UPDATE`,
    [orders.orderId ?? null, orders.externalId ?? null],
  );
}

/** Whether our order `orderId` exists and has lines shipped through Shopify. */
export async function hasShopifyLines(db: Executor, orderId: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM fulfillments WHERE order_id = $1 AND delivery_type = 'shopify' LIMIT 1`, [orderId]);
  return rows.length > 0;
}

export async function adoptExternalId(tx: Tx, orderId: string, externalId: string): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE fulfillments SET external_id = $2, updated_at = now()
      WHERE order_id = $1 AND delivery_type = 'shopify' AND external_id IS NULL`,
    [orderId, externalId],
  );
  return rowCount;
}
