// One delivery attempt, as the fulfillment-deliver job runs it:
// 1. lease the fulfillment and count the attempt (committed before any outside call);
// 2. call the handler (SMTP, Shopify) outside any transaction;
// 3. record the outcome: moved forward, or the error with a retry job scheduled in the same transaction
//    (exponential backoff from JOB_RETRY_BASE_MS, at least Retry-After), or — after JOB_MAX_ATTEMPTS or an
//    error that retrying cannot fix — `failed` with the error: the dead letter operators see and retry.
// Running it twice delivers once: the lease admits one run at a time and every step is conditional on
// `status = 'pending'`.
import type { Logger } from 'pino';
import type { Database } from '../../platform/db.js';
import { QUEUES, type JobInfo, type Jobs } from '../../platform/jobs.js';
import * as repo from './fulfillment.repository.js';
import { statusesBefore } from './fulfillment.status.js';
import type { DeliveryHandlers } from './handlers/registry.js';
import { DeliveryError } from './handlers/types.js';
import { eventDetail } from './event-details.js';

/** Longer than any outside call's timeout, so a lease only lapses when its holder is gone. */
export const LEASE_SECONDS = 120;
const MAX_BACKOFF_MS = 60 * 60_000;

function backoffMs(attempt: number, baseMs: number, retryAfterMs?: number): number {
  const exponential = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exponential * (1 + Math.random() * 0.2); // spread a burst of failures apart
  // Retry-After is honoured up to the cap: a huge one (a broken proxy) would park a paid line for days, pending.
  return Math.min(MAX_BACKOFF_MS, Math.max(retryAfterMs ?? 0, Math.round(jittered)));
}

/**
 * What a failed attempt means: retried later (after the backoff, or Shopify's Retry-After) unless the error says
 * retrying cannot help or this was the last attempt allowed. Shared by deliveries and Shopify cancellations.
 */
export function judgeFailure(error: unknown, attempt: number, policy: { maxAttempts: number; retryBaseMs: number }): { terminal: boolean; message: string; delayMs: number } {
  const retryable = !(error instanceof DeliveryError) || error.options.retryable;
  const terminal = !retryable || attempt >= policy.maxAttempts;
  const message = error instanceof Error ? error.message : String(error);
  const delayMs = terminal ? 0 : backoffMs(attempt, policy.retryBaseMs, error instanceof DeliveryError ? error.options.retryAfterMs : undefined);
  return { terminal, message, delayMs };
}

export function createDelivery(deps: { db: Database; jobs: Jobs; logger: Logger; handlers: DeliveryHandlers; retryBaseMs: number; maxAttempts: number }) {
  const { db, jobs, logger, handlers } = deps;

  async function deliver(fulfillmentId: string, job: JobInfo): Promise<void> {
    const current = await repo.statusOf(db, fulfillmentId);
    if (!current || current.status !== 'pending') return; // delivered, cancelled or failed already: nothing to do
    const handler = handlers[current.deliveryType];
    const leased = await repo.lease(db, fulfillmentId, job.id, LEASE_SECONDS);
    if (!leased) return; // another run holds a live lease; it finishes or schedules the retry

    try {
      if (!handler.deliver) throw new DeliveryError(`${handler.type} lines are delivered in the purchase transaction`, { retryable: false });
      const outcome = await handler.deliver(leased);
      await db.withTx(async (tx) => {
        const moved = await repo.markDelivered(tx, [leased.id, ...(outcome.alsoCompletes ?? [])], outcome.status, outcome.externalId ?? null);
        // Not moved: a refund cancelled the line while this attempt was delivering it.
        const cancelledMeanwhile = !moved.includes(leased.id) && (await repo.statusOf(tx, leased.id))?.status === 'cancelled';
        if (cancelledMeanwhile && outcome.externalId && current.deliveryType === 'shopify') {
          // Refunded while this attempt was creating the order: the order exists now, and must not ship.
          logger.warn({ fulfillmentId, externalId: outcome.externalId }, 'Shopify order created for a line refunded meanwhile; cancelling it');
          await jobs.send(tx, QUEUES.shopifyCancel, { orderId: leased.orderId, externalId: outcome.externalId });
        }
        await repo.insertEvents(tx, moved.map((id) => ({ fulfillmentId: id, status: outcome.status, detail: outcome.detail })));
        if (cancelledMeanwhile && current.deliveryType === 'email') {
          // Refunded while the mail was on its way: the line stays cancelled (status only moves forward), but the
          // operator must see that the codes went out anyway, not a history that says nothing was sent.
          logger.warn({ fulfillmentId }, 'voucher mail sent for a line refunded meanwhile');
          await repo.insertEvents(tx, [{ fulfillmentId: leased.id, status: 'cancelled', detail: `${outcome.detail}, after the refund cancelled this line: the code(s) went out` }]);
        }
        if (outcome.observed && outcome.externalId && moved.length > 0) {
          const { to, tracking, detail } = outcome.observed;
          const advanced = await repo.advanceByExternalId(tx, outcome.externalId, to, statusesBefore(to), tracking);
          await repo.insertEvents(tx, advanced.filter((row) => row.moved).map((row) => ({ fulfillmentId: row.id, status: row.status, detail })));
        }
      });
    } catch (error) {
      const { terminal, message, delayMs: delay } = judgeFailure(error, leased.attempts, deps);
      logger.warn({ err: error, fulfillmentId, attempt: leased.attempts, terminal }, terminal ? 'delivery failed for good' : 'delivery failed; retry scheduled');
      await db.withTx(async (tx) => {
        // Lines that travel together (one Shopify order) fail together: nothing else would ever deliver them.
        const siblings = terminal && handler.oneJobPerOrder ? await repo.pendingSiblings(tx, leased.orderId, leased.id, current.deliveryType) : [];
        const touched = await repo.recordFailure(tx, [leased.id, ...siblings], message, terminal);
        const detail = eventDetail.attemptFailed(leased.attempts, message, terminal ? undefined : delay);
        await repo.insertEvents(tx, touched.map((id) => ({ fulfillmentId: id, status: terminal ? 'failed' as const : 'pending' as const, detail })));
        if (!terminal && touched.length > 0) {
          await jobs.send(tx, QUEUES.fulfillmentDeliver, { fulfillmentId }, { startAfter: new Date(Date.now() + delay) });
        }
      });
    }
  }

  /**
   * The dead letter of a delivery job (queue fulfillment-deliver-dead): pg-boss gave up on it because every run stopped
   * without an outcome — its worker killed (kill -9, the OOM killer) or stopped past its grace period mid-delivery, or
   * an error outside the delivery (the database gone). Nothing else would ever touch the line again: it stayed
   * `pending` for ever, absent from ?status=failed, and an operator's retry answered 409. Within the line's attempt
   * budget (leases count the attempts a crash interrupted too) a fresh job is queued; past it, the line is failed
   * with the error, as any dead letter, for an operator to retry. A lease still held by a job that may run (another
   * job of the line) is left alone: that job settles the line, or comes here itself.
   */
  async function gaveUp(fulfillmentId: string): Promise<void> {
    await db.withTx(async (tx) => {
      const line = await repo.lockForGiveUp(tx, fulfillmentId);
      if (!line || line.status !== 'pending') return;
      if (line.liveLeaseOwner && (await jobs.isLive(tx, QUEUES.fulfillmentDeliver, line.liveLeaseOwner))) return;
      const message = 'the delivery job stopped without an outcome on every run (its worker was killed or stopped mid-delivery, or lost the database)';
      const terminal = line.attempts >= deps.maxAttempts;
      logger.warn({ fulfillmentId, attempts: line.attempts, terminal }, terminal ? 'delivery job dead-lettered: line failed' : 'delivery job dead-lettered: queued again');
      const siblings = terminal && handlers[line.deliveryType]?.oneJobPerOrder ? await repo.pendingSiblings(tx, line.orderId, fulfillmentId, line.deliveryType) : [];
      const touched = await repo.recordFailure(tx, [fulfillmentId, ...siblings], message, terminal);
      if (terminal || line.attempts > 0) {
        const detail = eventDetail.attemptFailed(line.attempts, message, terminal ? undefined : 0);
        await repo.insertEvents(tx, touched.map((id) => ({ fulfillmentId: id, status: terminal ? 'failed' as const : 'pending' as const, detail })));
      }
      if (!terminal) await jobs.send(tx, QUEUES.fulfillmentDeliver, { fulfillmentId });
    });
  }

  return { deliver, gaveUp };
}
