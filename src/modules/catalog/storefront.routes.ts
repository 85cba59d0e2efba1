// Public storefront: no token needed (one is accepted and ignored). The handlers only validate, look up the
// cached rendering and send it; a cache hit costs no database round trip and no serialization.
import { Type } from '@sinclair/typebox';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { IdParams, NoQuery, NotModified, errorResponses } from '../../platform/http/schemas.js';
import { notFound } from '../../platform/errors.js';
import { sendRendered } from '../../platform/http/rendered-body.js';
import { PAGE_TTL_MS } from './storefront.service.js';
import { StoreItemsQuery, StoreListingSchema, StorePageSchema } from './storefront.schemas.js';

// Browsers and CDNs may reuse a response this long; our own cache is invalidated at once on admin writes.
const CACHE_CONTROL = `public, max-age=${Math.round(PAGE_TTL_MS / 2000)}`;

export async function storefrontRoutes(app: App, { services }: RouteContext): Promise<void> {
  const { storefront } = services.catalog;
  app.addSchema(StoreListingSchema);

  app.get('/store/items', {
    schema: {
      tags: ['storefront'],
      summary: 'Listings on sale now: filters, sorts, keyset pagination, sparse fieldsets; ETag/304',
      security: [],
      querystring: StoreItemsQuery,
      response: { 200: StorePageSchema, 304: NotModified, ...errorResponses(400) },
    },
  }, async (request, reply) => {
    const rendered = await storefront.page(request.query, (page) => reply.serialize(page) as string);
    return sendRendered(request, reply, rendered, CACHE_CONTROL);
  });

  app.get('/store/items/:id', {
    schema: {
      tags: ['storefront'],
      summary: 'One listing on sale now (404 when inactive or outside its time window)',
      security: [],
      params: IdParams,
      querystring: NoQuery,
      response: { 200: Type.Ref(StoreListingSchema), 304: NotModified, ...errorResponses(400, 404) },
    },
  }, async (request, reply) => {
    const rendered = await storefront.listing(request.params.id, (listing) => reply.serialize(listing) as string);
    if (!rendered) throw notFound('listing');
    return sendRendered(request, reply, rendered, CACHE_CONTROL);
  });
}
