// /healthz (process up), /readyz (database reachable and migrated), /metrics, /openapi.json.
import { Type } from '@sinclair/typebox';
import type { App } from './types.js';
import type { RouteContext } from '../../context.js';
import { registry } from '../metrics.js';
import { migrationsApplied } from '../../db/migrate.js';

export async function operationsRoutes(app: App, { db, cache }: RouteContext): Promise<void> {
  // No token: a load balancer, an orchestrator and Prometheus call these (the document says so with security: []).
  const open = { tags: ['operations'], security: [] };
  app.get('/healthz', { schema: { ...open, summary: 'The process is up', response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'ok' }));

  const Readiness = Type.Object({ status: Type.String(), checks: Type.Record(Type.String(), Type.String()) });
  app.get('/readyz', {
    schema: { ...open, summary: 'The database is reachable and migrated (503 otherwise)', response: { 200: Readiness, 503: Readiness } },
  }, async (_request, reply) => {
    const readiness = await readinessOf({ db, cache });
    return reply.status(readiness.status === 'ready' ? 200 : 503).send(readiness);
  });

  // Described in the OpenAPI document like every route of the contract (API.md § Operations): a text body.
  app.get('/metrics', {
    schema: { ...open, summary: 'Prometheus metrics (text exposition format)', produces: ['text/plain'] },
  }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });

  // Rate-limited like any other route (only probes and scrapes are exempt), so its schema is declared: the limiter's
  // 429 is then documented on it too, as on every limited operation.
  app.get('/openapi.json', {
    schema: { ...open, summary: 'This OpenAPI document', response: { 200: Type.Object({}, { additionalProperties: true, description: 'An OpenAPI 3.1 document' }) } },
  }, async () => app.swagger());
}

/** What /readyz answers, here and on a worker process's operations listener (operations-server.ts). */
export async function readinessOf({ db, cache }: Pick<RouteContext, 'db' | 'cache'>): Promise<{ status: 'ready' | 'not_ready'; checks: Record<string, string> }> {
  const checks: Record<string, string> = {};
  try {
    checks.database = (await withTimeout(migrationsApplied(db), 2000)) ? 'ok' : 'migrations pending';
  } catch {
    checks.database = 'unreachable';
  }
  checks.cache = cache.distributed ? 'redis' : 'in-process';
  return { status: checks.database === 'ok' ? 'ready' : 'not_ready', checks };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}
