import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type Tx } from '../../src/platform/db.js';
import { createTestDatabase } from '../support/database.js';
import { findStoreListing, findStorePage, SORTS, type StoreFilter, type StoreSort } from '../../src/modules/catalog/storefront.repository.js';
import { findPurchasableListing } from '../../src/modules/catalog/purchase.repository.js';
import { listInventoryPage } from '../../src/modules/inventory/inventory-list.repository.js';
import { findBalance, listEntries } from '../../src/modules/wallet/wallet.repository.js';
import { claimCodes, countFree } from '../../src/modules/fulfillment/vouchers.repository.js';
import { listFulfillments } from '../../src/modules/fulfillment/fulfillment.repository.js';
import { findCharactersByIds, listCharacters } from '../../src/modules/characters/characters.repository.js';
import { findFulfillmentEvents, findLines, findOrder, listOrders, listUserOrders } from '../../src/modules/purchases/order-history.repository.js';
import { takeLimitUnits } from '../../src/modules/purchases/purchases.repository.js';

// The EXPLAIN check: every hot query, as the modules issue it, is planned against a database with realistic
// volume (query-plans.seed.sql), and none may read a big table sequentially. Queries are captured by running the
// modules' own repository functions through an executor that EXPLAINs each statement before running it, so the
// SQL checked here is the SQL that ships.

/** Tables at or above this many rows must never be scanned sequentially by a hot query. */
const BIG_TABLE_ROWS = 2000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

interface CapturedPlan {
  sql: string;
  plan: PlanNode;
}

let database: { url: string; drop: () => Promise<void> };
let db: Database;
let bigTables: Set<string>;
beforeAll(async () => {
  database = await createTestDatabase();
  db = await openDatabase({ url: database.url, poolSize: 2, statementTimeoutMs: 120_000 });
  await db.query(await readFile(new URL('./query-plans.seed.sql', import.meta.url), 'utf8'));
  const { rows } = await db.query<{ relname: string }>(
    `SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace AND reltuples >= $1`,
    [BIG_TABLE_ROWS],
  );
  bigTables = new Set(rows.map((row) => row.relname));
});
afterAll(async () => {
  await db?.close();
  await database?.drop();
});

/** Runs `work` with an executor that records the plan of every statement, then runs the statement for real. */
async function plansOf(work: (executor: Tx) => Promise<unknown>): Promise<CapturedPlan[]> {
  const captured: CapturedPlan[] = [];
  // Writes made while capturing (a voucher claim) are rolled back: every case sees the seeded data.
  class Rollback extends Error {}
  await db.withTx(async (tx) => {
    const explaining: Tx = {
      inTransaction: true,
      async query<R>(text: string, params?: readonly unknown[]) {
        const { rows } = await tx.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${text}`, params);
        captured.push({ sql: text, plan: rows[0]!['QUERY PLAN'][0]!.Plan });
        return tx.query<R>(text, params);
      },
    };
    await work(explaining);
    throw new Rollback();
  }).catch((error: unknown) => {
    if (!(error instanceof Rollback)) throw error;
  });
  return captured;
}

function sequentialScans(node: PlanNode, found: string[] = []): string[] {
  if (node['Node Type'] === 'Seq Scan' && node['Relation Name'] && bigTables.has(node['Relation Name'])) found.push(node['Relation Name']);
  for (const child of node.Plans ?? []) sequentialScans(child, found);
  return found;
}

async function expectIndexOnly(work: (executor: Tx) => Promise<unknown>): Promise<void> {
  const plans = await plansOf(work);
  expect(plans.length).toBeGreaterThan(0);
  for (const { sql, plan } of plans) {
    const scans = sequentialScans(plan);
    expect(scans, `sequential scan of ${scans.join(', ')} in:\n${sql}\n${JSON.stringify(plan, null, 1)}`).toEqual([]);
  }
}

const id = async (sql: string) => (await db.query<{ id: string }>(sql)).rows[0]!.id;
const userId = () => id(`SELECT md5('user' || 4242)::uuid AS id`);

describe('the seed', () => {
  it('when the check runs, then the tables that matter are big enough for the planner to care', () => {
    for (const table of ['item_definitions', 'listings', 'users', 'inventory_items', 'ledger_entries', 'ledger_transfers', 'orders', 'order_lines', 'fulfillments', 'voucher_codes', 'characters', 'character_equipment']) {
      expect(bigTables, table).toContain(table);
    }
  });
});

describe('storefront', () => {
  const filters: Array<[string, () => Promise<StoreFilter>]> = [
    ['no filter', async () => ({})],
    ['a game', async () => ({ gameId: await id(`SELECT md5('game' || 2)::uuid AS id`) })],
    ['a kind', async () => ({ kind: 'voucher' })],
    ['a tag', async () => ({ tag: 'tag-7' })],
    ['a delivery type', async () => ({ deliveryType: 'email' })],
    ['a price range', async () => ({ minPrice: 100, maxPrice: 400 })],
    ['featured only', async () => ({ featured: true })],
    ['a name search', async () => ({ q: 'item 12' })],
  ];

  for (const sort of Object.keys(SORTS) as StoreSort[]) {
    for (const [label, filter] of filters) {
      it(`when a ${sort} page with ${label} is read, then its first and next page use indexes`, async () => {
        const query = { now: new Date(), filter: await filter(), sort, after: undefined as unknown[] | undefined, limit: 20 };
        const first = await findStorePage(db, query);
        await expectIndexOnly(async (x) => {
          await findStorePage(x, query);
          if (first.nextKey) await findStorePage(x, { ...query, after: first.nextKey });
        });
      });
    }
  }

  it('when one listing is read for its page or for a purchase, then it is found by key', async () => {
    const listingId = await id(`SELECT md5('listing' || 1234)::uuid AS id`);
    await expectIndexOnly(async (x) => {
      await findStoreListing(x, listingId, new Date());
      await findPurchasableListing(x, listingId);
    });
  });
});

describe('player history', () => {
  it('when a player reads an inventory page (all filters), then inventory_items_user_idx serves it', async () => {
    const user = await userId();
    await expectIndexOnly(async (x) => {
      const page = await listInventoryPage(x, { userId: user, filter: {}, limit: 21 });
      const last = page[Math.min(page.length, 5) - 1]!;
      await listInventoryPage(x, { userId: user, filter: {}, after: { acquiredAt: last.sortKey, id: last.id }, limit: 5 });
      await listInventoryPage(x, { userId: user, filter: { kind: 'game_skin', consumable: false, equipped: true, gameId: await id(`SELECT md5('game' || 1)::uuid AS id`) }, limit: 21 });
    });
  });

  it('when a player reads the wallet and a transactions page, then ledger_entries_account_idx serves it', async () => {
    const user = await userId();
    await expectIndexOnly(async (x) => {
      await findBalance(x, user);
      const page = await listEntries(x, user, null, 21);
      await listEntries(x, user, page[2]!.entry_id, 21);
    });
  });

  it('when a player reads a purchase history page, its next page and one order, then orders_user_idx and keys serve them', async () => {
    const user = await userId();
    await expectIndexOnly(async (x) => {
      const page = await listUserOrders(x, user, null, 3);
      const last = page[page.length - 1]!;
      await listUserOrders(x, user, [last.created_us, last.id], 3);
      const lines = await findLines(x, page.map((order) => order.id), false);
      await findOrder(x, page[0]!.id);
      await findLines(x, [page[0]!.id], true);
      await findFulfillmentEvents(x, lines.flatMap((line) => (line.fulfillment_id ? [line.fulfillment_id] : [])));
    });
  });

  it('when a purchase takes units of a per-user limit, then orders_user_listing_idx counts what the user bought', async () => {
    const user = await userId();
    const listingId = await id(`SELECT listing_id AS id FROM orders WHERE user_id = md5('user' || 4242)::uuid LIMIT 1`);
    await expectIndexOnly((x) => takeLimitUnits(x, user, listingId, 1, 10));
  });

  it('when operators page through orders of a status, then orders_status_idx serves it', async () => {
    await expectIndexOnly((x) => listOrders(x, 'completed', null, 21));
  });

  it('when a player lists characters and a game server batch-loads 100 loadouts, then lookups are by key', async () => {
    const user = await userId();
    const { rows } = await db.query<{ id: string }>(`SELECT md5('character' || c)::uuid AS id FROM generate_series(1, 20000, 200) c`);
    expect(rows).toHaveLength(100);
    await expectIndexOnly(async (x) => {
      await listCharacters(x, { userId: user, limit: 21 });
      await findCharactersByIds(x, rows.map((row) => row.id));
    });
  });
});

describe('fulfillment', () => {
  it('when a voucher code is claimed and the free codes are counted, then voucher_codes_available_idx serves both', async () => {
    const itemId = await id(`SELECT md5('item' || 503)::uuid AS id`);
    const fulfillmentId = await id(`SELECT md5('fulfillment' || 1)::uuid AS id`);
    await expectIndexOnly(async (x) => {
      expect(await claimCodes(x, itemId, fulfillmentId, 1)).toBe(1);
      await countFree(x, itemId);
    });
  });

  it('when operators page through failed fulfillments, then fulfillments_status_idx serves it', async () => {
    await expectIndexOnly((x) => listFulfillments(x, { status: 'failed', limit: 21 }));
  });
});
