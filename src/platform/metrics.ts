// Prometheus metrics: one registry for the process, served at /metrics.
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

export const metrics = {
  httpRequests: new client.Counter({
    name: 'bb_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  }),
  httpDuration: new client.Histogram({
    name: 'bb_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  }),
  cacheRequests: new client.Counter({
    name: 'bb_cache_requests_total',
    help: 'Cache lookups by namespace and result (local_hit, redis_hit, coalesced, miss, error)',
    labelNames: ['namespace', 'result'] as const,
    registers: [registry],
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
