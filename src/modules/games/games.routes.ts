import { Type } from '@sinclair/typebox';
import type { App } from '../../platform/http/types.js';
import type { RouteContext } from '../../context.js';
import { Cursor, IdParams, Limit, NoQuery, NotModified, Page, errorResponses } from '../../platform/http/schemas.js';
import { render, sendRendered } from '../../platform/http/rendered-body.js';
import { CreateGameBody, GAME_CURSOR_MAX_LENGTH, Game, UpdateGameBody } from './games.schemas.js';
import { Fields, applyFields, sparseItem } from '../list-fields.js';

export async function gamesRoutes(app: App, { services, authenticate }: RouteContext): Promise<void> {
  const { games } = services;
  app.addSchema(Game);

  // The cursor carries the last game's name (up to 200 characters, each up to 6 bytes of JSON, e.g. "\u0001"), so it
  // may be longer than the shared 512-character cursor: a long non-ASCII name made the next page a 400.
  const GameCursor = Type.String({ ...Cursor, maxLength: GAME_CURSOR_MAX_LENGTH });
  const ListQuery = Type.Object({ limit: Limit, cursor: Type.Optional(GameCursor), fields: Type.Optional(Fields) }, { additionalProperties: false });
  // fields= may drop any property but id, so the page's items are the Game with every other property optional.
  const GamePage = Page(sparseItem(Game));
  const gameFields = Object.keys(Game.properties);
  const listGames = ({ fields, ...query }: { limit: number; cursor?: string; fields?: string }) =>
    games.page(query).then((page) => applyFields(page, fields, gameFields));

  // A public read like the storefront: a weak ETag over the body sent, so If-None-Match answers 304.
  app.get('/games', {
    schema: {
      tags: ['storefront'], summary: 'Games with their equipment slots; ETag/304', security: [], querystring: ListQuery,
      response: { 200: GamePage, 304: NotModified, ...errorResponses(400) },
    },
  }, async (request, reply) => {
    const page = await listGames(request.query);
    return sendRendered(request, reply, render(page, (value) => reply.serialize(value) as string), 'public, max-age=30');
  });

  // onRequest: the role is checked before the body is parsed or validated, so a stranger gets 401/403, never 400.
  const admin = { onRequest: authenticate('admin') };
  const adminErrors = errorResponses(400, 401, 403, 404, 409);

  app.get('/admin/games', { ...admin, schema: { tags: ['admin'], summary: 'Games, for operators', querystring: ListQuery, response: { 200: GamePage, ...adminErrors } } },
    async (request) => listGames(request.query));

  app.get('/admin/games/:id', { ...admin, schema: { tags: ['admin'], summary: 'One game', querystring: NoQuery, params: IdParams, response: { 200: Type.Ref(Game), ...adminErrors } } },
    async (request) => games.get(request.params.id));

  app.post('/admin/games', { ...admin, schema: { tags: ['admin'], summary: 'Create a game with its equipment slots (slug unique)', querystring: NoQuery, body: CreateGameBody, response: { 201: Type.Ref(Game), ...errorResponses(400, 401, 403, 409) } } },
    async (request, reply) => reply.status(201).send(await games.create(request.body)));

  app.patch('/admin/games/:id', { ...admin, schema: { tags: ['admin'], summary: 'Rename a game or change its slots', querystring: NoQuery, params: IdParams, body: UpdateGameBody, response: { 200: Type.Ref(Game), ...adminErrors } } },
    async (request) => games.update(request.params.id, request.body));

  app.delete('/admin/games/:id', { ...admin, schema: { tags: ['admin'], summary: 'Delete a game nothing refers to (409 otherwise)', querystring: NoQuery, params: IdParams, response: { 204: Type.Null(), ...adminErrors } } },
    async (request, reply) => {
      await games.remove(request.params.id);
      return reply.status(204).send(null);
    });
}
