// The wording of the history events this module writes for operators, and the same events told to a player.
// Both live here so that a change of wording cannot leave the player's view showing a mail server's or Shopify's
// own message, the operators' instructions, or which operator acted (those stay on GET /admin/fulfillments).

/** What a delivery or cancel retry waits, in whole seconds, as the events say it. */
const seconds = (delayMs: number) => Math.ceil(delayMs / 1000);

export const eventDetail = {
  /** A failed delivery attempt (delivery.ts); `retryInMs` unless it was the last. */
  attemptFailed: (attempt: number, message: string, retryInMs?: number) =>
    retryInMs === undefined ? `attempt ${attempt} failed: ${message}` : `attempt ${attempt} failed: ${message}; retrying in ${seconds(retryInMs)} s`,
  /** A failed cancel of a refunded parcel's Shopify order (shopify/cancel.ts); `retryInMs` unless it was the last. */
  cancelFailed: (attempt: number, message: string, retryInMs?: number) =>
    retryInMs === undefined
      ? `shopify cancel attempt ${attempt} failed for good: ${message} — the parcel may still ship; cancel the order in Shopify`
      : `shopify cancel attempt ${attempt} failed: ${message}; retrying in ${seconds(retryInMs)} s`,
  /** An operator's retry of a failed line, and of the lines reopened with it (fulfillment.service.ts). */
  retryRequested: (actor: string, withFulfillmentId?: string) =>
    withFulfillmentId === undefined ? `retry requested by ${actor}` : `retry requested by ${actor} (with ${withFulfillmentId}, same Shopify order)`,
};

const FAILED_ATTEMPT = /^attempt (\d+) failed: [\s\S]*?(?:; retrying in (\d+) s)?$/;
const FAILED_CANCEL = /^shopify cancel attempt (\d+) failed( for good)?:/;
const OPERATOR_RETRY = /^retry requested by \S+/;

/**
 * A dead-lettered line, in the player's words. Not "after every retry": some failures are final at once (no email on
 * the account, an address Shopify refuses).
 */
export const PLAYER_DELIVERY_ERROR = 'delivery failed; support can retry it or refund the order';

/** An event's detail as the buyer may read it (GET /user/purchases/:id). */
export function playerEventDetail(status: string, detail: string | null): string | null {
  if (status === 'failed') return PLAYER_DELIVERY_ERROR;
  if (detail === null) return null;
  const attempt = FAILED_ATTEMPT.exec(detail);
  if (attempt) return attempt[2] === undefined ? `delivery attempt ${attempt[1]} failed` : `delivery attempt ${attempt[1]} failed; retrying in ${attempt[2]} s`;
  const cancel = FAILED_CANCEL.exec(detail);
  if (cancel) return cancel[2] ? 'the parcel could not be stopped automatically; support will stop it' : `stopping the parcel: attempt ${cancel[1]} failed, retrying`;
  if (OPERATOR_RETRY.test(detail)) return 'retry requested by support';
  return detail;
}
