import { Type } from '@sinclair/typebox';
import { Cursor, Fields, Limit, Nullable, Timestamp, Uuid } from '../../platform/http/schemas.js';
import { FULFILLMENT_STATUSES } from './fulfillment.status.js';

export const FulfillmentStatusSchema = Type.Union(FULFILLMENT_STATUSES.map((status) => Type.Literal(status)));

export const FulfillmentEvent = Type.Object({ status: Type.String(), at: Timestamp, detail: Nullable(Type.String()) }, { $id: 'FulfillmentEvent' });

const fulfillmentFields = {
  id: Uuid,
  orderId: Uuid,
  orderLineId: Uuid,
  userId: Uuid,
  itemId: Uuid,
  quantity: Type.Integer(),
  deliveryType: Type.String(),
  status: FulfillmentStatusSchema,
  attempts: Type.Integer({ description: 'delivery attempts since the last operator retry' }),
  error: Nullable(Type.String({ description: 'the last delivery error (the dead letter reason when failed)' })),
  lastError: Nullable(Type.String()),
  externalId: Nullable(Type.String({ description: 'Shopify order GID' })),
  tracking: Nullable(Type.Object({ number: Nullable(Type.String()), company: Nullable(Type.String()), url: Nullable(Type.String()) })),
  trackingNumber: Nullable(Type.String({ description: 'as in the order detail; null until shipped' })),
  trackingUrl: Nullable(Type.String()),
  trackingCompany: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
};

export const AdminFulfillment = Type.Object(fulfillmentFields, { $id: 'AdminFulfillment' });
export const ADMIN_FULFILLMENT_FIELDS = Object.keys(fulfillmentFields);
/** An item of the admin list: an AdminFulfillment, or with `fields=` only the named properties (`id` always). */
export const AdminFulfillmentListItem = Type.Object(
  { ...Type.Partial(Type.Object(fulfillmentFields)).properties, id: Uuid },
  { $id: 'AdminFulfillmentListItem', additionalProperties: false },
);
export const AdminFulfillmentDetail = Type.Object({ ...fulfillmentFields, events: Type.Array(Type.Ref(FulfillmentEvent)) }, { $id: 'AdminFulfillmentDetail' });

export const ListFulfillmentsQuery = Type.Object(
  { status: Type.Optional(FulfillmentStatusSchema), limit: Limit, cursor: Type.Optional(Cursor), fields: Type.Optional(Fields) },
  { additionalProperties: false },
);

export const VoucherUploadBody = Type.Object(
  { codes: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);

export const VoucherUploadResult = Type.Object({
  added: Type.Integer({ description: 'codes new to the pool' }),
  duplicates: Type.Integer({ description: 'codes skipped: repeated in the upload or already pooled' }),
  available: Type.Integer({ description: 'unclaimed codes in the pool after the upload' }),
});

const SHOPIFY_ID = '^[A-Za-z0-9._:-]{1,200}$';
/**
 * What the route needs of a webhook's headers, so the document says it: the signature (checked first, in
 * preValidation: missing or wrong → 401), the topic and the webhook id (missing or malformed → 400); the event id is
 * optional. The route checks topic and ids itself too (webhooks.routes.ts).
 */
export const ShopifyWebhookHeaders = Type.Object({
  'x-shopify-hmac-sha256': Type.String({ description: 'base64 HMAC-SHA256 of the raw body with SHOPIFY_WEBHOOK_SECRET (or, during a rotation, the previous secret); missing or wrong → 401' }),
  'x-shopify-topic': Type.String({ pattern: '^[a-z_]+/[a-z_]+$', description: 'e.g. fulfillments/create, orders/fulfilled' }),
  'x-shopify-webhook-id': Type.String({ pattern: SHOPIFY_ID, description: 'deduplicated: a redelivery answers 200 with duplicate: true' }),
  'x-shopify-event-id': Type.Optional(Type.String({ pattern: SHOPIFY_ID, description: 'also deduplicated, when sent' })),
});

/** The topic's payload as Shopify sends it (REST JSON of the order or fulfillment), signed over its raw bytes. */
export const ShopifyWebhookPayload = Type.Object({}, { additionalProperties: true, description: "The topic's payload (Shopify REST JSON), HMAC-signed over the raw bytes" });

export const WebhookAccepted = Type.Object({ received: Type.Boolean(), duplicate: Type.Boolean() });
