// Graceful shutdown of the real process: SIGTERM to a child `src/main.ts` (API and workers) while purchases are
// in flight (held on a wallet row lock we own) and a voucher mail is mid-send (SMTP holding the message). The
// process stops taking new work, lets the purchases finish with 201, lets the delivery finish, and exits 0.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { openDatabase } from '../../src/platform/db.js';
import { signToken } from '../../src/platform/auth.js';
import { verifyLedger } from '../../src/modules/wallet/ledger-verifier.js';
import { buildService, freePort, killAllChildren, serviceProcess, type ServiceBuild, type ServiceProcess } from '../../tools/chaos/processes.js';
import { startChaosSmtp, type ChaosSmtp } from '../../tools/chaos/smtp.js';
import { call, sleep } from '../../tools/chaos/client.js';

const JWT_SECRET = 'shutdown-test-secret-shutdown-test';
// Fewer than would queue past the pool's 10 s lock_timeout on a slow machine before they are all waiting.
const IN_FLIGHT = 5;
let database: { url: string; drop: () => Promise<void> };
let smtp: ChaosSmtp;
let build: ServiceBuild;
let api: ServiceProcess;
let locker: pg.Client | undefined;
let observer: pg.Client | undefined;

beforeAll(async () => {
  [database, smtp, build] = await Promise.all([createTestDatabase(), startChaosSmtp({ socketTimeoutMs: 60_000 }), buildService()]);
  api = serviceProcess({
    name: 'api+workers',
    role: 'api',
    workersInApi: true,
    port: await freePort(),
    build,
    env: { DATABASE_URL: database.url, JWT_SECRET, SMTP_URL: smtp.url, LOG_LEVEL: 'info', RATE_LIMIT_ENABLED: 'false', SEED_DEMO: 'false', REDIS_KEY_PREFIX: `bb-shutdown-${randomUUID().slice(0, 8)}` },
  });
  await api.start();
});
afterAll(async () => {
  await locker?.end().catch(() => undefined);
  await observer?.end().catch(() => undefined);
  await killAllChildren();
  await smtp?.close();
  await build?.dispose();
  await database?.drop();
});

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('graceful shutdown', () => {
  it('when SIGTERM arrives with purchases and a delivery in flight, then the purchases answer 201, the mail is delivered, new work is refused and the process exits 0', async () => {
    const base = api.baseUrl;
    const admin = await signToken(JWT_SECRET, { sub: randomUUID(), role: 'admin' });
    const service = await signToken(JWT_SECRET, { sub: randomUUID(), role: 'service' });
    const playerId = randomUUID();
    const player = await signToken(JWT_SECRET, { sub: playerId, role: 'player', email: 'shutdown@players.test' });
    const ok = async (method: string, path: string, token: string, body: unknown, headers: Record<string, string> = {}) => {
      const reply = await call(base, method, path, { token, body, headers });
      expect(reply.status, `${method} ${path}: ${JSON.stringify(reply.body)}`).toBeLessThan(300);
      return reply.body;
    };
    const voucher = await ok('POST', '/admin/items', admin, { sku: `v-${randomUUID()}`, name: 'Voucher', kind: 'voucher', consumable: true, deliveryType: 'email' });
    await ok('POST', `/admin/items/${voucher.id}/vouchers`, admin, { codes: ['SHUTDOWN-1', 'SHUTDOWN-2'] });
    const voucherListing = await ok('POST', '/admin/listings', admin, { title: 'Voucher', price: 10, items: [{ itemId: voucher.id, quantity: 1 }] });
    const potion = await ok('POST', '/admin/items', admin, { sku: `p-${randomUUID()}`, name: 'Potion', kind: 'utility', consumable: true, maxStack: 1000, deliveryType: 'inventory' });
    const potionListing = await ok('POST', '/admin/listings', admin, { title: 'Potion', price: 3, items: [{ itemId: potion.id, quantity: 1 }] });
    await ok('POST', '/service/grants', service, { userId: playerId, gems: 500, reason: 'shutdown test' }, { 'idempotency-key': randomUUID() });

    // A delivery in flight: the mail server takes the message and holds its answer.
    smtp.setMode('hang');
    const mailOrder = await ok('POST', '/store/purchases', player, { listingId: voucherListing.id, quantity: 1 }, { 'idempotency-key': randomUUID() });
    await until('the voucher mail to be mid-send', () => smtp.hung >= 1);

    // Purchases in flight: they queue on the player's wallet row, which this connection holds locked.
    locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    observer = new pg.Client({ connectionString: database.url });
    await observer.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM ledger_accounts WHERE user_id = $1 FOR UPDATE', [playerId]);
    const purchases = Array.from({ length: IN_FLIGHT }, () =>
      call(base, 'POST', '/store/purchases', { token: player, body: { listingId: potionListing.id, quantity: 1 }, headers: { 'idempotency-key': randomUUID() }, timeoutMs: 30_000 }));
    await until(`${IN_FLIGHT} purchases to wait on the wallet lock`, async () => {
      // Not through `locker`: inside its transaction pg_stat_activity would be one frozen snapshot.
      const { rows } = await observer!.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock' AND query ILIKE '%ledger_accounts%'`,
      );
      return rows[0]!.n >= IN_FLIGHT;
    });

    const linesBefore = api.logs.length;
    const exited = api.kill('SIGTERM', 45_000);
    await api.waitForLog(/shutting down/, 10_000, linesBefore);
    // New work is refused at once (503 on a kept-alive connection, or the port is already closed), never queued.
    const late = await call(base, 'GET', '/healthz', { timeoutMs: 5000 });
    expect([0, 503]).toContain(late.status);

    await locker.query('COMMIT');
    const answered = await Promise.all(purchases);
    expect(answered.map((r) => r.status)).toEqual(Array(IN_FLIGHT).fill(201));
    smtp.setMode('accept');
    const exit = await exited;
    if (exit.code !== 0) console.log(api.logs.slice(linesBefore).join('\n'));
    expect(exit).toEqual({ code: 0, signal: null });

    const db = await openDatabase({ url: database.url, poolSize: 1 });
    try {
      const orders = await db.query<{ id: string }>('SELECT id FROM orders WHERE user_id = $1', [playerId]);
      expect(orders.rows.map((r) => r.id).sort()).toEqual([mailOrder.id, ...answered.map((r) => r.body.id)].sort());
      const mail = await db.query<{ status: string }>('SELECT status FROM fulfillments WHERE order_id = $1', [mailOrder.id]);
      expect(mail.rows).toEqual([{ status: 'delivered' }]);
      expect(smtp.mails.filter((m) => m.messageId?.includes(mailOrder.lines[0].fulfillment.id))).toHaveLength(1);
      const claims = await db.query('SELECT key FROM idempotency_keys WHERE status = $1', ['in_progress']);
      expect(claims.rows).toEqual([]);
      const ledger = await verifyLedger(db);
      expect(ledger.violations).toEqual([]);
      expect(ledger.userBalanceTotal).toBe(500 - 10 - IN_FLIGHT * 3);
    } finally {
      await db.close();
    }
    expect(api.logs.slice(linesBefore).some((line) => line.includes('shutdown complete'))).toBe(true);
  }, 120_000);
});
