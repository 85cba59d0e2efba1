// The purchase's cost is its number of database round trips (docs/purchases.md § Performance): every statement
// the service waits for is a socket write and a wake-up on each side. These tests count them on the pg client
// for one purchase and hold an upper bound, so a refactoring that adds a statement fails here, not in a
// benchmark weeks later. A statement sent while another of the same connection is still in flight (pipelined)
// shares that round trip.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { count, createItem, createListing, expectLedgerConsistent, fundedPlayer, key } from './fixtures.js';

interface Counted {
  statements: string[];
  roundTrips: number;
}

let t: TestApp;
let recording: Counted | undefined;
const originalQuery = pg.Client.prototype.query;
const inFlight = new WeakMap<object, number>();

beforeAll(async () => {
  // Every statement of the service goes through pg.Client#query (pool.query checks a client out and calls it).
  pg.Client.prototype.query = function countedQuery(this: pg.Client & { pipeline?: boolean }, ...args: unknown[]) {
    if (!recording) return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    const config = args[0];
    const text = typeof config === 'string' ? config : String((config as { text?: string }).text ?? '');
    recording.statements.push(text.replace(/\s+/g, ' ').trim().slice(0, 60));
    const pending = inFlight.get(this) ?? 0;
    // Without pipeline mode pg queues a second statement until the first is answered: its own round trip.
    if (pending === 0 || !this.pipeline) recording.roundTrips++;
    inFlight.set(this, pending + 1);
    const settle = () => inFlight.set(this, (inFlight.get(this) ?? 1) - 1);
    // pool.query passes a callback; everything else gets a promise.
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (...results: unknown[]) => {
        settle();
        return (last as (...r: unknown[]) => unknown)(...results);
      };
    }
    const result = (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) result.then(settle, settle);
    return result;
  } as typeof pg.Client.prototype.query;
  t = await startTestApp();
});
afterAll(async () => {
  pg.Client.prototype.query = originalQuery;
  await t?.close();
});

async function measure(action: () => Promise<{ status: number }>, expectedStatus: number): Promise<Counted> {
  const counted: Counted = { statements: [], roundTrips: 0 };
  recording = counted;
  try {
    const response = await action();
    expect(response.status).toBe(expectedStatus);
  } finally {
    recording = undefined;
  }
  return counted;
}

const buy = (token: string, listingId: string, headers: Record<string, string> = key()) =>
  t.request('POST', '/store/purchases', { token, headers, body: { listingId } });

describe('database round trips of one purchase', () => {
  it('when a funded player buys an inventory-delivered consumable, then the purchase takes at most 3 round trips and 10 statements, none of them a SAVEPOINT', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 5, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 100);
    await buy(player.token, listing); // warms the provisioning memo, so only the purchase itself is counted

    const counted = await measure(() => buy(player.token, listing), 201);

    // BEGIN + key lock + key read + listing · debit + order and lines + fulfillments and events + grant ·
    // response + COMMIT (it was 12 round trips, each its own statement, before the cuts in docs/purchases.md
    // § Performance; the lock and read replaced a claim that was its own transaction and round trip, the listing
    // is read ahead in the key's round trip, and a success needs no SAVEPOINT: failures are stored by a second
    // transaction)
    expect(counted.roundTrips, counted.statements.join('\n')).toBeLessThanOrEqual(3);
    expect(counted.statements.length, counted.statements.join('\n')).toBeLessThanOrEqual(10);
    expect(counted.statements.filter((text) => /SAVEPOINT/i.test(text))).toEqual([]);
    expect(await count(t, 'inventory_items WHERE user_id = $1 AND item_id = $2 AND quantity = 2', [player.id, potion])).toBe(1);
    expect(await count(t, 'fulfillment_events e JOIN fulfillments f ON f.id = e.fulfillment_id WHERE f.user_id = $1', [player.id])).toBe(2);
  });

  it('when the same key is sent again, then the replay costs at most two round trips (lock and read with BEGIN, then COMMIT)', async () => {
    const potion = await createItem(t, { consumable: true, maxStack: 1000 });
    const listing = await createListing(t, { price: 5, items: [{ itemId: potion }] });
    const player = await fundedPlayer(t, 100);
    const headers = key();
    await buy(player.token, listing, headers);

    const counted = await measure(() => buy(player.token, listing, headers), 201);

    expect(counted.roundTrips, counted.statements.join('\n')).toBeLessThanOrEqual(2);
  });

  it('when a bundle of three inventory items is bought, then it costs no more round trips than a single item', async () => {
    const items = [await createItem(t, { consumable: true, maxStack: 1000 }), await createItem(t), await createItem(t, { consumable: true, maxStack: 50 })];
    const listing = await createListing(t, { price: 5, items: items.map((itemId, i) => ({ itemId, quantity: i === 1 ? 1 : 2 })) });
    const player = await fundedPlayer(t, 100);
    await buy(player.token, (await createListing(t, { price: 1, items: [{ itemId: items[0]! }] }))); // provisioning, as above

    const counted = await measure(() => buy(player.token, listing), 201);

    // A non-consumable adds the ownership read; the three lines share every other statement.
    expect(counted.roundTrips, counted.statements.join('\n')).toBeLessThanOrEqual(4);
    expect(counted.statements.length, counted.statements.join('\n')).toBeLessThanOrEqual(11);
    expect(await count(t, 'inventory_items WHERE user_id = $1', [player.id])).toBe(3);
    await expectLedgerConsistent(t);
  });
});
