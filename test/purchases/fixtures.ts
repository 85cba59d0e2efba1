// Test data written straight into the database, so wallet and purchase tests do not depend on the admin API of
// other modules. Every helper returns ids; amounts are gems.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from '../support/app.js';
import { verifyLedger } from '../../src/modules/wallet/ledger-verifier.js';

export const db = (t: TestApp) => t.runtime.deps.db;

export interface ItemSpec {
  kind?: 'game_skin' | 'platform_skin' | 'game_item' | 'voucher' | 'merch' | 'utility' | 'gem_pack';
  consumable?: boolean;
  maxStack?: number;
  deliveryType?: 'inventory' | 'email' | 'shopify' | 'functional';
  effect?: Record<string, unknown>;
  shopifyVariantId?: string;
}

export async function createItem(t: TestApp, spec: ItemSpec = {}): Promise<string> {
  const consumable = spec.consumable ?? false;
  const { rows } = await db(t).query<{ id: string }>(
    `INSERT INTO item_definitions (sku, name, kind, consumable, max_stack, delivery_type, effect, shopify_variant_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [
      `sku-${randomUUID()}`,
      'Test item',
      spec.kind ?? (consumable ? 'utility' : 'platform_skin'),
      consumable,
      spec.maxStack ?? (consumable ? 1000 : 1),
      spec.deliveryType ?? 'inventory',
      spec.effect ? JSON.stringify(spec.effect) : null,
      spec.shopifyVariantId ?? (spec.deliveryType === 'shopify' ? 'gid://shopify/ProductVariant/1' : null),
    ],
  );
  return rows[0]!.id;
}

export interface ListingSpec {
  price: number;
  items: Array<{ itemId: string; quantity?: number }>;
  stock?: number | null;
  perUserLimit?: number | null;
  active?: boolean;
  startsAt?: Date | null;
  endsAt?: Date | null;
}

export async function createListing(t: TestApp, spec: ListingSpec): Promise<string> {
  const { rows } = await db(t).query<{ id: string; delivery_type: string }>(
    `WITH l AS (
       INSERT INTO listings (title, price, stock_total, stock_remaining, per_user_limit, active, starts_at, ends_at, delivery_type, consumable)
       SELECT 'Test listing', $1, $2, $2, $3, $4, $5, $6,
              CASE WHEN count(DISTINCT d.delivery_type) = 1 THEN min(d.delivery_type) ELSE 'mixed' END, bool_and(d.consumable)
         FROM item_definitions d WHERE d.id = ANY($7::uuid[])
       RETURNING id
     ), li AS (
       INSERT INTO listing_items (listing_id, item_id, quantity, position)
       SELECT l.id, x.item_id, x.quantity, x.position FROM l, unnest($7::uuid[], $8::int[]) WITH ORDINALITY AS x(item_id, quantity, position)
     )
     SELECT id FROM l`,
    [
      spec.price,
      spec.stock ?? null,
      spec.perUserLimit ?? null,
      spec.active ?? true,
      spec.startsAt ?? null,
      spec.endsAt ?? null,
      spec.items.map((i) => i.itemId),
      spec.items.map((i) => i.quantity ?? 1),
    ],
  );
  return rows[0]!.id;
}

/** A player with `gems` in the wallet (credited through the real grant endpoint). */
export async function fundedPlayer(t: TestApp, gems: number): Promise<{ id: string; token: string }> {
  const player = await t.player();
  await t.request('GET', '/user/wallet', { token: player.token }); // provisions the user and the wallet at 0
  if (gems > 0) {
    const response = await t.request('POST', '/service/grants', {
      token: t.serviceToken,
      headers: key(),
      body: { userId: player.id, gems, reason: 'test funds' },
    });
    expect(response.status).toBe(201);
  }
  return player;
}

export async function balanceOf(t: TestApp, userId: string): Promise<number> {
  const { rows } = await db(t).query<{ balance: number }>('SELECT balance FROM ledger_accounts WHERE user_id = $1', [userId]);
  return rows[0]?.balance ?? 0;
}

export async function expectLedgerConsistent(t: TestApp): Promise<void> {
  const report = await verifyLedger(db(t));
  expect(report.violations).toEqual([]);
  expect(report.ok).toBe(true);
}

export async function count(t: TestApp, sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db(t).query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return rows[0]!.n;
}

export const key = () => ({ 'idempotency-key': randomUUID() });
