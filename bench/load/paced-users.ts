// "10,000 concurrent users" as users behave: each holds one keep-alive connection and sends a request, reads
// the answer, pauses (exponential think time), and sends the next. autocannon cannot model this: its rate limit
// is at least one request per second per connection, and with no limit 10,000 connections fire back to back,
// which measures a queue (latency = connections ÷ throughput) rather than what those users experience.
//
// Users start spread over one think time, so connections open at a human pace; only requests sent after every
// user has started are measured, and each of those is followed to its end (answer, error or timeout) even when
// that comes after the window: dropping the slow ones would leave only the fast in the percentiles.
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LoadResult } from './result.js';
import { CLIENT_HEADERS } from './client-headers.js';

export interface PacedRequest {
  /** Groups the per-kind figures (e.g. "inventory"). */
  kind?: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface PacedOptions {
  host: string;
  port: number;
  users: number;
  thinkMs: number;
  rampS: number;
  durationS: number;
  timeoutMs?: number;
  /** The next request of user u (0-based). */
  next(user: number): PacedRequest;
}

export interface PacedResult extends LoadResult {
  /** Open connections sampled each second of the measured window. */
  openConnections: { min: number; max: number };
  connectionsOpened: number;
  offeredPerSecond: number;
  /** 2xx count and latency percentiles of each request kind, to see which one makes the tail. */
  byKind: Record<string, { count: number; p50: number; p99: number }>;
  /** Requests still unanswered when the window opened: many means the ramp did not reach a steady state. */
  inFlightAtStart: number;
  /** p99 event-loop delay of the load generator: when high, pauses ran long and latencies include its own lag. */
  loadGeneratorLagP99Ms: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** A pause that ends early when `until` settles (the run is over), and never keeps the process alive. */
const pause = (ms: number, until: Promise<void>) => Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), until]);
const exponential = (mean: number) => -Math.log(1 - Math.random()) * mean;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function pacedUsers(options: PacedOptions): Promise<PacedResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let measuring = false;
  let stopped = false;
  let stop!: () => void;
  const whenStopped = new Promise<void>((resolve) => (stop = resolve));
  let open = 0;
  let opened = 0;
  let sent = 0;
  let answeredInWindow = 0;
  let inFlight = 0;
  const latencies: number[] = [];
  const kindLatencies = new Map<string, number[]>();
  const failures: Record<string, number> = {};
  let socketErrors = 0;
  let timeouts = 0;

  function send(agent: http.Agent, request: PacedRequest): Promise<{ status: number } | { error: 'timeout' | 'socket' }> {
    return new Promise((resolve) => {
      const body = request.body === undefined ? undefined : Buffer.from(request.body);
      const req = http.request(
        {
          host: options.host,
          port: options.port,
          method: request.method,
          path: request.path,
          agent,
          headers: { ...CLIENT_HEADERS, ...request.headers, ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
          res.on('error', () => resolve({ error: 'socket' }));
        },
      );
      req.on('socket', (socket) => {
        if (!req.reusedSocket) {
          open += 1;
          opened += 1;
          socket.once('close', () => (open -= 1));
        }
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy();
        resolve({ error: 'timeout' });
      });
      req.on('error', () => resolve({ error: 'socket' }));
      req.end(body);
    });
  }

  async function user(index: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    await pause(Math.random() * options.rampS * 1000, whenStopped);
    while (!stopped) {
      const counted = measuring;
      const started = performance.now();
      const next = options.next(index);
      inFlight += 1;
      const outcome = await send(agent, next);
      inFlight -= 1;
      const elapsed = performance.now() - started;
      if (measuring) answeredInWindow += 1;
      if (counted) {
        sent += 1;
        if ('error' in outcome) {
          if (outcome.error === 'timeout') timeouts += 1;
          else socketErrors += 1;
        } else if (outcome.status >= 200 && outcome.status < 300) {
          latencies.push(elapsed);
          const kind = next.kind ?? next.path;
          if (!kindLatencies.has(kind)) kindLatencies.set(kind, []);
          kindLatencies.get(kind)!.push(elapsed);
        } else {
          failures[outcome.status] = (failures[outcome.status] ?? 0) + 1;
        }
      }
      if (!stopped) await pause(exponential(options.thinkMs), whenStopped);
    }
    agent.destroy();
  }

  const running = Array.from({ length: options.users }, (_, index) => user(index));
  await sleep(options.rampS * 1000 + 200);
  measuring = true;
  const inFlightAtStart = inFlight;
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const measuredFrom = performance.now();
  const openSamples: number[] = [];
  const sampler = setInterval(() => openSamples.push(open), 1000);
  await sleep(options.durationS * 1000);
  measuring = false;
  lag.disable();
  const measuredS = (performance.now() - measuredFrom) / 1000;
  clearInterval(sampler);
  stopped = true;
  stop();
  await Promise.all(running);

  const sorted = Float64Array.from(latencies).sort();
  const byKind: PacedResult['byKind'] = {};
  for (const [kind, values] of kindLatencies) {
    const kindSorted = Float64Array.from(values).sort();
    byKind[kind] = { count: values.length, p50: Math.round(percentile(kindSorted, 50) * 10) / 10, p99: Math.round(percentile(kindSorted, 99) * 10) / 10 };
  }
  const mean = latencies.reduce((sum, value) => sum + value, 0) / Math.max(1, latencies.length);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    driver: 'paced-users',
    connections: options.users,
    durationS: round(measuredS),
    requests: sent,
    requestsPerSecond: answeredInWindow / measuredS,
    latencyMs: {
      p50: round(percentile(sorted, 50)),
      p97_5: round(percentile(sorted, 97.5)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted[sorted.length - 1] ?? 0),
      mean: round(mean),
    },
    ok: latencies.length,
    failures,
    socketErrors,
    timeouts,
    openConnections: { min: openSamples.length ? Math.min(...openSamples) : open, max: openSamples.length ? Math.max(...openSamples) : open },
    connectionsOpened: opened,
    offeredPerSecond: Math.round(options.users / (options.thinkMs / 1000)),
    byKind,
    inFlightAtStart,
    loadGeneratorLagP99Ms: Math.round(lag.percentile(99) / 1e5) / 10,
  };
}
