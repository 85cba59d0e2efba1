// Admin catalog API: item definitions and listings. Thin: validation by schema, rules in the services.
import { Type } from '@sinclair/typebox';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { IdParams, NoQuery, Nullable, errorResponses } from '../../platform/http/schemas.js';
import {
  AdminListingSchema, CreateItemBody, CreateListingBody, ItemDefinitionSchema, ListItemsQuery, ListListingsQuery,
  UpdateItemBody, UpdateListingBody,
} from './catalog.schemas.js';
import { applyFields, sparseItem } from '../list-fields.js';

// fields= may drop any property but id, so a page's items are the schema with every other property optional.
const pageOf = (schema: typeof ItemDefinitionSchema | typeof AdminListingSchema) => Type.Object({ items: Type.Array(sparseItem(schema)), nextCursor: Nullable(Type.String()) });
const ITEM_FIELDS = Object.keys(ItemDefinitionSchema.properties);
const LISTING_FIELDS = Object.keys(AdminListingSchema.properties);
const NoContent = Type.Null({ description: 'deleted (or, for a listing with orders, deactivated)' });

export async function catalogAdminRoutes(app: App, { services, authenticate }: RouteContext): Promise<void> {
  const { items, listings } = services.catalog;
  app.addSchema(ItemDefinitionSchema);
  app.addSchema(AdminListingSchema);

  // onRequest, not preHandler: a caller without the admin role learns 401/403 before anything about the body.
  const admin = { onRequest: authenticate('admin') };
  const errors = errorResponses(400, 401, 403, 404, 409);
  const item = Type.Ref(ItemDefinitionSchema);
  const listing = Type.Ref(AdminListingSchema);

  app.get('/admin/items', { ...admin, schema: { tags: ['admin'], summary: 'Item definitions, newest first', querystring: ListItemsQuery, response: { 200: pageOf(ItemDefinitionSchema), ...errors } } },
    async ({ query: { fields, ...filter } }) => applyFields(await items.list(filter), fields, ITEM_FIELDS));

  app.get('/admin/items/:id', { ...admin, schema: { tags: ['admin'], summary: 'One item definition', querystring: NoQuery, params: IdParams, response: { 200: item, ...errors } } },
    async (request) => items.get(request.params.id));

  app.post('/admin/items', { ...admin, schema: { tags: ['admin'], summary: 'Create an item definition', querystring: NoQuery, body: CreateItemBody, response: { 201: item, ...errors } } },
    async (request, reply) => reply.status(201).send(await items.create(request.body)));

  app.patch('/admin/items/:id', { ...admin, schema: { tags: ['admin'], summary: 'Change an item definition (only the fields sent)', querystring: NoQuery, params: IdParams, body: UpdateItemBody, response: { 200: item, ...errors } } },
    async (request) => items.update(request.params.id, request.body));

  app.delete('/admin/items/:id', {
    ...admin,
    schema: { tags: ['admin'], summary: 'Delete an item definition nothing refers to (409 otherwise)', querystring: NoQuery, params: IdParams, response: { 204: Type.Null(), ...errors } },
  }, async (request, reply) => {
    await items.remove(request.params.id);
    return reply.status(204).send(null);
  });

  app.get('/admin/listings', { ...admin, schema: { tags: ['admin'], summary: 'Listings, newest first', querystring: ListListingsQuery, response: { 200: pageOf(AdminListingSchema), ...errors } } },
    async ({ query: { fields, ...filter } }) => applyFields(await listings.list(filter), fields, LISTING_FIELDS));

  app.get('/admin/listings/:id', { ...admin, schema: { tags: ['admin'], summary: 'One listing with its bundle lines', querystring: NoQuery, params: IdParams, response: { 200: listing, ...errors } } },
    async (request) => listings.get(request.params.id));

  app.post('/admin/listings', { ...admin, schema: { tags: ['admin'], summary: 'Create a listing (one line) or a bundle (several lines)', querystring: NoQuery, body: CreateListingBody, response: { 201: listing, ...errors } } },
    async (request, reply) => reply.status(201).send(await listings.create(request.body)));

  app.patch('/admin/listings/:id', { ...admin, schema: { tags: ['admin'], summary: 'Change a listing (only the fields sent)', querystring: NoQuery, params: IdParams, body: UpdateListingBody, response: { 200: listing, ...errors } } },
    async (request) => listings.update(request.params.id, request.body));

  app.delete('/admin/listings/:id', {
    ...admin,
    schema: { tags: ['admin'], summary: 'Delete a listing never ordered; deactivate one with orders', querystring: NoQuery, params: IdParams, response: { 204: NoContent, ...errors } },
  }, async (request, reply) => {
    await listings.remove(request.params.id);
    return reply.status(204).send(null);
  });
}
