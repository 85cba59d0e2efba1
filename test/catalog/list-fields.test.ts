// API.md § Pagination: `fields=a,b,c` returns only those top-level fields of each item (`id` always), on every list.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
let player: { id: string; token: string };
const key = () => ({ 'idempotency-key': randomUUID() });

beforeAll(async () => {
  t = await startTestApp();
  const admin = { token: t.adminToken };
  const game = await t.request('POST', '/admin/games', { ...admin, body: { slug: 'fields-game', name: 'Fields', slots: ['weapon_skin'] } });
  await t.request('POST', '/admin/games', { ...admin, body: { slug: 'fields-game-2', name: 'Fields 2', slots: [] } });
  const item = await t.request('POST', '/admin/items', {
    ...admin, body: { sku: 'fields-skin', name: 'Skin', kind: 'game_skin', deliveryType: 'inventory', gameId: game.body.id, slot: 'weapon_skin' },
  });
  const potion = await t.request('POST', '/admin/items', {
    ...admin, body: { sku: 'fields-potion', name: 'Potion', kind: 'game_item', deliveryType: 'inventory', gameId: game.body.id, consumable: true },
  });
  const skinListing = await t.request('POST', '/admin/listings', { ...admin, body: { title: 'Skin', price: 100, items: [{ itemId: item.body.id, quantity: 1 }] } });
  const potionListing = await t.request('POST', '/admin/listings', { ...admin, body: { title: 'Potion', price: 10, items: [{ itemId: potion.body.id, quantity: 1 }] } });
  await t.request('POST', '/admin/campaigns', { ...admin, body: { slug: 'fields-cup', name: 'Cup', kind: 'tournament' } });
  await t.request('POST', '/admin/campaigns', { ...admin, body: { slug: 'fields-promo', name: 'Promo', kind: 'promotion' } });
  player = await t.player();
  const grant = await t.request('POST', '/service/grants', { token: t.serviceToken, headers: key(), body: { userId: player.id, gems: 1000, reason: 'fields test' } });
  expect(grant.status).toBe(201);
  for (const listingId of [skinListing.body.id, potionListing.body.id]) {
    expect((await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId } })).status).toBe(201);
  }
});
afterAll(async () => t?.close());

const lists: Array<{ path: string; field: string; who: 'admin' | 'player' | 'none' }> = [
  { path: '/games', field: 'slug', who: 'none' },
  { path: '/admin/games', field: 'slots', who: 'admin' },
  { path: '/admin/items', field: 'sku', who: 'admin' },
  { path: '/admin/listings', field: 'price', who: 'admin' },
  { path: '/admin/orders', field: 'totalPrice', who: 'admin' },
  { path: '/admin/campaigns', field: 'slug', who: 'admin' },
  { path: '/user/purchases', field: 'status', who: 'player' },
  { path: '/user/wallet/transactions', field: 'amount', who: 'player' },
];
const tokenFor = (who: 'admin' | 'player' | 'none') => (who === 'admin' ? t.adminToken : who === 'player' ? player.token : undefined);

describe('fields= on every list', () => {
  for (const { path, field, who } of lists) {
    it(`when GET ${path}?fields=${field}, then each item carries exactly id and ${field}`, async () => {
      const full = await t.request('GET', path, { token: tokenFor(who) });
      expect(full.status).toBe(200);
      expect(full.body.items.length).toBeGreaterThanOrEqual(2);
      const shaped = await t.request('GET', `${path}?fields=${field}&limit=100`, { token: tokenFor(who) });
      expect(shaped.status).toBe(200);
      expect(shaped.body.items.length).toBe(full.body.items.length);
      for (const [index, item] of shaped.body.items.entries()) {
        expect(Object.keys(item).sort()).toEqual(['id', field].sort());
        expect(item).toEqual({ id: full.body.items[index].id, [field]: full.body.items[index][field] });
      }
    });

    it(`when GET ${path}?fields= names an unknown field, then 400 validation_failed; with limit=1 the cursor still pages`, async () => {
      const unknown = await t.request('GET', `${path}?fields=id,noSuchField`, { token: tokenFor(who) });
      expect(unknown.status).toBe(400);
      expect(unknown.body.code).toBe('validation_failed');
      const first = await t.request('GET', `${path}?fields=${field}&limit=1`, { token: tokenFor(who) });
      expect(first.status).toBe(200);
      expect(typeof first.body.nextCursor).toBe('string');
      const second = await t.request('GET', `${path}?fields=${field}&limit=1&cursor=${first.body.nextCursor}`, { token: tokenFor(who) });
      expect(second.status).toBe(200);
      expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
      expect(Object.keys(second.body.items[0]).sort()).toEqual(['id', field].sort());
    });
  }
});
