// Public storefront: no token needed (one is accepted and ignored). The handlers only validate, look up the
// cached rendering and send it; a cache hit costs no database round trip and no serialization.
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { IdParams, errorResponses } from '../../platform/http/schemas.js';
import { notFound } from '../../platform/errors.js';
import { PAGE_TTL_MS, type RenderedBody } from './storefront.service.js';
import { StoreItemsQuery, StoreListingSchema, StorePageSchema } from './storefront.schemas.js';

// Browsers and CDNs may reuse a response this long; our own cache is invalidated at once on admin writes.
const CACHE_CONTROL = `public, max-age=${Math.round(PAGE_TTL_MS / 2000)}`;
const JSON_TYPE = 'application/json; charset=utf-8';
const NotModified = Type.Null({ description: 'Not Modified: the If-None-Match ETag is current' });

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  // Weak comparison (RFC 9110 §8.8.3.2): W/"x" and "x" name the same representation.
  const opaque = etag.slice(2);
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === etag || tag === opaque || (tag.startsWith('W/') && tag.slice(2) === opaque);
  });
}

function sendRendered(request: FastifyRequest, reply: FastifyReply, rendered: RenderedBody): FastifyReply {
  reply.header('etag', rendered.etag).header('cache-control', CACHE_CONTROL);
  if (matchesEtag(request.headers['if-none-match'], rendered.etag)) return reply.code(304).send();
  return reply.header('content-type', JSON_TYPE).send(rendered.body);
}

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
    return sendRendered(request, reply, rendered);
  });

  app.get('/store/items/:id', {
    schema: {
      tags: ['storefront'],
      summary: 'One listing on sale now (404 when inactive or outside its time window)',
      security: [],
      params: IdParams,
      response: { 200: Type.Ref(StoreListingSchema), 304: NotModified, ...errorResponses(400, 404) },
    },
  }, async (request, reply) => {
    const rendered = await storefront.listing(request.params.id, (listing) => reply.serialize(listing) as string);
    if (!rendered) throw notFound('listing');
    return sendRendered(request, reply, rendered);
  });
}
