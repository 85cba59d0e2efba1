// SIGTERM to an instance that is still starting (waiting for another instance's migration lock, as in a rollout
// that stops a pod before it became ready). It must stop at once and report success, like a stop after start.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort, serviceProcess } from '../../tools/chaos/processes.js';
import { useStartedProcesses } from '../support/started-processes.js';

const JWT_SECRET = 'startup-signal-test-secret-startup-signal';
const service = useStartedProcesses('bb_test_startsig');

describe('a stop during start-up', () => {
  it('when SIGTERM reaches an instance waiting for the migration lock, then it exits 0 at once, and the next start applies the migrations', async () => {
    const url = await service.emptyDatabase();
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(4242001)');
      const instance = serviceProcess({ name: 'starting', role: 'api', port: await freePort(), build: service.build(), readyTimeoutMs: 60_000, env: { DATABASE_URL: url, JWT_SECRET, SEED_DEMO: 'false' } });
      const started = instance.start().catch((error: unknown) => error);
      await instance.waitForLog(/"pid"/, 20_000); // the process is up and logging
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // now blocked on the lock
      expect(instance.running).toBe(true);
      // Before the fix the signal's default action ended it: { code: null, signal: 'SIGTERM' }.
      expect(await instance.kill('SIGTERM', 10_000)).toEqual({ code: 0, signal: null });
      await started;

      await holder.query('SELECT pg_advisory_unlock(4242001)');
      const again = serviceProcess({ name: 'again', role: 'api', port: await freePort(), build: service.build(), readyTimeoutMs: 90_000, env: { DATABASE_URL: url, JWT_SECRET, SEED_DEMO: 'false' } });
      await again.start();
      expect((await fetch(`${again.baseUrl}/readyz`)).status).toBe(200);
      expect(await again.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      await holder.end();
    }
  }, 120_000);
});
