// Two worker processes (WORKERS=only) beside an API with WORKERS=false: the production topology scaled out. The
// fulfillment gauges (bb_fulfillments, bb_fulfillments_stale) were sampled only by the `maintenance` job, which
// pg-boss hands to ONE process a minute; the other worker's /metrics kept the counts of the last minute it happened
// to win it (for ever if the first always won), so a scrape of it showed lines pending long after their delivery,
// and a stale-delivery alert could fire or clear on old numbers. Found black-box 2026-11-25 (two workers, a storm of
// purchases: one worker's /metrics said 14 pending, 9 processing minutes after every line had been delivered).
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { useStartedProcesses } from '../support/started-processes.js';
import { freePort, serviceProcess } from '../../tools/chaos/processes.js';

const JWT_SECRET = 'worker-gauges-test-secret-0123456789';
const service = useStartedProcesses('bb_test_workergauges');
const token = (sub: string, role: string) =>
  new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));

async function delivered(port: number): Promise<number | null> {
  const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
  const match = /^bb_fulfillments\{status="delivered"\} (\d+)$/m.exec(text);
  return match ? Number(match[1]) : null;
}

describe('two worker processes', () => {
  it('when a line is delivered, then BOTH workers\' /metrics show it within seconds, not only the one that ran the minute\'s maintenance job', async () => {
    const url = await service.emptyDatabase();
    const env = { DATABASE_URL: url, JWT_SECRET, LOG_LEVEL: 'info', SEED_DEMO: 'false', SHOPIFY_ADMIN_URL: 'http://127.0.0.1:9', RATE_LIMIT_ENABLED: 'false' };
    const api = serviceProcess({ name: 'api', role: 'api', port: await freePort(), build: service.build(), readyTimeoutMs: 90_000, env });
    await api.start();
    const ports = [await freePort(), await freePort()];
    const workers = ports.map((port, i) => serviceProcess({ name: `worker-${i}`, role: 'worker', build: service.build(), readyTimeoutMs: 90_000, env: { ...env, WORKER_PORT: String(port) } }));
    for (const worker of workers) await worker.start();
    try {
      for (const port of ports) expect(await delivered(port)).toBe(0); // sampled at start

      const call = async (path: string, auth: string, body: unknown, expected: number) => {
        const response = await fetch(`${api.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() }, body: JSON.stringify(body) });
        const json = await response.json();
        expect(response.status, JSON.stringify(json)).toBe(expected);
        return json as { id: string };
      };
      const admin = await token(randomUUID(), 'admin');
      const item = await call('/admin/items', admin, { sku: `gauge-${randomUUID()}`, name: 'Gauge potion', description: 'x', kind: 'utility', consumable: true, maxStack: 100, deliveryType: 'inventory' }, 201);
      const listing = await call('/admin/listings', admin, { title: 'Gauge potion', price: 5, items: [{ itemId: item.id, quantity: 1 }] }, 201);
      const player = randomUUID();
      await call('/service/grants', await token(randomUUID(), 'service'), { userId: player, gems: 100, reason: 'test' }, 201);
      await call('/store/purchases', await token(player, 'player'), { listingId: listing.id, quantity: 1 }, 201);

      // Each worker's scrape must follow the database within a sampling period (10 s), whichever ran maintenance.
      const deadline = Date.now() + 25_000;
      let seen: Array<number | null> = [];
      while (Date.now() < deadline) {
        seen = await Promise.all(ports.map(delivered));
        if (seen.every((n) => n === 1)) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(seen, 'bb_fulfillments{status="delivered"} on each worker').toEqual([1, 1]);
    } finally {
      for (const worker of workers) expect(await worker.kill('SIGTERM')).toEqual({ code: 0, signal: null });
      await api.kill('SIGTERM');
    }
  }, 200_000);
});
