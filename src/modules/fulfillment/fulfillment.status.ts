// The fulfillment state machine. Status only moves forward, so webhooks that arrive late or twice never undo
// progress; failed and cancelled are terminal except for an operator's retry (failed → pending).
//
//   pending → processing → shipped → delivered
//      ↘──────────↘───────────↘→ failed | cancelled
export type FulfillmentStatus = 'pending' | 'processing' | 'shipped' | 'delivered' | 'failed' | 'cancelled';

export const FULFILLMENT_STATUSES: readonly FulfillmentStatus[] = ['pending', 'processing', 'shipped', 'delivered', 'failed', 'cancelled'];

const RANK: Record<FulfillmentStatus, number> = { pending: 0, processing: 1, shipped: 2, delivered: 3, failed: 99, cancelled: 99 };

/** Statuses from which `to` is a step forward: the `WHERE status = ANY(…)` of every conditional UPDATE. */
export function statusesBefore(to: FulfillmentStatus): FulfillmentStatus[] {
  if (to === 'failed' || to === 'cancelled') return ['pending', 'processing', 'shipped'];
  return FULFILLMENT_STATUSES.filter((status) => RANK[status] < RANK[to]);
}

export function isForward(from: FulfillmentStatus, to: FulfillmentStatus): boolean {
  return statusesBefore(to).includes(from);
}

/** Still waiting for something outside (a job, Shopify, a carrier). */
export const OPEN_STATUSES: readonly FulfillmentStatus[] = ['pending', 'processing', 'shipped'];
