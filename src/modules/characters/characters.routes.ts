import { Type } from '@sinclair/typebox';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { IdParams, IdempotencyHeaders, Page, errorResponses } from '../../platform/http/schemas.js';
import { principalOf } from '../../platform/http/auth-hooks.js';
import { replyIdempotent } from '../../platform/http/idempotent-reply.js';
import { applyFields } from '../list-fields.js';
import {
  CHARACTER_FIELDS, Character, CharacterListItem, CharactersQuery, CreateCharacterBody, EquipBody, Equipment, EquipmentParams, Loadout, LoadoutsBody, LoadoutsResult,
  RenameCharacterBody,
} from './characters.schemas.js';

export async function charactersRoutes(app: App, { services, authenticate, db }: RouteContext): Promise<void> {
  const { characters } = services;
  for (const schema of [Equipment, Character, CharacterListItem, Loadout]) app.addSchema(schema);

  const player = { onRequest: authenticate('player') };
  const tags = ['characters'];
  const one = { 200: Type.Ref(Character), ...errorResponses(400, 401, 403, 404) };

  app.get('/user/characters', {
    ...player,
    schema: {
      tags,
      summary: "The caller's characters with their equipment, oldest first (gameId= only that game's: an unknown game is an empty page; fields= keeps only the named properties and id)",
      querystring: CharactersQuery,
      response: { 200: Page(Type.Ref(CharacterListItem)), ...errorResponses(400, 401, 403) },
    },
  }, async (request) => {
    const { gameId, fields, cursor, limit } = request.query;
    return applyFields(await characters.list(principalOf(request).userId, { gameId, cursor, limit }), fields, CHARACTER_FIELDS);
  });

  app.post('/user/characters', {
    ...player,
    schema: {
      tags,
      summary: 'Create a character for a game, or a platform-wide avatar (gameId null or absent); Idempotency-Key optional',
      // API.md requires the key only where money, stock or inventory change: a create without one stays a create.
      headers: Type.Partial(IdempotencyHeaders),
      body: CreateCharacterBody,
      response: { 201: Type.Ref(Character), ...errorResponses(400, 401, 403, 404, 409, 422) },
    },
  }, async (request, reply) => {
    const { userId } = principalOf(request);
    // The create as it is understood: gameId absent and null are one request for the key, and ids are case-blind.
    const input = { name: request.body.name, gameId: request.body.gameId?.toLowerCase() ?? null };
    if (request.headers['idempotency-key'] === undefined) return reply.status(201).send(await characters.create(userId, input));
    return replyIdempotent(db, request, reply, async (tx) => ({ status: 201, body: await characters.createInTx(tx, userId, input) }), {
      fingerprintBody: input,
      // Also on a replay: the first attempt may have died between its commit and its invalidation.
      afterCommit: async (response) => {
        if (response.status === 201) await characters.invalidateUser(userId);
      },
    });
  });

  app.get('/user/characters/:id', {
    ...player,
    schema: { tags, summary: 'One character with its equipment (item names and kinds), one round trip', params: IdParams, response: one },
  }, async (request) => characters.get(principalOf(request).userId, request.params.id));

  app.patch('/user/characters/:id', {
    ...player,
    schema: { tags, summary: 'Rename a character', params: IdParams, body: RenameCharacterBody, response: one },
  }, async (request) => characters.rename(principalOf(request).userId, request.params.id, request.body.name));

  app.delete('/user/characters/:id', {
    ...player,
    schema: { tags, summary: 'Delete a character (its equipment goes with it; the items stay owned)', params: IdParams, response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) } },
  }, async (request, reply) => {
    await characters.remove(principalOf(request).userId, request.params.id);
    return reply.status(204).send(null);
  });

  app.put('/user/characters/:id/equipment/:slot', {
    ...player,
    schema: {
      tags,
      summary: 'Equip an owned, compatible item in the slot (replaces what was there)',
      params: EquipmentParams,
      body: EquipBody,
      response: { 200: Type.Ref(Character), ...errorResponses(400, 401, 403, 404, 409) },
    },
  }, async (request) => characters.equip(principalOf(request).userId, request.params.id, request.params.slot, request.body.inventoryItemId));

  app.delete('/user/characters/:id/equipment/:slot', {
    ...player,
    schema: {
      tags,
      summary: "Unequip the slot; an empty slot is 200, a slot the character's game lacks (for an avatar: no platform item declares) is 404",
      params: EquipmentParams,
      response: one,
    },
  }, async (request) => characters.unequip(principalOf(request).userId, request.params.id, request.params.slot));

  app.post('/service/loadouts', {
    onRequest: authenticate('service'),
    schema: {
      tags: ['service', 'characters'],
      summary: "Up to 100 characters' equipment in one query (match start); unknown ids are listed in `missing`",
      body: LoadoutsBody,
      response: { 200: LoadoutsResult, ...errorResponses(400, 401, 403) },
    },
  }, async (request) => characters.loadouts(request.body.characterIds));
}
