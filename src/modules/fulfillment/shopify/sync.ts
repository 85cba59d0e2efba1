// Shopify → us: webhooks (stored once, processed by a job) and a periodic reconciliation for the webhooks that
// never come. Both end in applyUpdate, which moves fulfillments forward only and writes the history.
import type { Logger } from 'pino';
import type { Database, Tx } from '../../../platform/db.js';
import { QUEUES, type Jobs } from '../../../platform/jobs.js';
import { DomainError } from '../../../platform/errors.js';
import * as repo from '../fulfillment.repository.js';
import { OPEN_STATUSES, statusesBefore, type FulfillmentStatus } from '../fulfillment.status.js';
import { orderTag, type ShopifyClient, type ShopifyOrderSummary } from './client.js';

/** purchases.refundOrderInTx, handed in by the worker (purchases is built after fulfillment). */
export type RefundHook = (tx: Tx, orderId: string, meta: { reason: string; actor: string }) => Promise<{ refunded: boolean; amount: number }>;

export interface ShopifyUpdate {
  externalId: string;
  /** Our order id when the payload names it (the bb-order tag), to link an order we never heard back about. */
  orderId?: string;
  to: FulfillmentStatus | null;
  cancel?: boolean;
  /**
   * A cancellation that also stops a `shipped` line: Shopify lists no live fulfillment for the order (the merchant
   * cancelled the parcel's fulfillment before the order, as Shopify requires). Unknown (no list): the parcel stays.
   */
  cancelShipped?: boolean;
  tracking: repo.TrackingUpdate;
  detail: string;
}

const TAG_RE = /bb-order-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
/** Shopify's numeric order id (REST payloads) or the order's GID itself → the GID we store. */
const gid = (id: unknown) => {
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return `gid://shopify/Order/${id}`;
  if (typeof id !== 'string') return undefined;
  if (/^\d{1,20}$/.test(id)) return `gid://shopify/Order/${id}`;
  return /^gid:\/\/shopify\/Order\/\d{1,20}$/.test(id) ? id : undefined;
};
/** `tags` is a comma-separated string in Shopify's REST payloads; a list of tags is read the same way. */
const tagsOf = (tags: unknown) => (typeof tags === 'string' ? tags : Array.isArray(tags) ? tags.filter((tag) => typeof tag === 'string').join(', ') : '');
/** A fulfillment Shopify cancelled, or one that failed or errored, is not a parcel on its way: news, no status. */
const DEAD_FULFILLMENT = new Set(['cancelled', 'canceled', 'failure', 'error']);
const str = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value.slice(0, 500) : undefined);
const first = (value: unknown) => (Array.isArray(value) ? str(value[0]) : undefined);
/** A fulfillment list that holds no live parcel (every one cancelled, failed or errored, or none at all). */
const noLiveFulfillment = (fulfillments: unknown) =>
  Array.isArray(fulfillments) && !fulfillments.some((f) => typeof f === 'object' && f !== null
    && !DEAD_FULFILLMENT.has(String((f as Record<string, unknown>).status ?? '').toLowerCase()));
/**
 * A tracking URL is shown to the player as a link: only an absolute http(s) URL is kept. `javascript:`, `data:` or a
 * scheme-relative URL from whoever edited the fulfillment in Shopify would be a script in the player's page.
 */
export function trackingUrl(value: unknown): string | undefined {
  const url = str(value);
  return url !== undefined && /^https?:\/\/[^\s/]/i.test(url) && URL.canParse(url) ? url : undefined;
}

/** Shopify's shipment and display statuses → ours. null: news for the history, no status change. */
export function statusFromShipment(status: string | undefined): FulfillmentStatus | null {
  switch ((status ?? '').toLowerCase()) {
    case 'delivered':
      return 'delivered';
    case 'failure':
    case 'not_delivered':
    case 'canceled':
    case 'cancelled':
      return null; // a carrier hiccup or a cancelled shipment is not a delivery; it stays shipped for follow-up
    default:
      return 'shipped'; // confirmed, label_printed, in_transit, out_for_delivery, attempted_delivery, fulfilled, …
  }
}

/** A webhook's topic and payload → the update it means, or undefined when it is not about our orders. */
export function interpretWebhook(topic: string, payload: Record<string, unknown>): ShopifyUpdate | undefined {
  const tagged = TAG_RE.exec(tagsOf(payload.tags))?.[1]?.toLowerCase();
  switch (topic) {
    case 'fulfillments/create':
    case 'fulfillments/update': {
      const externalId = gid(payload.order_id);
      if (!externalId) return undefined;
      const shipment = str(payload.shipment_status);
      const tracking = {
        number: str(payload.tracking_number) ?? first(payload.tracking_numbers),
        company: str(payload.tracking_company),
        url: trackingUrl(payload.tracking_url) ?? trackingUrl(first(payload.tracking_urls)),
      };
      const state = str(payload.status)?.toLowerCase();
      if (state && DEAD_FULFILLMENT.has(state)) {
        return { externalId, to: null, tracking: {}, detail: `${topic}: fulfillment ${state}` };
      }
      const to = shipment ? statusFromShipment(shipment) : 'shipped';
      return { externalId, to, tracking, detail: `${topic}: ${shipment ?? 'fulfilled'}${tracking.number ? ` (${tracking.company ?? 'carrier'} ${tracking.number})` : ''}` };
    }
    case 'fulfillment_events/create': {
      const externalId = gid(payload.order_id);
      if (!externalId) return undefined;
      const status = str(payload.status);
      const message = str(payload.message);
      return { externalId, to: statusFromShipment(status), tracking: {}, detail: `${topic}: ${status ?? 'event'}${message ? ` — ${message}` : ''}` };
    }
    case 'orders/fulfilled': {
      const externalId = gid(payload.admin_graphql_api_id) ?? gid(payload.id);
      if (!externalId) return undefined;
      // The first live fulfillment: a cancelled or failed one stays in the list after Shopify made a new one.
      const fulfillment = Array.isArray(payload.fulfillments)
        ? (payload.fulfillments as unknown[]).find((f): f is Record<string, unknown> =>
          typeof f === 'object' && f !== null && !DEAD_FULFILLMENT.has(String((f as Record<string, unknown>).status ?? '').toLowerCase()))
        : undefined;
      const tracking = { number: str(fulfillment?.tracking_number), company: str(fulfillment?.tracking_company), url: trackingUrl(fulfillment?.tracking_url) };
      return { externalId, orderId: tagged, to: 'shipped', tracking, detail: `${topic}: all items fulfilled` };
    }
    case 'orders/cancelled': {
      const externalId = gid(payload.admin_graphql_api_id) ?? gid(payload.id);
      if (!externalId) return undefined;
      const reason = str(payload.cancel_reason);
      return { externalId, orderId: tagged, to: 'cancelled', cancel: true, cancelShipped: noLiveFulfillment(payload.fulfillments), tracking: {}, detail: `${topic}${reason ? `: ${reason}` : ''}` };
    }
    default:
      return undefined;
  }
}

/** Reconciliation: what Shopify says about an order now → the update it means. */
export function interpretOrder(order: ShopifyOrderSummary, orderId: string): ShopifyUpdate {
  if (order.cancelledAt) return { externalId: order.id, orderId, to: 'cancelled', cancel: true, cancelShipped: noLiveFulfillment(order.fulfillments), tracking: {}, detail: 'reconciliation: cancelled in Shopify' };
  // A cancelled or failed fulfillment is not a parcel: Shopify keeps it in the list after a new one is made.
  const fulfillment = order.fulfillments?.find((f) => !DEAD_FULFILLMENT.has((f.status ?? '').toLowerCase()));
  const info = fulfillment?.trackingInfo?.[0];
  const tracking = info ? { ...info, url: trackingUrl(info.url) ?? null } : {};
  const shipped = fulfillment || ['FULFILLED', 'PARTIALLY_FULFILLED', 'IN_PROGRESS'].includes(order.displayFulfillmentStatus ?? '');
  const to = !shipped ? null : statusFromShipment(fulfillment?.displayStatus ?? 'fulfilled');
  return { externalId: order.id, orderId, to, tracking, detail: `reconciliation: ${(fulfillment?.displayStatus ?? order.displayFulfillmentStatus ?? 'unfulfilled').toLowerCase()}` };
}

/**
 * Why an `orders/*` webhook that matched no fulfillment can never be about an order of ours, or undefined when it might
 * still be (no tags in the payload, or our tag on an order of ours: retried until its Shopify id is stored). Every order
 * we create is tagged `bb-order-<our order id>`, after the purchase committed.
 */
async function foreignOrder(tx: Tx, topic: string, payload: Record<string, unknown>, update: ShopifyUpdate): Promise<string | undefined> {
  if (!topic.startsWith('orders/') || (typeof payload.tags !== 'string' && !Array.isArray(payload.tags))) return undefined;
  if (!update.orderId) return `${update.externalId} has no bb-order tag`;
  if (!(await repo.hasShopifyLines(tx, update.orderId))) return `no order ${update.orderId} with Shopify lines here`;
  return undefined;
}

export function createShopifySync({ db, jobs, logger, shopify }: { db: Database; jobs: Jobs; logger: Logger; shopify: ShopifyClient }) {
  /**
   * Applies an update to the fulfillments of one Shopify order. The history holds changes only (API.md: every
   * change is an event): a late or repeated status webhook moves nothing and adds nothing (the webhook itself stays
   * in webhook_events for operators). `recordUnchanged`: a webhook that carries no status (`to` null, e.g. tracking
   * news) is still recorded; reconciliation only writes what changed. Returns false when no fulfillment matches.
   */
  async function applyUpdate(tx: Tx, update: ShopifyUpdate, refund: RefundHook, recordUnchanged: boolean): Promise<boolean> {
    // A cancellation refunds: its locks are taken in the refund's order (every line of the order, then the order row),
    // or an operator's refund of the same order at the same moment deadlocks with it.
    if (update.cancel) await repo.lockOrderFulfillments(tx, { orderId: update.orderId ?? undefined, externalId: update.externalId });
    if (update.orderId) await repo.adoptExternalId(tx, update.orderId, update.externalId);
    const to = update.to;
    // Shopify cancelled the order: every line that has not left is cancelled — a dead letter (failed) too, as a refund
    // does, or an operator's retry would ship what the refund below pays back — and a shipped one whose fulfillment
    // Shopify cancelled first (no live fulfillment left): that parcel is not coming, and the gems must come back.
    const from = to === 'cancelled'
      ? (['pending', 'processing', 'failed', ...(update.cancelShipped ? ['shipped'] : [])] as FulfillmentStatus[])
      : to ? statusesBefore(to) : [];
    const rows = await repo.advanceByExternalId(tx, update.externalId, to, from, update.tracking);
    if (rows.length === 0) return false;
    // News without a status (a carrier failure) goes to the history of a parcel still on its way; a delivered,
    // cancelled or failed line's history is closed, like its tracking: a late webhook adds nothing to it.
    const events = rows
      .filter((row) => row.moved || (recordUnchanged && to === null && OPEN_STATUSES.includes(row.status)))
      .map((row) => ({ fulfillmentId: row.id, status: row.status, detail: `shopify ${update.detail}` }));
    await repo.insertEvents(tx, events);
    const cancelledOrders = new Set(rows.filter((row) => update.cancel && row.moved).map((row) => row.orderId));
    for (const orderId of cancelledOrders) {
      // The line was paid in gems: cancelling the parcel gives them back through the ledger (once per order). A refund
      // the order refuses (409 insufficient_funds: gems a functional line credited are spent) must not undo the
      // cancellation Shopify made, nor fail this webhook until it is dead-lettered with the line left processing:
      // the refund alone is rolled back and the reason stays on the cancelled lines, for an operator to decide.
      await tx.query('SAVEPOINT shopify_refund');
      try {
        await refund(tx, orderId, { reason: 'shopify_cancellation', actor: 'shopify' });
        await tx.query('RELEASE SAVEPOINT shopify_refund');
      } catch (error) {
        if (!(error instanceof DomainError) || error.code === 'not_found') throw error;
        await tx.query('ROLLBACK TO SAVEPOINT shopify_refund');
        const lines = rows.filter((row) => row.orderId === orderId && row.moved).map((row) => row.id);
        await repo.noteShopifyCancel(tx, lines, { error: `Shopify cancelled the order but it could not be refunded: ${error.message} (${error.code}); refund it by hand` });
        logger.error({ err: error, orderId, externalId: update.externalId }, 'Shopify cancelled an order that could not be refunded: an operator must decide');
      }
    }
    return true;
  }

  return {
    async recordWebhook(event: { webhookId: string; eventId: string | null; topic: string; payload: unknown }): Promise<boolean> {
      return db.withTx(async (tx) => {
        const id = await repo.insertWebhookEvent(tx, event);
        if (id) await jobs.send(tx, QUEUES.shopifyWebhook, { webhookEventId: id });
        return id !== undefined;
      });
    },

    /** The shopify-webhook job (src/workers.ts takes them in batches): one stored webhook, applied once. */
    async processWebhook(webhookEventId: string, refund: RefundHook): Promise<void> {
      const unmatched = await db.withTx(async (tx) => {
        const event = await repo.lockWebhookEvent(tx, webhookEventId);
        if (!event || event.processed) return undefined;
        const update = interpretWebhook(event.topic, event.payload ?? {});
        if (update && !(await applyUpdate(tx, update, refund, true))) {
          // Retrying helps only an order of ours whose Shopify id we have not stored yet. An orders/* payload carries
          // the order's tags: without our tag, or naming an order we do not have, it never becomes ours.
          const foreign = await foreignOrder(tx, event.topic, event.payload ?? {}, update);
          if (!foreign) return update.externalId;
          await repo.markWebhookProcessed(tx, webhookEventId, `not about an order of ours: ${foreign}`);
          return undefined;
        }
        await repo.markWebhookProcessed(tx, webhookEventId, update ? null : 'not about an order of ours');
        return undefined;
      });
      if (unmatched) {
        // Shopify can be faster than our own bookkeeping (the order id is stored after orderCreate answers):
        // throw so pg-boss retries with backoff, and dead-letters it if the order never turns up.
        await repo.markWebhookError(db, webhookEventId, `no fulfillment for ${unmatched} yet`);
        throw new Error(`no fulfillment for Shopify order ${unmatched} yet`);
      }
    },

    async reconcile(refund: RefundHook, options: { minAgeSeconds?: number; limit?: number }): Promise<number> {
      const open = await repo.openShopifyOrders(db, options.limit ?? 50, options.minAgeSeconds ?? 600);
      let changed = 0;
      for (const { externalId, orderId } of open) {
        try {
          const order = await shopify.findOrderByTag(orderTag(orderId));
          if (!order || order.id !== externalId) {
            await repo.touchExternal(db, externalId);
            continue;
          }
          const update = interpretOrder(order, orderId);
          await db.withTx(async (tx) => {
            await applyUpdate(tx, update, refund, false);
            await repo.touchExternal(tx, externalId);
          });
          changed++;
        } catch (error) {
          logger.warn({ err: error, externalId }, 'shopify reconciliation failed for an order; next round retries');
        }
      }
      return changed;
    },
  };
}
