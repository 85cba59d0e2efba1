// The production topology: API instances with WORKERS=false and a separate `npm run worker` (WORKERS=only). The
// worker serves no API, but an orchestrator must be able to probe it and Prometheus to scrape what only it measures
// (its jobs, the fulfillment gauges its maintenance job samples; the API instances export the stale gauge at 0).
// WORKER_PORT, not PORT: a worker beside `npm start` on one machine, both on the default PORT, would find it taken.
import { describe, expect, it } from 'vitest';
import { useStartedProcesses } from '../support/started-processes.js';
import { freePort, serviceProcess } from '../../tools/chaos/processes.js';

const JWT_SECRET = 'worker-operations-test-secret-0123';
const service = useStartedProcesses('bb_test_workerops');

describe('a worker process (WORKERS=only) with WORKER_PORT set', () => {
  it('when it runs, then it answers /healthz, /readyz and /metrics (its job and fulfillment metrics) on WORKER_PORT, and nothing of the API; SIGTERM closes the port and exits 0', async () => {
    const url = await service.emptyDatabase();
    const port = await freePort();
    const worker = serviceProcess({
      name: 'worker',
      role: 'worker',
      build: service.build(),
      readyTimeoutMs: 90_000,
      env: { DATABASE_URL: url, JWT_SECRET, LOG_LEVEL: 'info', SEED_DEMO: 'false', SHOPIFY_ADMIN_URL: 'http://127.0.0.1:9', WORKER_PORT: String(port) },
    });
    await worker.start();
    const base = `http://127.0.0.1:${port}`;
    try {
      const health = await fetch(`${base}/healthz`).catch((error: unknown) => ({ status: 0, error }));
      expect(health.status, 'the worker answers its liveness probe on WORKER_PORT').toBe(200);
      expect(await (health as Response).json()).toEqual({ status: 'ok' });

      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', cache: 'in-process' } });

      const metrics = await fetch(`${base}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await metrics.text();
      expect(text).toMatch(/^bb_fulfillments\{status="pending"\} 0$/m); // sampled by the worker at start
      expect(text).toMatch(/^bb_fulfillments_stale 0$/m);
      expect(text).toContain('# TYPE bb_jobs_total counter');

      const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
      expect(head.status).toBe(200);

      // Not the API: a worker is no second entrance to the store.
      const store = await fetch(`${base}/store/items`);
      expect(store.status).toBe(404);
      expect(store.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await store.json()).toMatchObject({ status: 404, code: 'not_found', instance: '/store/items' });
      const post = await fetch(`${base}/metrics`, { method: 'POST', body: '{}' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');
      expect(await post.json()).toMatchObject({ code: 'method_not_allowed' });
    } finally {
      const exit = await worker.kill('SIGTERM');
      expect(exit).toEqual({ code: 0, signal: null });
    }
    expect(await fetch(`${base}/healthz`).then(() => 'answered', () => 'closed')).toBe('closed');
  }, 150_000);
});
