// docs/catalog.md, "Bad input": every query is validated by its route's schema and unknown query parameters are
// rejected. The lists always did; the single-resource and write routes of the catalog (and of games) declared no
// querystring at all, so `?fields=title` on one listing, or a typo, was silently ignored and answered 200/201/204.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGame, createItem, createListing, unique } from './fixtures.js';

let t: TestApp;
let game: { id: string };
let item: { id: string };
let listing: { id: string };

beforeAll(async () => {
  t = await startTestApp();
  game = await createGame(t, ['weapon_skin']);
  item = await createItem(t, {});
  listing = await createListing(t, { items: [{ itemId: item.id, quantity: 1 }] });
});
afterAll(async () => t?.close());

describe('catalog routes and unknown query parameters', () => {
  it('when a catalog or game route is sent a query parameter it does not name, then 400 validation_failed naming it and nothing changes', async () => {
    const cases: Array<[string, string, Record<string, unknown> | undefined, string | undefined]> = [
      ['GET', `/store/items/${listing.id}`, undefined, undefined],
      ['GET', `/admin/items/${item.id}`, undefined, t.adminToken],
      ['POST', '/admin/items', { sku: unique('q'), name: 'Q', kind: 'platform_skin' }, t.adminToken],
      ['PATCH', `/admin/items/${item.id}`, { name: 'Renamed by a query typo' }, t.adminToken],
      ['DELETE', `/admin/items/${item.id}`, undefined, t.adminToken],
      ['GET', `/admin/listings/${listing.id}`, undefined, t.adminToken],
      ['POST', '/admin/listings', { title: 'Q', price: 1, items: [{ itemId: item.id, quantity: 1 }] }, t.adminToken],
      ['PATCH', `/admin/listings/${listing.id}`, { price: 1 }, t.adminToken],
      ['DELETE', `/admin/listings/${listing.id}`, undefined, t.adminToken],
      ['GET', `/admin/games/${game.id}`, undefined, t.adminToken],
      ['POST', '/admin/games', { slug: unique('qgame'), name: 'Q', slots: ['hat'] }, t.adminToken],
      ['PATCH', `/admin/games/${game.id}`, { name: 'Renamed by a query typo' }, t.adminToken],
      ['DELETE', `/admin/games/${game.id}`, undefined, t.adminToken],
    ];
    for (const [method, path, body, token] of cases) {
      const response = await t.request(method, `${path}?fields=title`, { token, body });
      expect(response.status, `${method} ${path}: ${response.text}`).toBe(400);
      expect(response.body.code).toBe('validation_failed');
      expect(response.body.detail).toContain('fields');
    }
    // Nothing was created, renamed or deleted.
    const { rows } = await t.runtime.deps.db.query(
      `SELECT (SELECT count(*) FROM item_definitions WHERE name = 'Q' OR name LIKE 'Renamed%')::int AS items,
              (SELECT count(*) FROM listings WHERE title = 'Q' OR price = 1)::int AS listings,
              (SELECT count(*) FROM games WHERE name = 'Q' OR name LIKE 'Renamed%')::int AS games,
              (SELECT count(*) FROM item_definitions WHERE id = $1)::int AS item_left,
              (SELECT count(*) FROM listings WHERE id = $2 AND active)::int AS listing_left,
              (SELECT count(*) FROM games WHERE id = $3)::int AS game_left`,
      [item.id, listing.id, game.id],
    );
    expect(rows[0]).toEqual({ items: 0, listings: 0, games: 0, item_left: 1, listing_left: 1, game_left: 1 });
  });

  it('when the same routes are sent without a query, then they answer as before', async () => {
    expect((await t.request('GET', `/store/items/${listing.id}`)).status).toBe(200);
    expect((await t.request('GET', `/admin/items/${item.id}`, { token: t.adminToken })).status).toBe(200);
    expect((await t.request('GET', `/admin/listings/${listing.id}`, { token: t.adminToken })).status).toBe(200);
    expect((await t.request('GET', `/admin/games/${game.id}`, { token: t.adminToken })).status).toBe(200);
  });
});
