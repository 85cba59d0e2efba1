// Prometheus metrics: one registry for the process, served at /metrics.
import client from 'prom-client';
import { ScrapeTimeHistogram } from './scrape-histogram.js';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

// The two counters bumped by every request (HTTP requests, cache lookups) are counted in plain numbers and handed
// to prom-client when /metrics is scraped (its collect hook): prom-client validates and hashes the label set on
// each inc(), which was 5 % of a cached read's CPU. Every label set is small and bounded (routes come from the
// router, never from the raw URL; namespaces are cut to their prefix).
interface Pending<L extends string> {
  labels: Partial<Record<L, string>>;
  count: number;
}
const httpRequestCounts = new Map<string, Pending<'method' | 'route' | 'status'>>();
const cacheLookupCounts = new Map<string, Pending<'namespace' | 'result'>>();

function add<L extends string>(counts: Map<string, Pending<L>>, key: string, labels: () => Partial<Record<L, string>>): void {
  const pending = counts.get(key);
  if (pending) pending.count += 1;
  else counts.set(key, { labels: labels(), count: 1 });
}

function flush<L extends string>(counts: Map<string, Pending<L>>, counter: client.Counter<L>): void {
  for (const pending of counts.values()) {
    if (pending.count === 0) continue;
    counter.inc(pending.labels, pending.count);
    pending.count = 0;
  }
}

/** The pools /metrics reports on (a process normally has one; tests start several runtimes in one process). */
interface PoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}
const watchedPools = new Set<PoolCounts>();

/** Reports the pool in bb_db_pool_connections until the returned function is called (when the pool closes). */
export function watchPool(pool: PoolCounts): () => void {
  watchedPools.add(pool);
  return () => void watchedPools.delete(pool);
}

export const metrics = {
  httpRequests: new client.Counter({
    name: 'bb_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
    collect() {
      flush(httpRequestCounts, this);
    },
  }),
  httpDuration: new ScrapeTimeHistogram(
    'bb_http_request_duration_seconds',
    'HTTP request duration by route',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registry,
  ),
  cacheRequests: new client.Counter({
    name: 'bb_cache_requests_total',
    help: 'Cache lookups by namespace and result (local_hit, redis_hit, coalesced, miss, error)',
    labelNames: ['namespace', 'result'] as const,
    registers: [registry],
    collect() {
      flush(cacheLookupCounts, this);
    },
  }),
  // Derived from bb_cache_requests_total at scrape time (nothing is added to a lookup): hits (local, Redis,
  // coalesced) over all lookups since the process started, per namespace. For a windowed ratio use the counter:
  // sum by (namespace) (rate(bb_cache_requests_total{result=~"local_hit|redis_hit|coalesced"}[5m])) / sum by (namespace) (rate(bb_cache_requests_total{result!="error"}[5m])).
  cacheHitRatio: new client.Gauge({
    name: 'bb_cache_hit_ratio',
    help: 'Cache hits (local_hit, redis_hit, coalesced) over lookups since start, by namespace',
    labelNames: ['namespace'] as const,
    registers: [registry],
    async collect() {
      const { values } = await metrics.cacheRequests.get();
      const totals = new Map<string, { hits: number; lookups: number }>();
      for (const { labels, value } of values) {
        if (labels.result === 'error' || typeof labels.namespace !== 'string') continue;
        const total = totals.get(labels.namespace) ?? { hits: 0, lookups: 0 };
        total.lookups += value;
        if (labels.result !== 'miss') total.hits += value;
        totals.set(labels.namespace, total);
      }
      for (const [namespace, { hits, lookups }] of totals) if (lookups > 0) this.set({ namespace }, hits / lookups);
    },
  }),
  // Requests queue in the pool when every connection is busy: `waiting` above zero for long is the first sign that
  // the database (or DB_POOL_SIZE) is the bottleneck, before latency says so.
  dbPool: new client.Gauge({
    name: 'bb_db_pool_connections',
    help: 'Primary database pool: connections open (total), idle, and requests waiting for one (waiting)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      let total = 0, idle = 0, waiting = 0;
      for (const pool of watchedPools) {
        total += pool.totalCount;
        idle += pool.idleCount;
        waiting += pool.waitingCount;
      }
      this.set({ state: 'total' }, total);
      this.set({ state: 'idle' }, idle);
      this.set({ state: 'waiting' }, waiting);
    },
  }),
  purchases: new client.Counter({
    name: 'bb_purchases_total',
    help: 'Purchase attempts by outcome (created, replayed, or the error code)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  txRetries: new client.Counter({
    name: 'bb_db_transaction_retries_total',
    help: 'Transactions retried after a serialization failure or deadlock',
    registers: [registry],
  }),
  jobs: new client.Counter({
    name: 'bb_jobs_total',
    help: 'Background jobs by queue and outcome',
    labelNames: ['queue', 'outcome'] as const,
    registers: [registry],
  }),
  fulfillmentsByStatus: new client.Gauge({
    name: 'bb_fulfillments',
    help: 'Fulfillments by status (sampled)',
    labelNames: ['status'] as const,
    registers: [registry],
  }),
  staleFulfillments: new client.Gauge({
    name: 'bb_fulfillments_stale',
    help: 'Fulfillments pending or processing without progress past the stale threshold',
    registers: [registry],
  }),
};


export function recordHttpRequest(method: string, route: string, status: number, seconds: number): void {
  add(httpRequestCounts, `${method} ${status} ${route}`, () => ({ method, route, status: String(status) }));
  metrics.httpDuration.observe(`${method} ${route}`, () => ({ method, route }), seconds);
}

export function recordCacheLookup(namespace: string, result: 'local_hit' | 'redis_hit' | 'coalesced' | 'miss' | 'error'): void {
  add(cacheLookupCounts, `${result} ${namespace}`, () => ({ namespace, result }));
}
