import { Type } from '@sinclair/typebox';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { DomainError } from '../../platform/errors.js';
import { metrics } from '../../platform/metrics.js';
import { IdParams, IdempotencyHeaders, NoQuery, Page, errorResponses } from '../../platform/http/schemas.js';
import { principalOf } from '../../platform/http/auth-hooks.js';
import { idempotencyKeyOf, replyIdempotent } from '../../platform/http/idempotent-reply.js';
import {
  ADMIN_ORDER_FIELDS, AdminOrder, AdminOrdersQuery, ORDER_FIELDS, Order, OrderDetail, OrdersQuery, Purchase, PurchaseBody, RefundBody, RefundedOrder, ShippingAddressSchema, presentAddressLines,
} from './purchases.schemas.js';
import { applyFields, sparseItem } from '../list-fields.js';

// API.md: this route requires the key (missing → 400), so the document says so; the handler checks it too.

const DEFAULT_REFUND_REASON = 'refunded by an operator';

export async function purchasesRoutes(app: App, { services, authenticate, db }: RouteContext): Promise<void> {
  const { purchases, inventory, catalog } = services;
  for (const schema of [ShippingAddressSchema, Purchase, Order, OrderDetail, AdminOrder, RefundedOrder]) app.addSchema(schema);
  // onRequest: the role is checked before the body is parsed or validated, so a stranger gets 401/403, never 400.
  const player = { onRequest: authenticate('player') };
  const admin = { onRequest: authenticate('admin') };

  app.post('/store/purchases', {
    ...player,
    schema: {
      tags: ['purchases'],
      summary: 'Buy a listing with gems, in one transaction (Idempotency-Key required)',
      headers: IdempotencyHeaders,
      querystring: NoQuery,
      body: PurchaseBody,
      response: { 201: Type.Ref(Purchase), ...errorResponses(400, 401, 403, 404, 409, 422) },
    },
  }, async (request, reply) => {
    const { userId } = principalOf(request);
    const { shippingAddress, ...body } = request.body;
    let outcome = 'error';
    const effects = { storefrontChanged: false };
    try {
      // The purchase as it is understood: optional address lines sent as null are absent, ids are case-blind. A retry
      // that asks for the same purchase in other words is the same request for its Idempotency-Key (docs/purchases.md).
      const asked = { ...body, listingId: body.listingId.toLowerCase(), ...(shippingAddress ? { shippingAddress: presentAddressLines(shippingAddress) } : {}) };
      const purchase = { userId, ...asked, idempotencyKey: idempotencyKeyOf(request) };
      const sent = await replyIdempotent(db, request, reply, purchases.purchaseWork(purchase, effects), {
        fingerprintBody: asked,
        // After the commit and before the 201 leaves: the buyer's next read cannot meet the pre-purchase cache,
        // and nobody's next storefront read shows the stock from before it (both go out in one Redis batch).
        afterCommit: async (response) => {
          outcome = response.status === 201 ? 'created' : String((response.body as { code?: string }).code ?? response.status);
          if (response.status !== 201) return;
          // A replay cannot tell whether its listing counts stock: it drops the storefront's pages either way.
          await Promise.all([inventory.invalidateUser(userId), effects.storefrontChanged || response.replayed ? catalog.invalidateStorefront() : undefined]);
        },
      });
      if (reply.getHeader('idempotent-replayed') === 'true') outcome = 'replayed';
      return sent;
    } catch (error) {
      if (error instanceof DomainError) outcome = error.code;
      throw error;
    } finally {
      metrics.purchases.inc({ outcome });
    }
  });

  app.get('/user/purchases', {
    ...player,
    schema: { tags: ['purchases'], summary: "The caller's orders, newest first (fields= keeps only the named properties and id)", querystring: OrdersQuery, response: { 200: Page(sparseItem(Order)), ...errorResponses(400, 401, 403) } },
  }, async (request) => {
    const { fields, ...query } = request.query;
    return applyFields(await purchases.listForUser(principalOf(request).userId, query), fields, ORDER_FIELDS);
  });

  app.get('/user/purchases/:id', {
    ...player,
    schema: {
      tags: ['purchases'],
      summary: "One of the caller's orders with its fulfillment history, tracking and voucher codes",
      querystring: NoQuery,
      params: IdParams,
      response: { 200: Type.Ref(OrderDetail), ...errorResponses(400, 401, 403, 404) },
    },
  }, async (request) => purchases.getForUser(principalOf(request).userId, request.params.id));

  app.get('/admin/orders', {
    ...admin,
    schema: { tags: ['admin', 'purchases'], summary: 'Orders, newest first, by status (fields= keeps only the named properties and id)', querystring: AdminOrdersQuery, response: { 200: Page(sparseItem(AdminOrder)), ...errorResponses(400, 401, 403) } },
  }, async (request) => {
    const { fields, ...query } = request.query;
    return applyFields(await purchases.listAll(query), fields, ADMIN_ORDER_FIELDS);
  });

  app.post('/admin/orders/:id/refund', {
    ...admin,
    // The body is optional: a bare POST is a refund with the default reason.
    preValidation: async (request) => {
      if (request.body === undefined || request.body === null) request.body = {};
    },
    schema: {
      tags: ['admin', 'purchases'],
      summary: 'Refund an order: gems back, items revoked, undelivered fulfillment cancelled, stock restored',
      'x-body-optional': true,
      headers: IdempotencyHeaders,
      querystring: NoQuery,
      params: IdParams,
      body: RefundBody,
      response: { 200: Type.Ref(RefundedOrder), ...errorResponses(400, 401, 403, 404, 409, 422) },
    },
  }, async (request, reply) => {
    const actor = `admin:${principalOf(request).userId}`;
    // The refund as it is understood: a bare POST is the default reason, so a retry spelling it out is the same refund.
    const reason = request.body?.reason ?? DEFAULT_REFUND_REASON;
    return replyIdempotent(db, request, reply, async (tx) => ({
      status: 200,
      body: await purchases.refundInTx(tx, request.params.id, { reason, actor }),
    }), {
      fingerprintBody: { reason },
      // A refund gives back a limited listing's stock: the storefront's counts change too.
      afterCommit: async (response) => {
        if (response.status === 200) await Promise.all([inventory.invalidateUser((response.body as { userId: string }).userId), catalog.invalidateStorefront()]);
      },
    });
  });
}
