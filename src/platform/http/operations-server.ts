// The operations endpoints of a process that serves no API: `npm run worker` (WORKERS=only). Without them the worker
// of the production topology (API instances with WORKERS=false beside one or more workers) could be neither probed
// nor scraped, and what only a worker measures was invisible: its jobs (bb_jobs_total), the fulfillment gauges its
// maintenance job samples (bb_fulfillments, bb_fulfillments_stale: the API instances export the stale gauge at its
// initial 0, so an alert on it never fired), its pool and its process. GET (and HEAD) /healthz, /readyz and /metrics,
// answered like the API's own (operations.routes.ts); anything else is a problem+json 404 or 405. No token, no rate
// limit: an orchestrator and Prometheus call these.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Cache } from '../cache.js';
import type { Database } from '../db.js';
import { registry } from '../metrics.js';
import type { ErrorCode } from '../errors.js';
import { problem } from './problem.js';
import { readinessOf } from './operations.routes.js';

export interface OperationsServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

const PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function send(response: ServerResponse, request: IncomingMessage, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  response.end(request.method === 'HEAD' ? undefined : body);
}

function sendProblem(response: ServerResponse, request: IncomingMessage, code: ErrorCode, detail: string, headers?: Record<string, string>): void {
  const body = problem(code, detail, { instance: new URL(request.url ?? '/', 'http://worker').pathname });
  send(response, request, body.status, 'application/problem+json', JSON.stringify(body), headers);
}

export async function startOperationsServer(
  deps: { db: Database; cache: Cache; logger: Logger },
  where: { port: number; host: string },
): Promise<OperationsServer> {
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://worker').pathname;
    if (!PATHS.has(path)) {
      sendProblem(response, request, 'not_found', `no route for ${request.method} ${path} (a worker process serves only /healthz, /readyz and /metrics)`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendProblem(response, request, 'method_not_allowed', `${request.method} is not allowed on ${path}`, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/healthz') return send(response, request, 200, 'application/json; charset=utf-8', JSON.stringify({ status: 'ok' }));
    if (path === '/readyz') {
      const readiness = await readinessOf(deps);
      return send(response, request, readiness.status === 'ready' ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(readiness));
    }
    return send(response, request, 200, registry.contentType, await registry.metrics());
  };
  const server: Server = createServer((request, response) => {
    // A request body is never read: drain it so the connection can be reused.
    request.resume();
    handle(request, response).catch((error: unknown) => {
      deps.logger.error({ err: error }, 'operations endpoint failed');
      if (!response.headersSent) sendProblem(response, request, 'internal_error', 'the operations endpoint failed');
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port, where.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
