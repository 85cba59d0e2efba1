// Real parallel HTTP against real PostgreSQL: each scenario fires its requests at once and then checks the
// database itself, and the ledger's invariants, not only the responses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { balanceOf, count, createItem, createListing, expectLedgerConsistent, fundedPlayer, key } from './fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const buy = (token: string, body: unknown, headers: Record<string, string> = key()) => t.request('POST', '/store/purchases', { token, headers, body });
const statuses = (responses: Array<{ status: number; body: any }>) =>
  responses.reduce<Record<string, number>>((acc, r) => {
    const label = r.status === 201 ? '201' : `${r.status} ${r.body?.code}`;
    acc[label] = (acc[label] ?? 0) + 1;
    return acc;
  }, {});

describe('purchases under concurrency', () => {
  it('when 40 purchases race on a wallet holding enough for 10, then exactly 10 orders exist and the balance is exactly 0', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 10, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 100);
    const responses = await Promise.all(Array.from({ length: 40 }, () => buy(player.token, { listingId: listing })));
    expect(statuses(responses)).toEqual({ '201': 10, '409 insufficient_funds': 30 });
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(10);
    expect(await balanceOf(t, player.id)).toBe(0);
    expect(await count(t, 'inventory_items WHERE user_id = $1 AND quantity = 10', [player.id])).toBe(1);
    await expectLedgerConsistent(t);
  });

  it('when 25 requests share one Idempotency-Key, then one order is charged once and the rest are replays or in-progress', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 10, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 1000);
    const headers = key();
    const responses = await Promise.all(Array.from({ length: 25 }, () => buy(player.token, { listingId: listing }, headers)));
    const created = responses.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(created.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const r of responses.filter((r) => r.status !== 201)) expect([r.status, r.body.code]).toEqual([409, 'idempotency_in_progress']);
    expect(await count(t, 'orders WHERE user_id = $1', [player.id])).toBe(1);
    expect(await balanceOf(t, player.id)).toBe(990);
    // Once finished, every retry is a replay of that one order.
    const retry = await buy(player.token, { listingId: listing }, headers);
    expect([retry.status, retry.body.id, retry.headers.get('idempotent-replayed')]).toEqual([201, created[0]!.body.id, 'true']);
    await expectLedgerConsistent(t);
  });

  it('when 15 buyers race for 5 units of stock, then exactly 5 orders exist, stock is 0 and only the buyers paid', async () => {
    const drop = await createItem(t);
    const listing = await createListing(t, { price: 25, items: [{ itemId: drop }], stock: 5 });
    const buyers = await Promise.all(Array.from({ length: 15 }, () => fundedPlayer(t, 25)));
    const responses = await Promise.all(buyers.map((b) => buy(b.token, { listingId: listing })));
    expect(statuses(responses)).toEqual({ '201': 5, '409 out_of_stock': 10 });
    expect(await count(t, 'orders WHERE listing_id = $1', [listing])).toBe(5);
    expect(await count(t, 'listings WHERE id = $1 AND stock_remaining = 0', [listing])).toBe(1);
    const balances = await Promise.all(buyers.map((b) => balanceOf(t, b.id)));
    expect(balances.filter((b) => b === 0)).toHaveLength(5);
    expect(balances.filter((b) => b === 25)).toHaveLength(10);
    await expectLedgerConsistent(t);
  });

  it('when one player fires 12 parallel purchases at a listing limited to 3 per user, then exactly 3 succeed', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion }], perUserLimit: 3 });
    const player = await fundedPlayer(t, 100);
    const responses = await Promise.all(Array.from({ length: 12 }, () => buy(player.token, { listingId: listing })));
    expect(statuses(responses)).toEqual({ '201': 3, '409 purchase_limit_reached': 9 });
    expect(await count(t, 'orders WHERE user_id = $1 AND listing_id = $2', [player.id, listing])).toBe(3);
    expect(await balanceOf(t, player.id)).toBe(97);
    // The limit is per user: someone else still may buy.
    const other = await fundedPlayer(t, 10);
    expect((await buy(other.token, { listingId: listing, quantity: 3 })).status).toBe(201);
    expect((await buy(other.token, { listingId: listing })).body.code).toBe('purchase_limit_reached');
    await expectLedgerConsistent(t);
  });

  it('when parallel purchases of one player mix quantities against a per-user limit of 5 units, then no more than 5 units are sold', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 1, items: [{ itemId: potion }], perUserLimit: 5 });
    const player = await fundedPlayer(t, 100);
    await Promise.all([2, 2, 2, 3, 1, 1, 4].map((quantity) => buy(player.token, { listingId: listing, quantity })));
    const { rows } = await t.runtime.deps.db.query<{ units: number }>('SELECT coalesce(sum(quantity), 0)::int AS units FROM orders WHERE user_id = $1', [player.id]);
    expect(rows[0]!.units).toBeLessThanOrEqual(5);
    expect(await balanceOf(t, player.id)).toBe(100 - rows[0]!.units);
    await expectLedgerConsistent(t);
  });

  it('when a non-consumable is bought 10 times in parallel by its would-be owner, then it is owned and paid once', async () => {
    const skin = await createItem(t);
    const listing = await createListing(t, { price: 10, items: [{ itemId: skin }] });
    const player = await fundedPlayer(t, 100);
    const responses = await Promise.all(Array.from({ length: 10 }, () => buy(player.token, { listingId: listing })));
    expect(statuses(responses)).toEqual({ '201': 1, '409 already_owned': 9 });
    expect(await balanceOf(t, player.id)).toBe(90);
    await expectLedgerConsistent(t);
  });

  it('when many players buy and refunds run at the same time, then every invariant holds afterwards', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 3, items: [{ itemId: potion }], stock: 30 });
    const players = await Promise.all(Array.from({ length: 10 }, () => fundedPlayer(t, 9)));
    const first = await Promise.all(players.map((p) => buy(p.token, { listingId: listing })));
    const refunds = first.map((r) => t.request('POST', `/admin/orders/${r.body.id}/refund`, { token: t.adminToken, headers: key() }));
    const more = players.flatMap((p) => [buy(p.token, { listingId: listing }), buy(p.token, { listingId: listing })]);
    const results = await Promise.all([...refunds, ...more]);
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(await count(t, `orders WHERE listing_id = $1 AND status = 'refunded'`, [listing])).toBe(10);
    const { rows } = await t.runtime.deps.db.query<{ sold: number; remaining: number }>(
      `SELECT (SELECT coalesce(sum(quantity), 0)::int FROM orders WHERE listing_id = $1 AND status = 'completed') AS sold,
              stock_remaining AS remaining FROM listings WHERE id = $1`,
      [listing],
    );
    expect(rows[0]!.sold + rows[0]!.remaining).toBe(30);
    await expectLedgerConsistent(t);
  });
});
