import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { DomainError } from '../../platform/errors.js';
import { IdempotencyHeaders, NotModified, Page, errorResponses } from '../../platform/http/schemas.js';
import { principalOf } from '../../platform/http/auth-hooks.js';
import { pickFields } from '../../platform/http/pagination.js';
import { render, renderOnce, sendRendered } from '../../platform/http/rendered-body.js';
import { idempotencyKeyOf, replyIdempotent } from '../../platform/http/idempotent-reply.js';
import type { InventoryEntry as InventoryEntryView } from './inventory-list.repository.js';
import { EntryParams, INVENTORY_ENTRY_FIELDS, InventoryEntry, InventoryQuery, ServiceEntryParams, UseBody, UseResult } from './inventory.schemas.js';

// API.md: this route requires the key (missing → 400), so the document says so; the handler checks it too.

const KNOWN_FIELDS = new Set(INVENTORY_ENTRY_FIELDS);
// A player's inventory changes with their own writes: clients may keep it but must revalidate (ETag → 304).
const PRIVATE_REVALIDATE = 'private, no-cache';

export async function inventoryRoutes(app: App, { services, authenticate, db }: RouteContext): Promise<void> {
  const { inventory } = services;
  app.addSchema(InventoryEntry);
  app.addSchema(UseResult);

  app.get('/user/inventory', {
    onRequest: authenticate('player'),
    schema: {
      tags: ['inventory'],
      summary: "The caller's owned items, newest first (empty stacks are not listed)",
      querystring: InventoryQuery,
      response: { 200: Page(Type.Ref(InventoryEntry)), 304: NotModified, ...errorResponses(400, 401, 403) },
    },
  }, async (request, reply) => {
    const { gameId, kind, consumable, equipped, limit, cursor, fields } = request.query;
    const unknown = fields?.split(',').filter((field) => !KNOWN_FIELDS.has(field));
    if (unknown?.length) throw new DomainError('validation_failed', `unknown fields: ${unknown.join(', ')}`);
    const page = await inventory.listForUser(principalOf(request).userId, { filter: { gameId, kind, consumable, equipped }, cursor, limit });
    // The cached page object is rendered once and reused by every hit until the player's next write replaces it.
    if (fields === undefined) return sendRendered(request, reply, renderOnce(page, (value) => reply.serialize(value) as string), PRIVATE_REVALIDATE);
    // pickFields always keeps `id`. A shaped page is a conditional read too (ETag, Cache-Control, 304), as the document says.
    const shaped = { items: pickFields(page.items, fields) as Array<Partial<InventoryEntryView> & { id: string }>, nextCursor: page.nextCursor };
    return sendRendered(request, reply, render(shaped, (value) => reply.serialize(value) as string), PRIVATE_REVALIDATE);
  });

  const useSchema = <P extends typeof EntryParams | typeof ServiceEntryParams>(summary: string, params: P) => ({
    tags: ['inventory'],
    summary,
    headers: IdempotencyHeaders,
    params,
    body: UseBody,
    // The route turns a missing body into `{}` (one unit), so the document must not call the body required.
    'x-body-optional': true,
    response: { 200: Type.Ref(UseResult), ...errorResponses(400, 401, 403, 404, 409, 422) },
  });

  // `{ quantity }` may be left out entirely (POST with no body means one unit).
  const emptyBodyIsDefault = async (request: FastifyRequest) => {
    if (request.body === undefined) request.body = {};
  };

  app.post('/user/inventory/:id/use', {
    onRequest: authenticate('player'),
    preValidation: emptyBodyIsDefault,
    schema: useSchema('Use units of a consumable entry (applies its effect); Idempotency-Key required', EntryParams),
  }, async (request, reply) => {
    const { userId } = principalOf(request);
    const quantity = request.body.quantity;
    return replyIdempotent(db, request, reply, async (tx) => ({
      status: 200,
      body: await inventory.useInTx(tx, { userId, entryId: request.params.id, quantity, reason: 'use', actor: `player:${userId}`, reference: idempotencyKeyOf(request) }),
    }), { afterCommit: () => inventory.invalidateUser(userId) });
  });

  app.post('/service/users/:userId/inventory/:id/consume', {
    onRequest: authenticate('service'),
    preValidation: emptyBodyIsDefault,
    schema: useSchema("A game server consumes units of a player's consumable entry (e.g. an extra life mid-match)", ServiceEntryParams),
  }, async (request, reply) => {
    const userId = request.params.userId.toLowerCase();
    const { id } = request.params;
    const actor = `service:${principalOf(request).userId}`;
    const quantity = request.body.quantity;
    return replyIdempotent(db, request, reply, async (tx) => ({
      status: 200,
      body: await inventory.useInTx(tx, { userId, entryId: id, quantity, reason: 'consume', actor, reference: idempotencyKeyOf(request) }),
    }), { afterCommit: () => inventory.invalidateUser(userId) });
  });
}
