// A cursor belongs to the list that handed it out (API.md § Pagination: an opaque cursor). Most lists key on the
// same (timestamp, id) pair, so a cursor from one list used to be read by another as a position in its own order:
// an admin items cursor paged the player's inventory, an inventory cursor paged the fulfillments, a player's order
// cursor paged the operators' orders. Every such cursor is a 400 validation_failed now; each list still pages
// with its own. /games and /admin/games are one list behind two paths (same rows, same order), so they share.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createGame, createItem, createListing, unique } from '../catalog/fixtures.js';
import { fundedPlayer, key } from '../purchases/fixtures.js';

let t: TestApp;
let player: { id: string; token: string };

const LISTS = [
  ['/games', 'public'], ['/admin/games', 'admin'], ['/admin/items', 'admin'], ['/admin/listings', 'admin'],
  ['/store/items?sort=newest', 'public'], ['/user/purchases', 'player'], ['/user/wallet/transactions', 'player'],
  ['/user/inventory', 'player'], ['/user/characters', 'player'], ['/admin/orders', 'admin'],
  ['/admin/fulfillments', 'admin'], ['/admin/campaigns', 'admin'],
] as const;
const SAME_LIST = new Set(['/games /admin/games', '/admin/games /games']);

const tokenFor = (who: 'public' | 'admin' | 'player') => (who === 'admin' ? t.adminToken : who === 'player' ? player.token : undefined);
const withQuery = (path: string, query: string) => `${path}${path.includes('?') ? '&' : '?'}${query}`;

beforeAll(async () => {
  t = await startTestApp();
  await createGame(t);
  await createGame(t);
  player = await fundedPlayer(t, 1_000);
  for (let i = 0; i < 2; i++) {
    const item = await createItem(t, { name: `Cross Skin ${i}` });
    const listing = await createListing(t, { title: `Cross Offer ${i}`, price: 10 + i, items: [{ itemId: item.id, quantity: 1 }] });
    const bought = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId: listing.id } });
    expect(bought.status, bought.text).toBe(201);
    const character = await t.request('POST', '/user/characters', { token: player.token, body: { name: `Cross ${i}` } });
    expect(character.status, character.text).toBe(201);
    const campaign = await t.request('POST', '/admin/campaigns', { token: t.adminToken, body: { slug: unique('cross'), name: 'Cross', kind: 'promotion' } });
    expect(campaign.status, campaign.text).toBe(201);
  }
});
afterAll(async () => t?.close());

describe('a cursor handed out by one list', () => {
  it('when it is sent to any other list, then 400 validation_failed; each list still pages with its own cursor', async () => {
    const cursors = new Map<string, string>();
    for (const [path, who] of LISTS) {
      const first = await t.request('GET', withQuery(path, 'limit=1'), { token: tokenFor(who) });
      expect(first.status, `${path}: ${first.text}`).toBe(200);
      expect(first.body.nextCursor, path).toEqual(expect.any(String));
      cursors.set(path, first.body.nextCursor);
      const second = await t.request('GET', withQuery(path, `limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`), { token: tokenFor(who) });
      expect(second.status, `${path} with its own cursor: ${second.text}`).toBe(200);
      expect(second.body.items[0].id, path).not.toBe(first.body.items[0].id);
    }
    const accepted: string[] = [];
    for (const [from] of LISTS) {
      for (const [to, who] of LISTS) {
        if (from === to || SAME_LIST.has(`${from} ${to}`)) continue;
        const response = await t.request('GET', withQuery(to, `limit=1&cursor=${encodeURIComponent(cursors.get(from)!)}`), { token: tokenFor(who) });
        if (response.status !== 400 || response.body.code !== 'validation_failed') accepted.push(`${from} → ${to}: ${response.status}`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it('when a cursor names the right list but a key the list never hands out, then the list\'s own checks still refuse it', async () => {
    const forged = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');
    const cases: Array<[string, unknown[]]> = [
      ['/user/wallet/transactions', ['transactions', 0]],
      ['/user/wallet/transactions', ['transactions', -1]],
      ['/user/inventory', ['inventory', '2030-02-31T00:00:00Z', crypto.randomUUID()]],
    ];
    for (const [path, values] of cases) {
      const response = await t.request('GET', `${path}?cursor=${forged(values)}`, { token: player.token });
      expect(response.status, `${path} ${JSON.stringify(values)}`).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
  });
});
