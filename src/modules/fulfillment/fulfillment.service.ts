// Fulfillment: what a player paid for arrives, or is visibly stuck with its error and a retry for operators.
// The purchase transaction calls createForOrderInTx (rows, history, in-transaction deliveries, jobs — one
// commit); workers deliver the rest (delivery.ts), Shopify reports back through webhooks (shopify/sync.ts).
import type { CoreDeps } from '../../context.js';
import { settleInOrder, type Tx } from '../../platform/db.js';
import { DomainError, notFound } from '../../platform/errors.js';
import { QUEUES, type JobInfo } from '../../platform/jobs.js';
import { decodeCursor, encodeCursor, pageOf } from '../../platform/http/pagination.js';
import { metrics } from '../../platform/metrics.js';
import type { CatalogService } from '../catalog/index.js';
import type { InventoryService } from '../inventory/index.js';
import type { WalletService } from '../wallet/index.js';
import type { UsersService } from '../users/index.js';
import * as repo from './fulfillment.repository.js';
import * as vouchers from './vouchers.repository.js';
import { FULFILLMENT_STATUSES, type FulfillmentStatus } from './fulfillment.status.js';
import type { CreatedFulfillment, OrderLineToFulfill, ShippingAddress } from './fulfillment.types.js';
import { registerHandlers } from './handlers/registry.js';
import type { DeliveryHandler, PlannedLine } from './handlers/types.js';
import { createInventoryHandler } from './handlers/inventory.js';
import { createFunctionalHandler } from './handlers/functional.js';
import { createEmailHandler } from './handlers/email.js';
import { createShopifyHandler } from './handlers/shopify.js';
import { createMailer, type Mailer } from './email/mailer.js';
import { createShopifyClient, orderTag, type ShopifyClient, type ShopifyEndpoint } from './shopify/client.js';
import { createDelivery } from './delivery.js';
import { createShopifySync, type RefundHook } from './shopify/sync.js';
import { createShopifyCancel, type ShopifyCancelJob } from './shopify/cancel.js';
import { eventDetail } from './event-details.js';
import { newRowId } from '../../platform/ids.js';

export type { FulfillmentStatus, ShippingAddress, OrderLineToFulfill, CreatedFulfillment };

/** Pending or processing with no change for this long counts as stale in metrics. */
export const STALE_AFTER_SECONDS = 30 * 60;

export function createFulfillmentService(
  deps: CoreDeps,
  services: { wallet: WalletService; inventory: InventoryService; catalog: CatalogService; users: UsersService },
) {
  const { db, jobs, config, logger } = deps;

  let mailer: Mailer | undefined;
  const getMailer = () => (mailer ??= createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, logger }));

  // With no SHOPIFY_ADMIN_URL the workers start the built-in simulator and point us at it (workers.ts).
  let shopifyEndpoint: ShopifyEndpoint | undefined = config.shopifyAdminUrl
    ? { baseUrl: config.shopifyAdminUrl, accessToken: config.shopifyAccessToken }
    : undefined;
  const shopify: ShopifyClient = createShopifyClient(() => {
    if (!shopifyEndpoint) throw new DomainError('service_unavailable', 'no Shopify endpoint: set SHOPIFY_ADMIN_URL or run the workers');
    return shopifyEndpoint;
  });

  const handlers = registerHandlers([
    createInventoryHandler(services),
    createFunctionalHandler(services),
    createEmailHandler({ db, users: services.users, catalog: services.catalog, mailer: getMailer, mailFrom: config.mailFrom }),
    createShopifyHandler({ db, shopify: () => shopify }),
  ]);

  const delivery = createDelivery({ db, jobs, logger, handlers, retryBaseMs: config.jobRetryBaseMs, maxAttempts: config.jobMaxAttempts });
  const sync = createShopifySync({ db, jobs, logger, shopify });
  const shopifyCancel = createShopifyCancel({ db, jobs, logger, shopify, retryBaseMs: config.jobRetryBaseMs, maxAttempts: config.jobMaxAttempts });

  function group(lines: PlannedLine[]): Map<DeliveryHandler, PlannedLine[]> {
    const byHandler = new Map<DeliveryHandler, PlannedLine[]>();
    for (const line of lines) {
      const handler = handlers[line.item.deliveryType];
      if (!handler) throw new DomainError('not_available', `unknown delivery type ${line.item.deliveryType}`);
      byHandler.set(handler, [...(byHandler.get(handler) ?? []), line]);
    }
    return byHandler;
  }

  return {
    /**
     * Inside the purchase transaction: one fulfillment per line, delivered through the line's handler —
     * inventory (granted now, via inventory.grantItemsInTx), functional (effect applied now), email (a voucher
     * code claimed now with SKIP LOCKED, DomainError('out_of_stock') when the pool is empty; mail sent by a
     * job), shopify (job enqueued). Returns each line's fulfillment id and status.
     * The caller invalidates the user's inventory cache after commit (inventory.invalidateUser).
     */
    async createForOrderInTx(
      tx: Tx,
      order: { orderId: string; userId: string; lines: OrderLineToFulfill[]; shippingAddress: ShippingAddress | null },
    ): Promise<CreatedFulfillment[]> {
      const planned: PlannedLine[] = order.lines.map((line) => ({ ...line, fulfillmentId: newRowId() }));
      const byHandler = group(planned);
      for (const [handler, lines] of byHandler) handler.validate?.(order, lines);

      const statusOf = (line: PlannedLine) => handlers[line.item.deliveryType].initialStatus;
      // The rows and their first events, sent without waiting for the answer: the handlers' first statement
      // travels with it (pipelined). PostgreSQL runs them in the order sent, so voucher codes can reference the rows.
      const inserted = repo.insertFulfillments(tx, order, planned.map((line) => ({
        id: line.fulfillmentId,
        orderLineId: line.orderLineId,
        deliveryType: line.item.deliveryType,
        status: statusOf(line),
        detail: handlers[line.item.deliveryType].describe(line),
      })));
      const delivered = (async () => {
        const jobsToSend: Array<{ fulfillmentId: string }> = [];
        // One handler after the other, so locks are taken in the same order on every purchase.
        for (const [handler, lines] of byHandler) {
          await handler.startInTx(tx, order, lines);
          if (handler.initialStatus === 'pending') {
            // One parcel per order: its first line's job delivers every line of that type.
            const enqueued = handler.oneJobPerOrder ? lines.slice(0, 1) : lines;
            jobsToSend.push(...enqueued.map((line) => ({ fulfillmentId: line.fulfillmentId })));
          }
        }
        // In the purchase's own transaction: the jobs exist exactly when the purchase does.
        await jobs.sendMany(tx, QUEUES.fulfillmentDeliver, jobsToSend);
      })();
      // The rows' error (if any) first: it is the earlier step, and it fails every statement sent behind it.
      await settleInOrder([inserted, delivered]);

      return planned.map((line) => ({ orderLineId: line.orderLineId, fulfillmentId: line.fulfillmentId, deliveryType: line.item.deliveryType, status: statusOf(line) }));
    },

    /**
     * Refund: cancels every fulfillment of the order that is not delivered/shipped yet (failed ones too); returns
     * their ids. When a cancelled Shopify line may have an order in Shopify (its id is known, or a delivery attempt
     * started: the orderCreate answer may have been lost or still be on its way), one `shopify-cancel` job for the
     * order goes into the same transaction, so Shopify hears of it exactly when the refund commits. A line never
     * attempted has no Shopify order, and its delivery job finds it cancelled and creates none.
     */
    /** A refund's first lock: every line of the order, in id order (see repo.lockOrderFulfillments). */
    async lockOrderInTx(tx: Tx, orderId: string): Promise<void> {
      await repo.lockOrderFulfillments(tx, { orderId });
    },

    async cancelOpenForOrderInTx(tx: Tx, orderId: string, detail: string): Promise<string[]> {
      const cancelled = await repo.cancelOpen(tx, orderId);
      await repo.insertEvents(tx, cancelled.map((f) => ({ fulfillmentId: f.id, status: 'cancelled' as const, detail })));
      // Claimed voucher codes stay with the cancelled line, never back in the pool: the buyer could read them on
      // the order (GET /user/purchases/:id) from the purchase on, mailed or not, so the next buyer could get a used one.
      const inShopify = cancelled.filter((f) => f.deliveryType === 'shopify' && (f.externalId || f.deliveryStarted));
      if (inShopify.length > 0) {
        // An attempt still holding its lease may create the order after this commits: cancel once it is over
        // (the delivery also asks for a cancel itself when its orderCreate lands on a cancelled line).
        const leaseEnds = inShopify.map((f) => f.leaseLiveUntil?.getTime() ?? 0);
        const startAfter = Math.max(...leaseEnds) > Date.now() ? new Date(Math.max(...leaseEnds)) : undefined;
        const job: ShopifyCancelJob = { orderId, externalId: inShopify.find((f) => f.externalId)?.externalId ?? null };
        await jobs.send(tx, QUEUES.shopifyCancel, job, startAfter ? { startAfter } : {});
      }
      return cancelled.map((f) => f.id);
    },

    // ───────────── workers ─────────────

    /** One delivery attempt of a pending fulfillment (the fulfillment-deliver job). Safe to run twice. */
    deliver: delivery.deliver,
    /** A delivery job pg-boss gave up on (its dead letter): queued again within the line's attempts, else failed. */
    deliveryGaveUp: delivery.gaveUp,

    /** The shopify-cancel job: cancels the Shopify order of a refunded order (idempotent, retried with backoff). */
    cancelShopifyOrder: (data: ShopifyCancelJob, job?: JobInfo) => shopifyCancel.cancel(data, job),
    /** A shopify-cancel job pg-boss gave up on (its dead letter): tried again within the attempts, else kept as an error. */
    shopifyCancelGaveUp: (data: ShopifyCancelJob) => shopifyCancel.gaveUp(data),

    /** Stores a verified Shopify webhook once and queues its processing; false when it was a duplicate. */
    recordShopifyWebhook: sync.recordWebhook,
    /** The shopify-webhook job. `refund` comes from the purchases module (built after this one). */
    processShopifyWebhook: (webhookEventId: string, refund: RefundHook) => sync.processWebhook(webhookEventId, refund),
    /** Asks Shopify about open orders whose webhooks may have been lost. */
    reconcileShopify: (refund: RefundHook, options: { minAgeSeconds?: number; limit?: number } = {}) => sync.reconcile(refund, options),

    useShopifyEndpoint(endpoint: ShopifyEndpoint): void {
      shopifyEndpoint = endpoint;
    },
    hasShopifyEndpoint: () => shopifyEndpoint !== undefined,
    /** The Shopify orders still on their way, as a built-in simulator started anew must know them (src/workers.ts). */
    async shopifyOrdersInTransit(): Promise<Array<{ id: string; tag: string; tracking: { number: string; company: string | null; url: string | null } | null }>> {
      const rows = await repo.shopifyOrdersInTransit(db);
      return rows.map((row) => ({
        id: row.externalId,
        tag: orderTag(row.orderId),
        tracking: row.trackingNumber ? { number: row.trackingNumber, company: row.trackingCompany, url: row.trackingUrl } : null,
      }));
    },
    closeMailer(): void {
      mailer?.close();
      mailer = undefined;
    },

    async sampleMetrics(): Promise<void> {
      const counts = await repo.countByStatus(db);
      for (const status of FULFILLMENT_STATUSES) metrics.fulfillmentsByStatus.set({ status }, counts.find((c) => c.status === status)?.n ?? 0);
      metrics.staleFulfillments.set(await repo.countStale(db, STALE_AFTER_SECONDS));
    },

    // ───────────── operators ─────────────

    async list(query: { status?: FulfillmentStatus; cursor?: string; limit: number }) {
      // Only the exact cursor a page handed out: Node's lenient base64 read a tampered one (a stray character, padding) as it.
      const after = decodeCursor('fulfillments', query.cursor, ['timestamp', 'uuid']) as [string, string] | undefined;
      const rows = await repo.listFulfillments(db, { status: query.status, after: after && { createdAt: after[0], id: after[1] }, limit: query.limit + 1 });
      const { rows: page, last } = pageOf(rows, query.limit);
      return { items: page.map(present), nextCursor: last ? encodeCursor('fulfillments', [last.cursorAt, last.id]) : null };
    },

    async get(id: string) {
      const row = await repo.findFulfillment(db, id);
      if (!row) throw notFound('fulfillment');
      const events = await repo.eventsOf(db, [id]);
      return { ...present(row), events: events.map(({ status, detail, at }) => ({ status, detail, at })) };
    },

    /**
     * Operator retry: failed → pending with a fresh attempt budget, and a new job in the same transaction. Lines
     * that leave together (one Shopify order) failed together and are retried together, by one job.
     */
    async retry(id: string, actor: string) {
      await db.withTx(async (tx) => {
        const current = await repo.statusOf(tx, id);
        if (!current) throw notFound('fulfillment');
        const reopened = await repo.reopenFailed(tx, id, handlers[current.deliveryType]?.oneJobPerOrder === true);
        if (reopened.length === 0) {
          const now = (await repo.statusOf(tx, id))?.status ?? current.status;
          throw new DomainError('invalid_state', `only a failed fulfillment can be retried; this one is ${now}`, { currentStatus: now });
        }
        await repo.insertEvents(tx, reopened.map((fulfillmentId) => ({
          fulfillmentId,
          status: 'pending' as const,
          detail: eventDetail.retryRequested(actor, fulfillmentId === id ? undefined : id),
        })));
        await jobs.send(tx, QUEUES.fulfillmentDeliver, { fulfillmentId: id });
      });
      return this.get(id);
    },

    /** Adds codes to an email item's pool; duplicates (in the upload or already pooled) are counted and skipped. */
    async addVoucherCodes(itemId: string, codes: readonly string[]): Promise<{ added: number; duplicates: number; available: number }> {
      const cleaned = codes.map((code) => code.trim());
      if (cleaned.some((code) => code.length === 0 || code.length > 200)) throw new DomainError('validation_failed', 'codes must be 1-200 characters after trimming');
      // A lone surrogate cannot be stored as UTF-8 (PostgreSQL would keep U+FFFD: another code than the one uploaded,
      // mailed to a buyer who could never redeem it); a control character inside a code breaks the mail's lines.
      if (cleaned.some((code) => /[\p{Cc}\p{Cs}]/u.test(code))) throw new DomainError('validation_failed', 'codes must not contain control characters or lone surrogates');
      // One transaction: the item's read locks it (FOR KEY SHARE), so an operator's DELETE of the item waits for the
      // upload, or the upload for the DELETE and then answers 404 — never a foreign-key failure (500) in between.
      const result = await db.withTx(async (tx) => {
        const [item] = await services.catalog.getItemsInTx(tx, [itemId]);
        if (!item) throw notFound('item');
        if (item.deliveryType !== 'email') throw new DomainError('invalid_state', 'voucher codes belong to items delivered by email', { deliveryType: item.deliveryType });
        const added = await vouchers.addCodes(tx, itemId, cleaned);
        return { added, duplicates: cleaned.length - added, available: await vouchers.countFree(tx, itemId) };
      });
      // A voucher listing's stock is its pool of free codes: the storefront must show the new codes now.
      if (result.added > 0) await services.catalog.invalidateStorefront();
      return result;
    },

    /** Codes mailed for a fulfillment: only for its owner's purchase view. */
    voucherCodesOf: (fulfillmentId: string) => vouchers.codesOf(db, fulfillmentId),
  };
}

function present(row: repo.FulfillmentRow) {
  return {
    id: row.id,
    orderId: row.orderId,
    orderLineId: row.orderLineId,
    userId: row.userId,
    itemId: row.itemId,
    quantity: row.quantity,
    deliveryType: row.deliveryType,
    status: row.status,
    attempts: row.attempts,
    error: row.lastError,
    lastError: row.lastError,
    externalId: row.externalId,
    tracking: row.trackingNumber || row.trackingUrl ? { number: row.trackingNumber, company: row.trackingCompany, url: row.trackingUrl } : null,
    // The same names as the fulfillment of a player's order detail (GET /user/purchases/:id).
    trackingNumber: row.trackingNumber,
    trackingUrl: row.trackingUrl,
    trackingCompany: row.trackingCompany,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export type FulfillmentService = ReturnType<typeof createFulfillmentService>;
export type FulfillmentView = ReturnType<typeof present>;
