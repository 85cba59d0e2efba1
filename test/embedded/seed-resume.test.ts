// The demo seed stopped half-way: the first `npm start` with PGLITE_DATA_DIR, interrupted (Ctrl-C) after the games
// and items were written and before the listings. The next start must finish the catalog, not find the first demo
// game and leave an empty storefront for good. Its own PGlite in memory, started without the seed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../../src/config.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { seedDemoCatalog } from '../../src/db/seed-demo.js';
import { signToken } from '../../src/platform/auth.js';
import { randomUUID } from 'node:crypto';
import type { Services } from '../../src/services.js';

let runtime: Runtime;
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  runtime = await createRuntime(loadConfig({ LOG_LEVEL: 'silent', WORKERS: 'false', RATE_LIMIT_ENABLED: 'false', SEED_DEMO: 'false' }), { logger: silent });
}, 120_000);
afterAll(async () => {
  await runtime?.close();
});

const count = async (table: string) => (await runtime.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
const storefront = async () => (await runtime.app.inject({ method: 'GET', url: '/store/items?limit=100' })).json().items as Array<{ id: string; title: string }>;

/** The services, except that the catalog's listings.create stops the seed (as a Ctrl-C would) after `allowed` listings. */
function interruptedAfter(allowed: number): Services {
  const { services } = runtime;
  let created = 0;
  const listings = {
    ...services.catalog.listings,
    create: async (...args: Parameters<Services['catalog']['listings']['create']>) => {
      if (created >= allowed) throw new Error('SIGINT: the process stopped here');
      created++;
      return services.catalog.listings.create(...args);
    },
  };
  return { ...services, catalog: { ...services.catalog, listings } } as Services;
}

describe('a demo seed that stopped half-way', () => {
  it('when the seed stopped after 3 listings, then the next start completes the catalog once, with no duplicate game, item or listing', async () => {
    await expect(seedDemoCatalog(interruptedAfter(3), runtime.deps.db, silent)).rejects.toThrow('SIGINT');
    expect(await count('games')).toBe(3);
    expect(await count('listings')).toBe(3);

    await seedDemoCatalog(runtime.services, runtime.deps.db, silent);
    expect(await count('games')).toBe(3);
    expect(await count('item_definitions')).toBe(14);
    expect(await count('listings')).toBe(17);
    const titles = (await storefront()).map((listing) => listing.title);
    expect(titles).toHaveLength(16); // the 17th starts next week
    expect(new Set(titles).size).toBe(titles.length);
    expect(titles).toContain('Gem Chest');
    expect(await count('voucher_codes')).toBe(20);
  }, 60_000);

  it('when the catalog is complete, then a later start changes nothing and a demo listing an operator deleted stays deleted', async () => {
    const admin = await signToken(runtime.config.jwtSecret, { sub: randomUUID(), role: 'admin' }, '1h');
    const frame = (await storefront()).find((listing) => listing.title === 'Golden Profile Frame')!;
    const deleted = await runtime.app.inject({ method: 'DELETE', url: `/admin/listings/${frame.id}`, headers: { authorization: `Bearer ${admin}` } });
    expect(deleted.statusCode).toBeLessThan(300);

    await seedDemoCatalog(runtime.services, runtime.deps.db, silent);
    expect(await count('listings')).toBe(16);
    expect((await storefront()).map((listing) => listing.title)).not.toContain('Golden Profile Frame');
  }, 60_000);

  it('then readiness still sees exactly the migrations applied', async () => {
    const ready = await runtime.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
  });
});
