// What must be true after any amount of chaos, checked against the database itself. The ledger's own audit
// (wallet module's verifyLedger) covers the money; the checks here cover orders, fulfillment, stock and keys,
// and compare the database with what the service acknowledged to its clients.
import type { Database, Executor } from '../../src/platform/db.js';
import { verifyLedger, type LedgerReport } from '../../src/modules/wallet/ledger-verifier.js';
import type { Observations } from './workload.js';

export interface InvariantReport {
  ok: boolean;
  /** Individual facts checked (one per order, line, key, listing, top-up, … plus the ledger audit's queries). */
  checks: number;
  violations: string[];
  ledger: LedgerReport;
  /** Final status of every fulfillment, by delivery type and status (e.g. `email delivered`). */
  fulfillments: Record<string, number>;
  /** Open fulfillments a job will still move (pending with a queued, retrying or running job; at Shopify). */
  stillMoving: number;
}

export async function checkInvariants(db: Database, observed: Observations, catalog: { limitedListingIds: string[]; voucherItemId?: string }): Promise<InvariantReport> {
  const violations: string[] = [];
  let checks = 0;
  const check = (ok: boolean, message: () => string) => {
    checks++;
    if (!ok) violations.push(message());
  };

  const ledger = await verifyLedger(db);
  checks += 5; // the audit's five whole-database queries (two legs, wallet = entries, legs, system rows, total 0)
  for (const violation of ledger.violations) violations.push(`ledger: ${violation}`);

  await checkOrders(db, observed, check);
  await checkKeys(db, observed, check);
  const { fulfillments, stillMoving } = await checkFulfillments(db, check);
  await checkStock(db, catalog.limitedListingIds, check);
  if (catalog.voucherItemId) await checkVouchers(db, catalog.voucherItemId, check);
  await checkCredits(db, observed, check);
  return { ok: violations.length === 0, checks, violations, ledger, fulfillments, stillMoving };
}

type Check = (ok: boolean, message: () => string) => void;

// Every acknowledged order exists as acknowledged; every order in the database is charged exactly once (and a
// refunded one refunded exactly once).
async function checkOrders(db: Executor, observed: Observations, check: Check): Promise<void> {
  const { rows } = await db.query<{ id: string; user_id: string; listing_id: string; quantity: number; total_price: number; status: string; idempotency_key: string | null; charges: number; charged: number; refunds: number }>(
    `SELECT o.id, o.user_id, o.listing_id, o.quantity, o.total_price, o.status, o.idempotency_key,
            (SELECT count(*)::int FROM ledger_transfers t WHERE t.reason = 'purchase' AND t.reference_type = 'order' AND t.reference_id = o.id::text) AS charges,
            (SELECT coalesce(sum(t.amount), 0) FROM ledger_transfers t WHERE t.reason = 'purchase' AND t.reference_type = 'order' AND t.reference_id = o.id::text) AS charged,
            (SELECT count(*)::int FROM ledger_transfers t JOIN ledger_entries e ON e.transfer_id = t.id JOIN ledger_accounts a ON a.id = e.account_id
              WHERE t.reason = 'refund' AND t.reference_type = 'order' AND t.reference_id = o.id::text AND a.kind = 'user_wallet' AND e.amount > 0) AS refunds
       FROM orders o`,
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const [id, acked] of observed.orders) {
    const row = byId.get(id);
    check(row !== undefined, () => `order ${id} was acknowledged with 201 but does not exist`);
    if (!row) continue;
    check(row.user_id === acked.userId && row.listing_id === acked.listingId && row.quantity === acked.quantity && row.total_price === acked.totalPrice,
      () => `order ${id} differs from its acknowledgement: ${JSON.stringify(row)} vs ${JSON.stringify(acked)}`);
  }
  for (const row of rows) {
    const expectedCharges = row.total_price > 0 ? 1 : 0;
    check(row.charges === expectedCharges && row.charged === row.total_price, () => `order ${row.id} (${row.total_price} gems) has ${row.charges} purchase transfer(s) of ${row.charged} gems in all`);
    const expectedRefunds = row.status === 'refunded' && row.total_price > 0 ? 1 : 0;
    check(row.refunds === expectedRefunds, () => `order ${row.id} (${row.status}) was refunded ${row.refunds} time(s)`);
  }
  for (const id of observed.refunds) check(byId.get(id)?.status === 'refunded', () => `order ${id}: refund acknowledged but the order is ${byId.get(id)?.status}`);
}

// One key, one order: in the database (the unique constraint) and in every answer the clients received.
async function checkKeys(db: Executor, observed: Observations, check: Check): Promise<void> {
  const { rows } = await db.query<{ user_id: string; idempotency_key: string; n: number }>(
    `SELECT user_id, idempotency_key, count(*)::int AS n FROM orders WHERE idempotency_key IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1`,
  );
  check(rows.length === 0, () => `idempotency keys with several orders: ${JSON.stringify(rows.slice(0, 5))}`);
  for (const [key, ids] of observed.ordersByKey) check(ids.size === 1, () => `key ${key} was answered with ${ids.size} different orders: ${[...ids].join(', ')}`);
  check(observed.replayMismatches.length === 0, () => `${observed.replayMismatches.length} replay(s) differed from the first answer: ${JSON.stringify(observed.replayMismatches.slice(0, 3))}`);
}

// Every paid line was granted, or its fulfillment is delivered, on its way (a job will run it, or Shopify has the
// order), or failed with its error for an operator. Nothing is pending with nobody coming for it.
async function checkFulfillments(db: Executor, check: Check): Promise<{ fulfillments: Record<string, number>; stillMoving: number }> {
  const { rows } = await db.query<{ line_id: string; order_id: string; order_status: string; delivery_type: string; f_id: string | null; status: string | null; last_error: string | null; external_id: string | null; job: boolean }>(
    `SELECT l.id AS line_id, l.order_id, o.status AS order_status, l.delivery_type, f.id AS f_id, f.status, f.last_error, f.external_id,
            EXISTS (SELECT 1 FROM pgboss.job j
                     WHERE j.name = 'fulfillment-deliver' AND j.state IN ('created', 'retry', 'active')
                       AND j.data->>'fulfillmentId' IN (SELECT s.id::text FROM fulfillments s WHERE s.order_id = l.order_id AND s.delivery_type = l.delivery_type)) AS job
       FROM order_lines l JOIN orders o ON o.id = l.order_id LEFT JOIN fulfillments f ON f.order_line_id = l.id`,
  );
  const fulfillments: Record<string, number> = {};
  let stillMoving = 0;
  for (const row of rows) {
    check(row.f_id !== null, () => `order line ${row.line_id} of order ${row.order_id} has no fulfillment`);
    if (!row.f_id) continue;
    const label = `${row.delivery_type} ${row.status}`;
    fulfillments[label] = (fulfillments[label] ?? 0) + 1;
    const what = `${row.delivery_type} fulfillment ${row.f_id} of ${row.order_status} order ${row.order_id}`;
    if (row.delivery_type === 'inventory' || row.delivery_type === 'functional') {
      check(row.status === 'delivered', () => `${what} is ${row.status}: in-transaction lines are delivered with the purchase`);
      continue;
    }
    switch (row.status) {
      case 'delivered':
      case 'cancelled':
        break;
      case 'failed':
        check(Boolean(row.last_error), () => `${what} failed without an error for the operator`);
        break;
      case 'pending':
        check(row.job, () => `${what} is pending with no job queued, retrying or running: nothing will ever deliver it`);
        if (row.job) stillMoving++;
        break;
      case 'processing':
      case 'shipped':
        check(row.delivery_type === 'shopify' && Boolean(row.external_id), () => `${what} is ${row.status} without a Shopify order`);
        stillMoving++;
        break;
      default:
        check(false, () => `${what} has unknown status ${row.status}`);
    }
  }
  return { fulfillments, stillMoving };
}

// A limited listing never sells more than it had: what is gone equals what completed orders hold.
async function checkStock(db: Executor, listingIds: string[], check: Check): Promise<void> {
  const { rows } = await db.query<{ id: string; stock_total: number; stock_remaining: number; sold: number }>(
    `SELECT l.id, l.stock_total, l.stock_remaining,
            (SELECT coalesce(sum(o.quantity), 0)::int FROM orders o WHERE o.listing_id = l.id AND o.status = 'completed') AS sold
       FROM listings l WHERE l.id = ANY($1::uuid[])`,
    [listingIds],
  );
  for (const row of rows) {
    check(row.stock_remaining >= 0 && row.sold <= row.stock_total, () => `listing ${row.id} oversold: ${row.sold} sold of ${row.stock_total}`);
    check(row.stock_total - row.stock_remaining === row.sold, () => `listing ${row.id}: ${row.stock_total - row.stock_remaining} units gone from stock, ${row.sold} in completed orders`);
  }
  const limits = await db.query<{ user_id: string; listing_id: string; units: number; held: number; per_user_limit: number }>(
    `SELECT u.user_id, u.listing_id, u.units, l.per_user_limit,
            (SELECT coalesce(sum(o.quantity), 0)::int FROM orders o WHERE o.user_id = u.user_id AND o.listing_id = u.listing_id AND o.status = 'completed') AS held
       FROM purchase_limit_usage u JOIN listings l ON l.id = u.listing_id`,
  );
  for (const row of limits.rows) {
    check(row.units === row.held && row.held <= row.per_user_limit, () => `user ${row.user_id} holds ${row.held} of listing ${row.listing_id} (limit ${row.per_user_limit}, counter ${row.units})`);
  }
}

// Each code goes to one fulfillment, and every live email line holds exactly as many codes as it bought.
async function checkVouchers(db: Executor, itemId: string, check: Check): Promise<void> {
  const { rows } = await db.query<{ id: string; status: string; quantity: number; codes: number }>(
    `SELECT f.id, f.status, l.quantity, (SELECT count(*)::int FROM voucher_codes v WHERE v.fulfillment_id = f.id) AS codes
       FROM fulfillments f JOIN order_lines l ON l.id = f.order_line_id WHERE l.item_id = $1`,
    [itemId],
  );
  for (const row of rows) {
    if (row.status === 'cancelled') check(row.codes <= row.quantity, () => `cancelled voucher fulfillment ${row.id} holds ${row.codes} codes for ${row.quantity}`);
    else check(row.codes === row.quantity, () => `voucher fulfillment ${row.id} (${row.status}) holds ${row.codes} codes for ${row.quantity} bought`);
  }
  const claimed = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM voucher_codes WHERE item_id = $1 AND claimed_at IS NOT NULL AND fulfillment_id IS NULL`, [itemId]);
  check(claimed.rows[0]!.n === 0, () => `${claimed.rows[0]!.n} voucher code(s) claimed by no fulfillment`);
}

// Every acknowledged top-up and grant is credited exactly once. reference_type leads ledger_transfers_reference_idx:
// without it each grant's count was a scan of every transfer, which timed out after a full chaos run.
async function checkCredits(db: Executor, observed: Observations, check: Check): Promise<void> {
  const topUps = await db.query<{ reference_id: string; n: number; amount: number }>(
    `SELECT reference_id, count(*)::int AS n, sum(amount) AS amount FROM ledger_transfers WHERE reference_type = 'topup' AND reason = 'topup' AND reference_id = ANY($1::text[]) GROUP BY 1`,
    [[...observed.topUps.keys()]],
  );
  const credited = new Map(topUps.rows.map((row) => [row.reference_id, row]));
  for (const [eventId, topUp] of observed.topUps) {
    const row = credited.get(eventId);
    check(row?.n === 1 && row.amount === topUp.gems, () => `top-up ${eventId} (${topUp.gems} gems) credited ${row?.n ?? 0} time(s)`);
  }
  const grants = await db.query<{ id: string; n: number }>(
    `SELECT g.id::text AS id, (SELECT count(*)::int FROM ledger_transfers t
               WHERE t.reference_type = 'grant' AND t.reference_id = g.id::text AND t.reason = 'grant') AS n
       FROM grants g WHERE g.id = ANY($1::uuid[])`,
    [[...observed.grants.keys()]],
  );
  const found = new Map(grants.rows.map((row) => [row.id, row.n]));
  for (const [id, grant] of observed.grants) check(found.get(id) === (grant.gems > 0 ? 1 : 0), () => `grant ${id} acknowledged; ${found.get(id) ?? 'no'} grant transfer(s)`);
}
