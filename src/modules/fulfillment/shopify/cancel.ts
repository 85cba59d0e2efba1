// Us → Shopify after a refund: the `shopify-cancel` job, enqueued in the refund's transaction (so it exists iff
// the refund commits) for every order whose Shopify lines were cancelled while Shopify may hold an order for them.
// It cancels that Shopify order — no Shopify refund (the gems went back through our ledger), restock, no mail —
// so the parcel does not ship. Idempotent: an order already cancelled is success; an id Shopify does not know is
// looked up by our tag (the orderCreate answer may have been lost) and no order at all means nothing to cancel.
// Network trouble, 429 and 5xx are retried with the delivery backoff (Retry-After honoured); after
// JOB_MAX_ATTEMPTS, or at once for an error retrying cannot fix, the failure stays on the cancelled lines
// (`error`, a history event) and in the error log, for an operator to cancel the order in Shopify by hand.
import type { Logger } from 'pino';
import type { Database } from '../../../platform/db.js';
import { QUEUES, type JobInfo, type Jobs } from '../../../platform/jobs.js';
import * as repo from '../fulfillment.repository.js';
import { judgeFailure } from '../delivery.js';
import { DeliveryError } from '../handlers/types.js';
import { orderTag, type OrderCancelUserError, type ShopifyClient } from './client.js';
import { eventDetail } from '../event-details.js';

export interface ShopifyCancelJob {
  orderId: string;
  /** The Shopify order GID when we know it; null when only its tag can find it (orderCreate was in flight). */
  externalId: string | null;
  /** 1 on the first run; the retries this module schedules count up. */
  attempt?: number;
}

type Outcome = { done: 'cancelled' | 'already_cancelled'; order: { id: string; name?: string } } | { done: 'none' };

const describeErrors = (errors: readonly OrderCancelUserError[]) =>
  errors.map((e) => `${e.code ? `${e.code}: ` : ''}${e.field?.length ? `${e.field.join('.')}: ` : ''}${e.message}`).join('; ');

export function createShopifyCancel(deps: { db: Database; jobs: Jobs; logger: Logger; shopify: ShopifyClient; retryBaseMs: number; maxAttempts: number }) {
  const { db, jobs, logger, shopify } = deps;

  /** One try: look up when needed, cancel, judge the answer. Throws DeliveryError (retryable or not). */
  async function attempt(job: ShopifyCancelJob): Promise<Outcome> {
    const tag = orderTag(job.orderId);
    let target: { id: string; name?: string } | undefined = job.externalId ? { id: job.externalId } : undefined;
    let lookedUp = false;
    const lookUp = async () => {
      lookedUp = true;
      return shopify.findOrderByTag(tag);
    };
    if (!target) {
      const found = await lookUp();
      if (!found) return { done: 'none' };
      if (found.cancelledAt) return { done: 'already_cancelled', order: found };
      target = found;
    }
    for (;;) {
      const { userErrors } = await shopify.cancelOrder(target.id);
      if (userErrors.length === 0) return { done: 'cancelled', order: target };
      const refused = new DeliveryError(`Shopify refused to cancel order ${target.id}: ${describeErrors(userErrors)}`, { retryable: false });
      // Not a success: what does Shopify hold under our tag? Cancelled already → done; none → nothing to cancel;
      // another id (our stored one was wrong or stale) → cancel that one, once.
      if (lookedUp) {
        const again = await shopify.findOrderByTag(tag);
        if (again?.cancelledAt) return { done: 'already_cancelled', order: again };
        throw refused;
      }
      const found = await lookUp();
      if (!found) {
        if (userErrors.some((e) => e.code === 'NOT_FOUND')) return { done: 'none' };
        throw refused;
      }
      if (found.cancelledAt) return { done: 'already_cancelled', order: found };
      if (found.id === target.id) throw refused;
      target = found;
    }
  }

  async function cancel(job: ShopifyCancelJob, info?: JobInfo): Promise<void> {
    const attemptNo = job.attempt ?? 1;
    const lines = await repo.cancelledShopifyLines(db, job.orderId);
    try {
      const outcome = await attempt(job);
      const detail = outcome.done === 'none'
        ? `no Shopify order tagged ${orderTag(job.orderId)}: nothing to cancel`
        : `shopify order ${outcome.order.name ?? outcome.order.id} ${outcome.done === 'cancelled' ? 'cancelled' : 'was already cancelled'}`;
      await db.withTx(async (tx) => {
        await repo.noteShopifyCancel(tx, lines, outcome.done === 'none' ? {} : { externalId: outcome.order.id });
        await repo.insertEvents(tx, lines.map((fulfillmentId) => ({ fulfillmentId, status: 'cancelled' as const, detail })));
      });
      logger.info({ orderId: job.orderId, outcome: outcome.done, jobId: info?.id }, detail);
    } catch (error) {
      const { terminal, message, delayMs: delay } = judgeFailure(error, attemptNo, deps);
      const detail = eventDetail.cancelFailed(attemptNo, message, terminal ? undefined : delay);
      if (terminal) logger.error({ err: error, orderId: job.orderId, attempt: attemptNo }, 'Shopify order cancellation failed for good: an operator must cancel it in Shopify');
      else logger.warn({ err: error, orderId: job.orderId, attempt: attemptNo }, 'Shopify order cancellation failed; retry scheduled');
      await db.withTx(async (tx) => {
        if (terminal) await repo.noteShopifyCancel(tx, lines, { error: `Shopify order cancel failed: ${message}` });
        await repo.insertEvents(tx, lines.map((fulfillmentId) => ({ fulfillmentId, status: 'cancelled' as const, detail })));
        if (!terminal) await jobs.send(tx, QUEUES.shopifyCancel, { ...job, attempt: attemptNo + 1 }, { startAfter: new Date(Date.now() + delay) });
      });
    }
  }

  /**
   * The dead letter of a shopify-cancel job (queue shopify-cancel-dead): pg-boss gave up on it because every run
   * stopped without an outcome (its worker killed or stopped mid-call, or an error outside the call). Nothing else
   * would ever cancel the Shopify order: the parcel shipped for a refunded order, and nothing told an operator. Within
   * JOB_MAX_ATTEMPTS (counted in the job's data) the next attempt is queued; past it, the failure is kept on the
   * cancelled lines and logged, as for a cancellation that failed for good. Cancelling twice is harmless (idempotent).
   */
  async function gaveUp(job: ShopifyCancelJob): Promise<void> {
    const attemptNo = job.attempt ?? 1;
    const terminal = attemptNo >= deps.maxAttempts;
    const message = 'the cancellation job stopped without an outcome on every run (its worker was killed or stopped mid-call, or lost the database)';
    const lines = await repo.cancelledShopifyLines(db, job.orderId);
    if (terminal) logger.error({ orderId: job.orderId, attempt: attemptNo }, 'Shopify order cancellation dead-lettered: an operator must cancel it in Shopify');
    else logger.warn({ orderId: job.orderId, attempt: attemptNo }, 'Shopify order cancellation dead-lettered; queued again');
    await db.withTx(async (tx) => {
      if (terminal) await repo.noteShopifyCancel(tx, lines, { error: `Shopify order cancel failed: ${message}` });
      const detail = eventDetail.cancelFailed(attemptNo, message, terminal ? undefined : 0);
      await repo.insertEvents(tx, lines.map((fulfillmentId) => ({ fulfillmentId, status: 'cancelled' as const, detail })));
      if (!terminal) await jobs.send(tx, QUEUES.shopifyCancel, { ...job, attempt: attemptNo + 1 });
    });
  }

  return { cancel, gaveUp };
}
