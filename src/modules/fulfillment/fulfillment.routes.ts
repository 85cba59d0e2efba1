// Operators: the fulfillment list (dead letters with ?status=failed), one fulfillment with its history, the
// retry button, voucher code uploads. Shopify's webhooks live in webhooks.routes.ts.
import { Type } from '@sinclair/typebox';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { IdParams, Page, errorResponses } from '../../platform/http/schemas.js';
import { principalOf } from '../../platform/http/auth-hooks.js';
import { applyFields } from '../list-fields.js';
import { ADMIN_FULFILLMENT_FIELDS, AdminFulfillment, AdminFulfillmentDetail, AdminFulfillmentListItem, FulfillmentEvent, ListFulfillmentsQuery, VoucherUploadBody, VoucherUploadResult } from './fulfillment.schemas.js';
import { shopifyWebhookRoutes } from './webhooks.routes.js';

export async function fulfillmentRoutes(app: App, ctx: RouteContext): Promise<void> {
  const { services, authenticate } = ctx;
  const { fulfillment } = services;
  app.addSchema(FulfillmentEvent);
  app.addSchema(AdminFulfillment);
  app.addSchema(AdminFulfillmentDetail);
  app.addSchema(AdminFulfillmentListItem);

  const admin = { onRequest: authenticate('admin') };
  const errors = errorResponses(400, 401, 403, 404, 409);

  app.get('/admin/fulfillments', {
    ...admin,
    schema: {
      tags: ['admin'],
      summary: 'Fulfillments, oldest first; ?status=failed lists the dead letters (fields= keeps only the named properties and id)',
      querystring: ListFulfillmentsQuery,
      response: { 200: Page(Type.Ref(AdminFulfillmentListItem)), ...errors },
    },
  }, async (request) => {
    const { fields, ...query } = request.query;
    return applyFields(await fulfillment.list(query), fields, ADMIN_FULFILLMENT_FIELDS);
  });

  app.get('/admin/fulfillments/:id', {
    ...admin,
    schema: { tags: ['admin'], summary: 'One fulfillment with its status history', params: IdParams, response: { 200: Type.Ref(AdminFulfillmentDetail), ...errors } },
  }, async (request) => fulfillment.get(request.params.id));

  app.post('/admin/fulfillments/:id/retry', {
    ...admin,
    schema: { tags: ['admin'], summary: 'Re-run a failed fulfillment (other states: 409 invalid_state)', params: IdParams, response: { 200: Type.Ref(AdminFulfillmentDetail), ...errors } },
  }, async (request) => fulfillment.retry(request.params.id, `admin:${principalOf(request).userId}`));

  app.post('/admin/items/:id/vouchers', {
    ...admin,
    schema: {
      tags: ['admin'],
      summary: "Upload voucher codes to an email item's pool; duplicates are counted and skipped",
      params: IdParams,
      body: VoucherUploadBody,
      response: { 200: VoucherUploadResult, ...errorResponses(400, 401, 403, 404, 409, 413) },
    },
  }, async (request) => fulfillment.addVoucherCodes(request.params.id, request.body.codes));

  await app.register(async (scope) => shopifyWebhookRoutes(scope as unknown as App, ctx));
}
