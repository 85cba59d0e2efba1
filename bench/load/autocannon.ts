// Closed-loop load with autocannon: every connection sends its next request as soon as the previous answer
// arrives, so the throughput is the service's capacity at that concurrency.
import autocannon, { type Request } from 'autocannon';
import type { LoadResult } from './result.js';
import { CLIENT_HEADERS } from './client-headers.js';

export interface ClosedLoopOptions {
  url: string;
  connections: number;
  durationS: number;
  /** Stop after this many requests instead (the duration still bounds the run). */
  amount?: number;
  /** One request shape, or a function that builds each request (a token per user, a fresh Idempotency-Key…). */
  request: { method?: string; path: string; headers?: Record<string, string>; body?: string } | (() => { method?: string; path: string; headers?: Record<string, string>; body?: string });
  timeoutS?: number;
}

export async function closedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const { request } = options;
  const requests: Request[] =
    typeof request === 'function'
      ? [{ setupRequest: (params) => {
          const next = request();
          return { ...params, method: next.method ?? 'GET', path: next.path, headers: { ...params.headers, ...CLIENT_HEADERS, ...next.headers }, body: next.body ?? '' };
        } }]
      : [{ method: request.method ?? 'GET', path: request.path, headers: { ...CLIENT_HEADERS, ...request.headers }, ...(request.body ? { body: request.body } : {}) }];
  const errorSamples = new Set<string>();
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationS,
    ...(options.amount ? { amount: options.amount } : {}),
    timeout: options.timeoutS ?? 10,
    requests,
  });
  instance.on('reqError', (error: Error) => {
    if (errorSamples.size < 5) errorSamples.add(`${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}`);
  });
  const result = await instance;
  const failures: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {})) {
    if (!status.startsWith('2')) failures[status] = count;
  }
  const ok = Object.entries(result.statusCodeStats ?? {}).filter(([status]) => status.startsWith('2')).reduce((sum, [, { count }]) => sum + count, 0);
  return {
    driver: 'autocannon',
    connections: options.connections,
    durationS: result.duration,
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / result.duration,
    latencyMs: { p50: result.latency.p50, p97_5: result.latency.p97_5, p99: result.latency.p99, max: result.latency.max, mean: result.latency.mean },
    ok,
    failures,
    socketErrors: result.errors - result.timeouts,
    timeouts: result.timeouts,
    ...(errorSamples.size ? { errorSamples: [...errorSamples] } : {}),
  };
}
