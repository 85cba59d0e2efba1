// Fulfillment test helpers: catalog rows and orders written with SQL, fulfillments created through the real
// contract (createForOrderInTx inside one transaction, as the purchase flow does), a real SMTP server, polling.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { startShopifySimulator, type ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';
import type { CreatedFulfillment, ShippingAddress } from '../../src/modules/fulfillment/index.js';

export const ADDRESS: ShippingAddress = { name: 'Ada Lovelace', address1: '12 Analytical St', city: 'London', zip: 'N1 9GU', country: 'GB', phone: '+44 20 7946 0000' };

export async function createItem(t: TestApp, spec: { deliveryType: 'inventory' | 'email' | 'shopify' | 'functional'; effect?: object; variantId?: string; name?: string; consumable?: boolean }): Promise<string> {
  const kind = { inventory: 'platform_skin', email: 'voucher', shopify: 'merch', functional: 'gem_pack' }[spec.deliveryType];
  const consumable = spec.consumable ?? spec.deliveryType !== 'inventory';
  const { rows } = await t.runtime.deps.db.query<{ id: string }>(
    `INSERT INTO item_definitions (sku, name, kind, consumable, max_stack, delivery_type, effect, shopify_variant_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
    [
      `sku-${randomUUID()}`,
      spec.name ?? `Test ${spec.deliveryType} item`,
      kind,
      consumable,
      consumable ? 1000 : 1,
      spec.deliveryType,
      spec.effect ? JSON.stringify(spec.effect) : null,
      spec.deliveryType === 'shopify' ? (spec.variantId ?? 'gid://shopify/ProductVariant/4242') : null,
    ],
  );
  return rows[0]!.id;
}

/**
 * A real purchase over HTTP of one merch item (Shopify delivery) for 300 gems by a new player granted 500 first:
 * the order, its line's fulfillment and the buyer. Needs SHOPIFY_* configured on `t`.
 */
export async function buyMerch(t: TestApp): Promise<{ orderId: string; fulfillmentId: string; player: { id: string; token: string } }> {
  const itemId = await createItem(t, { deliveryType: 'shopify' });
  const player = await t.player();
  await t.request('GET', '/user/wallet', { token: player.token });
  await t.runtime.deps.db.withTx((tx) => t.runtime.services.wallet.creditUserInTx(tx, { userId: player.id, amount: 500, counterparty: 'issuance', reason: 'grant', referenceType: 'grant', referenceId: randomUUID() }));
  const listing = await t.runtime.deps.db.query<{ id: string }>(`INSERT INTO listings (title, price, delivery_type) VALUES ('Hoodie', 300, 'shopify') RETURNING id`);
  await t.runtime.deps.db.query('INSERT INTO listing_items (listing_id, item_id, quantity) VALUES ($1, $2, 1)', [listing.rows[0]!.id, itemId]);
  const purchase = await t.request('POST', '/store/purchases', {
    token: player.token,
    headers: { 'idempotency-key': randomUUID() },
    body: { listingId: listing.rows[0]!.id, quantity: 1, shippingAddress: ADDRESS },
  });
  if (purchase.status !== 201 || purchase.body.balanceAfter !== 200) throw new Error(`merch purchase answered ${purchase.status}: ${purchase.text}`);
  return { orderId: purchase.body.id as string, fulfillmentId: purchase.body.lines[0].fulfillment.id as string, player };
}

export async function createUser(t: TestApp, email: string | null = `${randomUUID().slice(0, 8)}@players.test`): Promise<string> {
  const id = randomUUID();
  await t.runtime.deps.db.query(
    `WITH u AS (INSERT INTO users (id, email, name) VALUES ($1, $2, 'Test Player'))
     INSERT INTO ledger_accounts (kind, user_id) VALUES ('user_wallet', $1)`,
    [id, email],
  );
  return id;
}

/** An order of one listing holding `items`, with its fulfillments created in the same transaction. */
export async function placeOrder(
  t: TestApp,
  input: { userId: string; items: Array<{ itemId: string; quantity?: number }>; shippingAddress?: ShippingAddress | null; price?: number },
): Promise<{ orderId: string; fulfillments: CreatedFulfillment[] }> {
  const { db } = t.runtime.deps;
  const { services } = t.runtime;
  const itemDefs = await services.catalog.getItemsInTx(db, input.items.map((i) => i.itemId));
  return db.withTx(async (tx) => {
    const price = input.price ?? 0;
    const { rows: [listing] } = await tx.query<{ id: string }>(
      `INSERT INTO listings (title, price, delivery_type) VALUES ('Fixture listing', $1, 'mixed') RETURNING id`,
      [price],
    );
    const { rows: [order] } = await tx.query<{ id: string }>(
      `INSERT INTO orders (user_id, listing_id, quantity, unit_price, total_price, shipping_address) VALUES ($1, $2, 1, $3, $3, $4) RETURNING id`,
      [input.userId, listing!.id, price, input.shippingAddress ? JSON.stringify(input.shippingAddress) : null],
    );
    const lines = [];
    for (const spec of input.items) {
      const item = itemDefs.find((d) => d.id === spec.itemId)!;
      const { rows: [line] } = await tx.query<{ id: string }>(
        `INSERT INTO order_lines (order_id, item_id, quantity, delivery_type) VALUES ($1, $2, $3, $4) RETURNING id`,
        [order!.id, item.id, spec.quantity ?? 1, item.deliveryType],
      );
      lines.push({ orderLineId: line!.id, item, quantity: spec.quantity ?? 1 });
    }
    const fulfillments = await services.fulfillment.createForOrderInTx(tx, {
      orderId: order!.id,
      userId: input.userId,
      lines,
      shippingAddress: input.shippingAddress ?? null,
    });
    return { orderId: order!.id, fulfillments };
  });
}

export async function fulfillmentRow(t: TestApp, id: string) {
  const { rows } = await t.runtime.deps.db.query<{ status: string; attempts: number; last_error: string | null; external_id: string | null; tracking_number: string | null; tracking_url: string | null }>(
    'SELECT status, attempts, last_error, external_id, tracking_number, tracking_url FROM fulfillments WHERE id = $1',
    [id],
  );
  return rows[0]!;
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const waitForStatus = (t: TestApp, id: string, status: string, timeoutMs?: number) =>
  waitFor(async () => {
    const row = await fulfillmentRow(t, id);
    return row.status === status ? row : undefined;
  }, `fulfillment ${id} to be ${status}`, timeoutMs);

// ───────────── a real SMTP server ─────────────
// The one controllable SMTP server of the repository (accept / reject / hang, stop and start on the same port).
export { startChaosSmtp as startSmtp, type ChaosSmtp as TestSmtp, type ReceivedMail } from '../../tools/chaos/smtp.js';
import type { ReceivedMail } from '../../tools/chaos/smtp.js';

/** The voucher codes in a mail's plain-text part (indented lines). */
export function codesInMail(mail: ReceivedMail): string[] {
  const text = mail.raw.split(/\r?\n\r?\n/).slice(1).join('\n');
  return [...text.matchAll(/^ {4}(\S+)\s*$/gm)].map((m) => m[1]!);
}

/** An order created on a Shopify simulator through its Admin GraphQL API, as the service creates one; its GID. */
export async function createSimulatorOrder(simUrl: string, accessToken: string, tag: string): Promise<string> {
  const response = await fetch(`${simUrl}/admin/api/2025-01/graphql.json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-shopify-access-token': accessToken },
    body: JSON.stringify({
      query: 'mutation orderCreate($order: OrderCreateOrderInput!) { orderCreate(order: $order) { order { id } userErrors { field message } } }',
      variables: { order: { lineItems: [{ variantId: 'gid://shopify/ProductVariant/1', quantity: 1 }], tags: [tag] } },
    }),
  });
  const body = (await response.json()) as { data: { orderCreate: { order: { id: string } | null } } };
  return body.data.orderCreate.order!.id;
}

export interface ShopifyStack {
  t: TestApp;
  sim: ShopifySimulator;
  close(): Promise<void>;
}

/**
 * The service with its workers, talking to a Shopify simulator of its own: the simulator starts first (the service
 * needs its URL), then sends its webhooks to the service; the service closes first.
 */
export async function startShopifyStack(options: { accessToken: string; webhookSecret: string; env?: Record<string, string> }): Promise<ShopifyStack> {
  const { accessToken, webhookSecret } = options;
  const sim = await startShopifySimulator({ webhookSecret, accessToken });
  let t: TestApp;
  try {
    t = await startTestApp({
      workers: true,
      env: { SHOPIFY_ADMIN_URL: sim.url, SHOPIFY_ACCESS_TOKEN: accessToken, SHOPIFY_WEBHOOK_SECRET: webhookSecret, ...options.env },
    });
  } catch (error) {
    await sim.close();
    throw error;
  }
  sim.setWebhookUrl(`${t.baseUrl}/webhooks/shopify`);
  return {
    t,
    sim,
    async close() {
      await t.close();
      await sim.close();
    },
  };
}

/** One Shopify stack for the whole test file: started before its tests (handed to `ready`), closed after them. */
export function useShopifyStack(options: Parameters<typeof startShopifyStack>[0], ready: (stack: ShopifyStack) => void): void {
  let stack: ShopifyStack | undefined;
  beforeAll(async () => {
    stack = await startShopifyStack(options);
    ready(stack);
  });
  afterAll(() => stack?.close());
}
