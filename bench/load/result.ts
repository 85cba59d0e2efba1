// One shape for what every load driver measured, so the report treats autocannon and the paced driver alike.
export interface LoadResult {
  driver: 'autocannon' | 'paced-users';
  connections: number;
  durationS: number;
  /** Responses received in the measured window. */
  requests: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p97_5: number; p99: number; max: number; mean: number };
  /** 2xx responses (the latencies above are theirs; errors are counted, not timed). */
  ok: number;
  /** Non-2xx responses by status. */
  failures: Record<string, number>;
  /** Socket errors and timeouts: requests that got no response at all. */
  socketErrors: number;
  timeouts: number;
  /** The first distinct socket error messages, to tell a refused connection from a reset or a port shortage. */
  errorSamples?: string[];
}

export const errorCount = (result: LoadResult) =>
  result.socketErrors + result.timeouts + Object.values(result.failures).reduce((sum, n) => sum + n, 0);
