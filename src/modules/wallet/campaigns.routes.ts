// Admin API for reward campaigns. Thin: validation by schema, rules in campaigns.service.ts.
import { Type } from '@sinclair/typebox';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { IdParams, NoQuery, Page, errorResponses } from '../../platform/http/schemas.js';
import { CampaignDetailSchema, CampaignSchema, CreateCampaignBody, ListCampaignsQuery, UpdateCampaignBody } from './campaigns.schemas.js';
import { createCampaignsAdmin } from './campaigns.service.js';
import { applyFields, sparseItem } from '../list-fields.js';

export async function campaignsAdminRoutes(app: App, { db, authenticate }: RouteContext): Promise<void> {
  const campaigns = createCampaignsAdmin({ db });
  app.addSchema(CampaignSchema);
  app.addSchema(CampaignDetailSchema);

  // onRequest: a caller without the admin role learns 401/403 before anything about the body.
  const admin = { onRequest: authenticate('admin') };
  const errors = errorResponses(400, 401, 403, 404, 409);
  const campaign = Type.Ref(CampaignSchema);
  const tags = ['admin', 'campaigns'];

  app.post('/admin/campaigns', {
    ...admin,
    schema: { tags, summary: 'Create a reward campaign (tournament, promotion, collab)', querystring: NoQuery, body: CreateCampaignBody, response: { 201: campaign, ...errorResponses(400, 401, 403, 409) } },
  }, async (request, reply) => reply.status(201).send(await campaigns.create(request.body)));

  app.get('/admin/campaigns', {
    ...admin,
    schema: { tags, summary: 'Reward campaigns, newest first (fields= keeps only the named properties and id)', querystring: ListCampaignsQuery, response: { 200: Page(sparseItem(CampaignSchema)), ...errors } },
  }, async ({ query: { fields, ...filter } }) => applyFields(await campaigns.list(filter), fields, Object.keys(CampaignSchema.properties)));

  app.get('/admin/campaigns/:id', {
    ...admin,
    schema: { tags, summary: 'A campaign and what it has given out', querystring: NoQuery, params: IdParams, response: { 200: Type.Ref(CampaignDetailSchema), ...errors } },
  }, async (request) => campaigns.get(request.params.id));

  app.patch('/admin/campaigns/:id', {
    ...admin,
    schema: { tags, summary: 'Rename, re-window or re-attribute a campaign (slug and kind are fixed)', querystring: NoQuery, params: IdParams, body: UpdateCampaignBody, response: { 200: campaign, ...errors } },
  }, async (request) => campaigns.update(request.params.id, request.body));
}
