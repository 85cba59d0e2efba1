// GET /user/inventory for many players in turn: token verification, the per-user cache, and (uncached) the
// one-statement keyset page over ~10 entries with their equipment.
import { closedLoop } from '../load/autocannon.js';
import type { BenchContext, Scenario } from './types.js';
import { everyPlayerOnce } from './players.js';

const bearer = (ctx: BenchContext, n: number) => ({ authorization: `Bearer ${ctx.token(n)}` });

export const inventory: Scenario = {
  name: 'inventory',
  title: 'GET /user/inventory, many players',
  what: 'Requests rotate through the tokens of BENCH_ACTIVE_USERS seeded players (~10 items each, half with an equipped skin). Before the warm-up every one of them reads their inventory once, as players do when a session starts (just-in-time provisioning, cache fill); the measured reads are then served from each player\'s cache entry, which only that player\'s writes invalidate. The uncached scenario below measures the database path.',
  target: { kind: 'ratio', ceiling: 'bare', atLeast: 0.3, text: '≥ 30% of the bare route' },
  ceiling: 'bare',
  prepare: async (ctx) => {
    await everyPlayerOnce(ctx, ctx.config.activeUsers, '/user/inventory');
  },
  run: (ctx, durationS) => {
    let next = 0;
    return closedLoop({
      url: ctx.service.baseUrl,
      connections: ctx.config.connections,
      durationS,
      request: () => ({ path: '/user/inventory', headers: bearer(ctx, (next = (next % ctx.config.activeUsers) + 1)) }),
    });
  },
};

export const inventoryUncached: Scenario = {
  name: 'inventory-uncached',
  title: 'GET /user/inventory, uncached pages',
  what: 'The same players (already provisioned), each request with a page size between 21 and 100 and sometimes an `equipped` filter: a cache key nobody asked for, so nearly every request is a miss that runs the inventory query (keyset page, item names, equipment) on PostgreSQL and fills the cache.',
  ceiling: 'bare',
  run: (ctx, durationS) => {
    let next = 0;
    return closedLoop({
      url: ctx.service.baseUrl,
      connections: ctx.config.connections,
      durationS,
      request: () => {
        const query = new URLSearchParams({ limit: String(21 + Math.floor(Math.random() * 80)) });
        const roll = Math.random();
        if (roll < 0.25) query.set('equipped', 'true');
        else if (roll < 0.5) query.set('equipped', 'false');
        return { path: `/user/inventory?${query}`, headers: bearer(ctx, (next = (next % ctx.config.activeUsers) + 1)) };
      },
    });
  },
};
