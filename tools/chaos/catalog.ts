// The bank test's catalog, created through the admin API as an operator would: every delivery type and every
// stock rule the invariants must survive.
import { call } from './client.js';

export interface ChaosCatalog {
  gameId: string;
  slot: string;
  /** Unlimited consumable listings (stacks that players use up). */
  consumables: string[];
  /** A consumable with total stock and a per-user limit: the oversell check. */
  limited: { listingId: string; stock: number; perUserLimit: number };
  /** Skins owned once and equipped. */
  skins: string[];
  /** Voucher codes mailed over SMTP; the pool is the stock. */
  voucher: { listingId: string; itemId: string; codes: string[] };
  /** A T-shirt ordered from Shopify (limited stock too). */
  merch: { listingId: string; stock: number };
  /** Extra lives applied at once. */
  functional: string;
}

export const SHIPPING_ADDRESS = { name: 'Chaos Monkey', address1: '1 Failure Way', city: 'Reno', zip: '89501', country: 'US' };

export async function seedChaosCatalog(baseUrl: string, adminToken: string, options: { tag: string; voucherCodes: number; limitedStock: number; merchStock: number }): Promise<ChaosCatalog> {
  const admin = async (method: string, path: string, body: unknown, expected: number) => {
    const reply = await call(baseUrl, method, path, { token: adminToken, body });
    if (reply.status !== expected) throw new Error(`seeding ${method} ${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return reply.body;
  };
  const { tag } = options;
  const game = await admin('POST', '/admin/games', { slug: `chaos-${tag}`, name: `Chaos Arena ${tag}`, slots: ['weapon_skin', 'emote'] }, 201);
  const item = (spec: Record<string, unknown>) => admin('POST', '/admin/items', { description: 'bank test item', ...spec }, 201).then((b) => b.id as string);
  const listing = (spec: Record<string, unknown>) => admin('POST', '/admin/listings', spec, 201).then((b) => b.id as string);

  const potion = await item({ sku: `potion-${tag}`, name: 'Potion', kind: 'game_item', gameId: game.id, consumable: true, maxStack: 100000, deliveryType: 'inventory' });
  const ammo = await item({ sku: `ammo-${tag}`, name: 'Ammo crate', kind: 'utility', consumable: true, maxStack: 100000, deliveryType: 'inventory' });
  const badge = await item({ sku: `badge-${tag}`, name: 'Limited badge', kind: 'game_item', gameId: game.id, consumable: true, maxStack: 100000, deliveryType: 'inventory' });
  const lives = await item({ sku: `lives-${tag}`, name: 'Three lives', kind: 'utility', consumable: true, maxStack: 1000, deliveryType: 'functional', effect: { lives: 3 } });
  const voucherItem = await item({ sku: `voucher-${tag}`, name: 'Partner voucher', kind: 'voucher', consumable: true, maxStack: 1000, deliveryType: 'email' });
  const shirt = await item({ sku: `shirt-${tag}`, name: 'Chaos T-shirt', kind: 'merch', consumable: true, maxStack: 1000, deliveryType: 'shopify', shopifyVariantId: 'gid://shopify/ProductVariant/424242' });
  const skinItems: string[] = [];
  for (let i = 0; i < 4; i++) {
    skinItems.push(await item({ sku: `skin-${i}-${tag}`, name: `Skin ${i}`, kind: 'game_skin', gameId: game.id, slot: 'weapon_skin', deliveryType: 'inventory' }));
  }

  const codes = Array.from({ length: options.voucherCodes }, (_, i) => `CHAOS-${tag}-${String(i).padStart(5, '0')}`);
  await admin('POST', `/admin/items/${voucherItem}/vouchers`, { codes }, 200);

  return {
    gameId: game.id,
    slot: 'weapon_skin',
    consumables: [
      await listing({ title: 'Potion', price: 7, items: [{ itemId: potion, quantity: 1 }] }),
      await listing({ title: 'Supply bundle', price: 20, items: [{ itemId: potion, quantity: 2 }, { itemId: ammo, quantity: 3 }] }),
    ],
    limited: {
      listingId: await listing({ title: 'Limited badge', price: 11, items: [{ itemId: badge, quantity: 1 }], stock: options.limitedStock, perUserLimit: 3 }),
      stock: options.limitedStock,
      perUserLimit: 3,
    },
    skins: await Promise.all(skinItems.map((itemId, i) => listing({ title: `Skin ${i}`, price: 40 + i, items: [{ itemId, quantity: 1 }] }))),
    voucher: { listingId: await listing({ title: 'Partner voucher', price: 30, items: [{ itemId: voucherItem, quantity: 1 }] }), itemId: voucherItem, codes },
    merch: { listingId: await listing({ title: 'Chaos T-shirt', price: 90, items: [{ itemId: shirt, quantity: 1 }], stock: options.merchStock }), stock: options.merchStock },
    functional: await listing({ title: 'Three lives', price: 5, items: [{ itemId: lives, quantity: 1 }] }),
  };
}
