// Rows that are only ever appended get time-ordered ids (UUIDv7, RFC 9562), so their keys land on the rightmost
// leaves of every index that carries them instead of on a random page each (src/platform/ids.ts, migration 0079;
// the measured effect is in docs/performance.md). These tests hold the ids' shape, not the speed: a random v4
// creeping back in (a new table with gen_random_uuid(), a call site with randomUUID()) fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRowId } from '../../src/platform/ids.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing, db, fundedPlayer, key } from '../purchases/fixtures.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix time in ms a v7 id carries in its first 48 bits. */
const timeOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('time-ordered row ids', () => {
  it('when the service makes an id, then it is a UUIDv7 carrying the current time, and a later one sorts after it', async () => {
    const before = Date.now();
    const first = newRowId();
    await new Promise((resolve) => setTimeout(resolve, 3));
    const second = newRowId();

    expect(first).toMatch(V7);
    expect(second).toMatch(V7);
    expect(timeOf(first)).toBeGreaterThanOrEqual(before);
    expect(timeOf(second)).toBeLessThanOrEqual(Date.now());
    expect(second > first).toBe(true);
  });

  it('when the schema is migrated, then every uuid id the database generates comes from uuid_generate_v7(), none from gen_random_uuid()', async () => {
    const { rows } = await db(t).query<{ table_name: string; column_default: string }>(
      `SELECT table_name, column_default FROM information_schema.columns
        WHERE table_schema = 'public' AND data_type = 'uuid' AND column_default IS NOT NULL ORDER BY table_name`,
    );
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((row) => row.column_default !== 'uuid_generate_v7()')).toEqual([]);

    const generated = await db(t).query<{ id: string; now_ms: string }>(
      'SELECT uuid_generate_v7()::text AS id, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint::text AS now_ms',
    );
    const { id, now_ms } = generated.rows[0]!;
    expect(id).toMatch(V7);
    expect(Math.abs(timeOf(id) - Number(now_ms))).toBeLessThan(1000);
  });

  it('when a player buys and is granted an item, then the order, its lines, fulfillments, ledger transfers and inventory entry all have v7 ids', async () => {
    const skin = await createItem(t);
    const listing = await createListing(t, { price: 10, items: [{ itemId: skin }] });
    const player = await fundedPlayer(t, 50);

    const bought = await t.request('POST', '/store/purchases', { token: player.token, headers: key(), body: { listingId: listing } });
    expect(bought.status).toBe(201);
    const orderId: string = bought.body.id;

    const ids = await db(t).query<{ kind: string; id: string }>(
      `SELECT 'order' AS kind, id::text FROM orders WHERE id = $1
       UNION ALL SELECT 'line', id::text FROM order_lines WHERE order_id = $1
       UNION ALL SELECT 'fulfillment', id::text FROM fulfillments WHERE order_id = $1
       UNION ALL SELECT 'inventory', id::text FROM inventory_items WHERE user_id = $2
       UNION ALL SELECT 'transfer', t.id::text FROM ledger_transfers t
                   JOIN ledger_entries e ON e.transfer_id = t.id
                   JOIN ledger_accounts a ON a.id = e.account_id AND a.user_id = $2`,
      [orderId, player.id],
    );
    const kinds = ids.rows.map((row) => row.kind).sort();
    // the grant that funded the player and the purchase's debit are the two transfers
    expect(kinds).toEqual(['fulfillment', 'inventory', 'line', 'order', 'transfer', 'transfer']);
    expect(ids.rows.filter((row) => !V7.test(row.id))).toEqual([]);

    const grant = await db(t).query<{ id: string }>('SELECT id::text FROM grants WHERE user_id = $1', [player.id]);
    expect(grant.rows[0]!.id).toMatch(V7);
  });
});
