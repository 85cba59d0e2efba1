// Two instances with SEED_DEMO=true starting at the same instant on an empty PostgreSQL database (a demo or staging
// deploy scaled to two). Both must come up, and the demo catalog must exist once.
import { describe, expect, it } from 'vitest';
import { freePort, serviceProcess, type ServiceProcess } from '../../tools/chaos/processes.js';
import { useStartedProcesses, withClient } from '../support/started-processes.js';

const JWT_SECRET = 'seed-startup-test-secret-seed-startup';
const service = useStartedProcesses('bb_test_seed');

describe('instances seeding the demo catalog at once', () => {
  it('when two instances with SEED_DEMO=true start at the same instant on an empty database, then both become ready and the catalog is seeded once', async () => {
    const url = await service.emptyDatabase();
    const instances: ServiceProcess[] = [];
    for (let i = 0; i < 2; i++) {
      instances.push(serviceProcess({
        name: `seeding-${i}`,
        role: 'api',
        workersInApi: false,
        port: await freePort(),
        build: service.build(),
        readyTimeoutMs: 90_000,
        env: { DATABASE_URL: url, JWT_SECRET, LOG_LEVEL: 'info', SEED_DEMO: 'true' },
      }));
    }
    const started = await Promise.allSettled(instances.map((instance) => instance.start()));
    // Before the fix one of the two stopped at start with "an item with this sku already exists".
    const failures = started.flatMap((outcome) => (outcome.status === 'rejected' ? [String(outcome.reason).slice(0, 2000)] : []));
    expect(failures).toEqual([]);
    for (const instance of instances) expect((await fetch(`${instance.baseUrl}/readyz`)).status).toBe(200);

    await withClient(async (client) => {
      const { rows } = await client.query<{ listings: string; titles: string; skus: string; items: string; games: string }>(
        `SELECT (SELECT count(*) FROM listings) AS listings, (SELECT count(DISTINCT title) FROM listings) AS titles,
                (SELECT count(*) FROM item_definitions) AS items, (SELECT count(DISTINCT sku) FROM item_definitions) AS skus,
                (SELECT count(*) FROM games) AS games`,
      );
      const counts = rows[0]!;
      expect(Number(counts.listings)).toBeGreaterThan(0);
      expect(counts.listings).toBe(counts.titles);
      expect(counts.items).toBe(counts.skus);
      expect(Number(counts.games)).toBe(3);
    }, url);
    const [first, second] = await Promise.all(instances.map(async (instance) => (await (await fetch(`${instance.baseUrl}/store/items?limit=100`)).json()) as { items: unknown[] }));
    expect(first!.items.length).toBeGreaterThan(0);
    expect(second!.items.length).toBe(first!.items.length);
    for (const instance of instances) expect(await instance.kill('SIGTERM')).toEqual({ code: 0, signal: null });
  }, 180_000);
});
