// Physical goods through Shopify. The purchase transaction records the intent (status pending + one job per
// order); the worker creates one Shopify order holding every Shopify line of our order, tagged
// `bb-order-<order id>`. orderCreate has no idempotency key, so before creating the worker always looks the order
// up by that tag: a response lost in a timeout or a crash never becomes a second parcel.
import type { Database } from '../../../platform/db.js';
import { DomainError } from '../../../platform/errors.js';
import * as repo from '../fulfillment.repository.js';
import type { ShippingAddress } from '../fulfillment.types.js';
import { toShopifyAddress } from '../shopify/address.js';
import { orderTag, type ShopifyClient } from '../shopify/client.js';
import { interpretOrder } from '../shopify/sync.js';
import { DeliveryError, type DeliveryHandler } from './types.js';
import { isSingleAddress } from './email.js';

/**
 * The Admin API takes variants by GID only. An operator may have stored the numeric id the Shopify admin shows (and
 * REST uses): it names exactly `gid://shopify/ProductVariant/<id>`. Anything else is sent as stored.
 */
export function variantGid(variantId: string): string {
  const id = variantId.trim();
  return /^\d+$/.test(id) ? `gid://shopify/ProductVariant/${id}` : id;
}

export function createShopifyHandler({ db, shopify }: { db: Database; shopify: () => ShopifyClient }): DeliveryHandler {
  return {
    type: 'shopify',
    initialStatus: 'pending',
    oneJobPerOrder: true,
    validate(order) {
      if (!order.shippingAddress) throw new DomainError('validation_failed', 'shippingAddress is required for items shipped as parcels');
    },
    describe: () => 'queued for Shopify',
    async startInTx() {
      // Nothing to do in the transaction: the job enqueued with it creates the Shopify order.
    },
    async deliver(fulfillment) {
      const order = await repo.shopifyOrderContext(db, fulfillment.orderId);
      if (!order) throw new DeliveryError('the order has no Shopify lines', { retryable: false });
      // Refunded after the lease was taken: no Shopify order for a line that was cancelled (nothing is recorded,
      // every write after a delivery is conditional on status pending).
      const notPending = () => new DeliveryError('the line is no longer pending (refunded): no Shopify order', { retryable: false });
      if (order.lines.find((line) => line.fulfillmentId === fulfillment.id)?.status !== 'pending') throw notPending();
      const waiting = order.lines.filter((line) => line.status === 'pending' && line.fulfillmentId !== fulfillment.id).map((line) => line.fulfillmentId);

      // An order id already known was linked by a tagged webhook while this line waited or lay failed (this is an
      // operator's retry): the webhooks that came meanwhile could not move a failed line and changed nothing, so
      // joining it blindly left a delivered parcel `processing` until reconciliation. It is looked up like any other.
      const known = order.lines.find((line) => line.externalId)?.externalId;
      const tag = orderTag(order.orderId);
      const existing = await shopify().findOrderByTag(tag);
      if (existing && (!known || existing.id === known)) {
        // Its webhooks may have come (and run out of retries) before we knew the order: take its state from here.
        const now = interpretOrder(existing, order.orderId);
        const observed = now.to === 'shipped' || now.to === 'delivered' ? { to: now.to, tracking: now.tracking, detail: `shopify ${now.detail.replace(/^reconciliation/, 'found by tag')}` } : undefined;
        const detail = known ? `joined Shopify order ${existing.name}` : `Shopify order ${existing.name} found by tag ${tag}`;
        return { status: 'processing', externalId: existing.id, detail, alsoCompletes: waiting, ...(observed ? { observed } : {}) };
      }
      if (known) return { status: 'processing', externalId: known, detail: `joined Shopify order ${known}`, alsoCompletes: waiting };

      if (!order.shippingAddress) throw new DeliveryError('the order has no shipping address', { retryable: false });
      const lines = order.lines.filter((line) => line.status === 'pending');
      const missingVariant = lines.find((line) => !line.variantId);
      if (missingVariant) throw new DeliveryError('an item has no Shopify variant id', { retryable: false });
      // The lookup took a round-trip to Shopify: a refund may have come meanwhile. Look again, just before creating.
      if ((await repo.statusOf(db, fulfillment.id))?.status !== 'pending') throw notPending();
      const created = await shopify().createOrder({
        lineItems: lines.map((line) => ({ variantId: variantGid(line.variantId!), quantity: line.quantity })),
        shippingAddress: toShopifyAddress(order.shippingAddress as unknown as ShippingAddress),
        // Only for Shopify's shipping mails; an address that is not one plain address would get the order refused.
        ...(order.email && isSingleAddress(order.email) ? { email: order.email } : {}),
        tags: [tag],
      });
      return { status: 'processing', externalId: created.id, detail: `Shopify order ${created.name} created`, alsoCompletes: waiting };
    },
  };
}
