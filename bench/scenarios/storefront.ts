// GET /store/items: the page every player opens (served from the cache), and pages nobody asked for recently
// (each request a different filter combination, so nearly every one is a cache miss and a database query).
import { closedLoop } from '../load/autocannon.js';
import type { Scenario } from './types.js';

const SORTS = ['featured', 'price_asc', 'price_desc', 'newest'] as const;
const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)]!;

/** The default page, from the cache: `headers` say which encoding the client accepts. */
const cachedPage = (scenario: Omit<Scenario, 'run' | 'ceiling'>, headers: Record<string, string> = {}): Scenario => ({
  ...scenario,
  ceiling: 'bare',
  run: (ctx, durationS) => closedLoop({ url: ctx.service.baseUrl, connections: ctx.config.connections, durationS, request: { path: '/store/items', headers } }),
});

export const storefrontCached = cachedPage({
  name: 'store-cached',
  title: 'GET /store/items, cached page',
  what: 'Every request asks for the default storefront page (featured sort, 20 listings), so after the first it is an in-process cache hit: token-free, no database. This is the path 10,000 players opening the store hit. Like every request of the suite it carries the Accept-Encoding browsers and fetch send, so the page travels as the gzip copy made once per cache fill.',
  target: { kind: 'ratio', ceiling: 'bare', atLeast: 0.6, text: '≥ 60% of the bare route' },
});

export const storefrontCachedIdentity = cachedPage({
  name: 'store-cached-identity',
  title: 'GET /store/items, cached page, uncompressed',
  what: 'The same cached page for a client that refuses compression (`accept-encoding: identity`): the full ~11 KB JSON text on every answer. Compare it with `bare-page`, which serves those bytes with no work at all.',
}, { 'accept-encoding': 'identity' });

export const storefrontUncached: Scenario = {
  name: 'store-uncached',
  title: 'GET /store/items, uncached pages',
  what: 'Each request combines a random sort, minimum price (0–4,000), and often a game and a tag, out of hundreds of thousands of combinations, so nearly every request misses the cache and runs the keyset query on PostgreSQL. The hit ratio column shows how many still hit.',
  ceiling: 'bare',
  run: (ctx, durationS) =>
    closedLoop({
      url: ctx.service.baseUrl,
      connections: ctx.config.connections,
      durationS,
      request: () => {
        const query = new URLSearchParams({ sort: pick(SORTS), minPrice: String(Math.floor(Math.random() * 4001)) });
        if (Math.random() < 0.5) query.set('gameId', pick(ctx.fixtures.gameIds));
        if (Math.random() < 0.3) query.set('tag', pick(ctx.fixtures.tags));
        return { path: `/store/items?${query}` };
      },
    }),
};
