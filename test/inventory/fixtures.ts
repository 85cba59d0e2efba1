// Catalog rows and grants for inventory and character tests. Rows are written with SQL (the catalog's admin API
// is another module's subject); grants go through the inventory service, exactly as purchases and grants do.
import type { TestApp } from '../support/app.js';

export interface ItemSpec {
  name?: string;
  kind?: 'game_skin' | 'platform_skin' | 'game_item' | 'voucher' | 'merch' | 'utility' | 'gem_pack';
  gameId?: string | null;
  slot?: string | null;
  consumable?: boolean;
  maxStack?: number;
  effect?: Record<string, unknown> | null;
  compatibleGameIds?: string[];
}

export function fixtures(t: TestApp) {
  const db = () => t.runtime.deps.db;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

  return {
    async game(slots: string[] = ['weapon_skin', 'emote']): Promise<string> {
      const { rows } = await db().query<{ id: string }>('INSERT INTO games (slug, name) VALUES ($1, $2) RETURNING id', [unique('g'), 'Game']);
      const id = rows[0]!.id;
      await db().query('INSERT INTO game_slots (game_id, slot) SELECT $1, unnest($2::text[])', [id, slots]);
      return id;
    },

    async item(spec: ItemSpec = {}): Promise<string> {
      const kind = spec.kind ?? (spec.gameId ? 'game_skin' : 'platform_skin');
      const consumable = spec.consumable ?? false;
      const { rows } = await db().query<{ id: string }>(
        `INSERT INTO item_definitions (sku, name, kind, game_id, slot, consumable, max_stack, delivery_type, effect)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'inventory', $8) RETURNING id`,
        [unique('sku'), spec.name ?? unique('Item'), kind, spec.gameId ?? null, spec.slot ?? null, consumable,
          spec.maxStack ?? (consumable ? 99 : 1), spec.effect ? JSON.stringify(spec.effect) : null],
      );
      const id = rows[0]!.id;
      for (const gameId of spec.compatibleGameIds ?? []) {
        await db().query('INSERT INTO item_compatible_games (item_id, game_id) VALUES ($1, $2)', [id, gameId]);
      }
      return id;
    },

    /** Grants through the inventory contract, then invalidates the user's caches as every caller must. */
    async grant(userId: string, items: Array<{ itemId: string; quantity?: number }>): Promise<string[]> {
      const { inventory } = t.runtime.services;
      await db().query('INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING', [userId]);
      const granted = await db().withTx((tx) =>
        inventory.grantItemsInTx(tx, { userId, items: items.map((i) => ({ itemId: i.itemId, quantity: i.quantity ?? 1 })), source: 'grant', sourceRef: unique('ref'), actor: 'test' }));
      await inventory.invalidateUser(userId);
      return items.map((i) => granted.find((g) => g.itemId === i.itemId)!.inventoryItemId);
    },

    unique,
  };
}
