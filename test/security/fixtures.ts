// A small world for the security tests, built through the public API: a game with a slot, a skin, a consumable,
// a voucher with codes, their listings, and a player (Alice) who bought each, has a character wearing the skin,
// plus a second player (Mallory) with her own gems and her own things.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from '../support/app.js';

export interface World {
  gameId: string;
  items: { skin: string; potion: string; voucher: string };
  listings: { skin: string; potion: string; voucher: string; limited: string };
  voucherCodes: string[];
  alice: Actor;
  mallory: Actor;
}

export interface Actor {
  id: string;
  token: string;
  orders: { skin: string; potion: string; voucher: string };
  inventory: { skin: string; potion: string };
  characterId: string;
}

export const key = () => ({ 'idempotency-key': randomUUID() });

async function ok(t: TestApp, method: string, path: string, token: string, body: unknown, expected: number, headers: Record<string, string> = {}) {
  const response = await t.request(method, path, { token, body, headers });
  expect(response.status, `${method} ${path}: ${response.text}`).toBe(expected);
  return response.body;
}

export async function buildWorld(t: TestApp): Promise<World> {
  const tag = randomUUID().slice(0, 8);
  const admin = t.adminToken;
  const game = await ok(t, 'POST', '/admin/games', admin, { slug: `sec-${tag}`, name: 'Security Arena', slots: ['weapon_skin'] }, 201);
  const item = (spec: object) => ok(t, 'POST', '/admin/items', admin, { description: 'security fixture', ...spec }, 201).then((b) => b.id as string);
  const skin = await item({ sku: `skin-${tag}`, name: 'Skin', kind: 'game_skin', gameId: game.id, slot: 'weapon_skin', deliveryType: 'inventory' });
  const potion = await item({ sku: `potion-${tag}`, name: 'Potion', kind: 'game_item', gameId: game.id, consumable: true, maxStack: 1000, deliveryType: 'inventory' });
  const voucher = await item({ sku: `voucher-${tag}`, name: 'Voucher', kind: 'voucher', consumable: true, maxStack: 100, deliveryType: 'email' });
  const voucherCodes = Array.from({ length: 20 }, (_, i) => `SECRET-${tag}-${i}-${randomUUID().slice(0, 6)}`);
  await ok(t, 'POST', `/admin/items/${voucher}/vouchers`, admin, { codes: voucherCodes }, 200);
  const listing = (spec: object) => ok(t, 'POST', '/admin/listings', admin, spec, 201).then((b) => b.id as string);
  const listings = {
    skin: await listing({ title: 'Skin', price: 50, items: [{ itemId: skin, quantity: 1 }] }),
    potion: await listing({ title: 'Potion', price: 5, items: [{ itemId: potion, quantity: 1 }] }),
    voucher: await listing({ title: 'Voucher', price: 20, items: [{ itemId: voucher, quantity: 1 }] }),
    limited: await listing({ title: 'Limited potion', price: 1, items: [{ itemId: potion, quantity: 1 }], stock: 1000, perUserLimit: 2 }),
  };

  const actor = async (name: string): Promise<Actor> => {
    const player = await t.player({ name });
    await ok(t, 'POST', '/service/grants', t.serviceToken, { userId: player.id, gems: 1000, reason: 'fixture' }, 201, key());
    const buy = (listingId: string, quantity = 1) => ok(t, 'POST', '/store/purchases', player.token, { listingId, quantity }, 201, key()).then((b) => b.id as string);
    const orders = { skin: await buy(listings.skin), potion: await buy(listings.potion, 3), voucher: await buy(listings.voucher) };
    const inventory = await ok(t, 'GET', '/user/inventory?limit=100', player.token, undefined, 200);
    const entry = (itemId: string) => (inventory.items as Array<{ id: string; itemId: string }>).find((e) => e.itemId === itemId)!.id;
    const character = await ok(t, 'POST', '/user/characters', player.token, { name: `${name} main`, gameId: game.id }, 201);
    await ok(t, 'PUT', `/user/characters/${character.id}/equipment/weapon_skin`, player.token, { inventoryItemId: entry(skin) }, 200);
    return { ...player, orders, inventory: { skin: entry(skin), potion: entry(potion) }, characterId: character.id };
  };

  return { gameId: game.id, items: { skin, potion, voucher }, listings, voucherCodes, alice: await actor('Alice'), mallory: await actor('Mallory') };
}
