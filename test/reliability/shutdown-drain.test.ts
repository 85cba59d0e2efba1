// SIGTERM while requests are still arriving: a request the client had fully sent before the signal, but that the
// busy process had not read yet, is answered (201, or 503 refused with Retry-After), never dropped with a
// connection reset that leaves the client unable to tell whether it was charged.
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.js';
import { openDatabase } from '../../src/platform/db.js';
import { signToken } from '../../src/platform/auth.js';
import { verifyLedger } from '../../src/modules/wallet/ledger-verifier.js';
import { buildService, freePort, killAllChildren, serviceProcess, type ServiceBuild, type ServiceProcess } from '../../tools/chaos/processes.js';
import { call } from '../../tools/chaos/client.js';

const JWT_SECRET = 'shutdown-drain-secret-shutdown-drain';
const REQUESTS = 48;
let database: { url: string; drop: () => Promise<void> };
let build: ServiceBuild;
let api: ServiceProcess;

beforeAll(async () => {
  [database, build] = await Promise.all([createTestDatabase(), buildService()]);
  api = serviceProcess({
    name: 'api',
    role: 'api',
    port: await freePort(),
    build,
    env: { DATABASE_URL: database.url, JWT_SECRET, LOG_LEVEL: 'warn', RATE_LIMIT_ENABLED: 'false', SEED_DEMO: 'false', REDIS_KEY_PREFIX: `bb-drain-${randomUUID().slice(0, 8)}` },
  });
  await api.start();
});
afterAll(async () => {
  await killAllChildren();
  await build?.dispose();
  await database?.drop();
});

/** One request on its own connection: the status line answered, or how the connection ended without one. */
function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}
function answerOf(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.removeAllListeners('error');
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(text ? text : `no answer: ${error.code}`));
    socket.on('close', () => resolve(text || 'no answer: closed'));
  });
}

describe('graceful shutdown with requests arriving', () => {
  it('when SIGTERM follows a burst of fully sent purchases, then every one is answered 201 or 503 and charged exactly when 201', async () => {
    const base = api.baseUrl;
    const port = Number(new URL(base).port);
    const admin = await signToken(JWT_SECRET, { sub: randomUUID(), role: 'admin' });
    const service = await signToken(JWT_SECRET, { sub: randomUUID(), role: 'service' });
    const playerId = randomUUID();
    const player = await signToken(JWT_SECRET, { sub: playerId, role: 'player' });
    const ok = async (path: string, token: string, body: unknown, headers: Record<string, string> = {}) => {
      const reply = await call(base, 'POST', path, { token, body, headers });
      expect(reply.status, `${path}: ${JSON.stringify(reply.body)}`).toBeLessThan(300);
      return reply.body;
    };
    const potion = await ok('/admin/items', admin, { sku: `p-${randomUUID()}`, name: 'Potion', kind: 'utility', consumable: true, maxStack: 1000, deliveryType: 'inventory' });
    const listing = await ok('/admin/listings', admin, { title: 'Potion', price: 2, items: [{ itemId: potion.id, quantity: 1 }] });
    await ok('/service/grants', service, { userId: playerId, gems: 1000, reason: 'drain test' }, { 'idempotency-key': randomUUID() });

    const sockets = await Promise.all(Array.from({ length: REQUESTS }, () => openSocket(port)));
    const keys = sockets.map(() => randomUUID());
    const answers = sockets.map((socket) => answerOf(socket));
    const body = JSON.stringify({ listingId: listing.id, quantity: 1 });
    sockets.forEach((socket, i) =>
      socket.write(
        `POST /store/purchases HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${player}\r\nContent-Type: application/json\r\n` +
          `Idempotency-Key: ${keys[i]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      ),
    );
    const exit = await api.kill('SIGTERM', 45_000);
    const replies = await Promise.all(answers);
    const statuses = replies.map((text) => /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? text);
    expect(statuses.filter((s) => s !== '201' && s !== '503')).toEqual([]);
    for (const text of replies.filter((t) => t.startsWith('HTTP/1.1 503'))) {
      expect(text).toMatch(/retry-after: 1/i);
      expect(text).toMatch(/"code":"service_unavailable"/);
    }
    expect(exit).toEqual({ code: 0, signal: null });

    const db = await openDatabase({ url: database.url, poolSize: 1 });
    try {
      const orders = await db.query<{ key: string }>('SELECT idempotency_key AS key FROM orders WHERE user_id = $1', [playerId]);
      const charged = keys.filter((_, i) => statuses[i] === '201');
      expect(orders.rows.map((r) => r.key).sort()).toEqual(charged.sort());
      expect((await verifyLedger(db)).violations).toEqual([]);
    } finally {
      await db.close();
    }
  }, 120_000);
});
