// The service's own counters around a scenario (GET /metrics before and after): cache hit ratio, purchase
// outcomes and transaction retries explain a throughput figure that the load generator alone cannot.

export type Counters = Map<string, number>;

export interface ServiceCounters {
  cacheLookups: number;
  /** Lookups answered from the in-process LRU, from Redis, or by joining a rebuild already running. */
  cacheHits: number;
  cacheByResult: Record<string, number>;
  purchases: Record<string, number>;
  txRetries: number;
}

const WATCHED = ['bb_cache_requests_total', 'bb_purchases_total', 'bb_db_transaction_retries_total'];

export async function scrapeCounters(baseUrl: string): Promise<Counters> {
  const response = await fetch(`${baseUrl}/metrics`);
  const text = await response.text();
  const counters: Counters = new Map();
  for (const line of text.split('\n')) {
    if (!WATCHED.some((name) => line.startsWith(name))) continue;
    const space = line.lastIndexOf(' ');
    counters.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return counters;
}

function label(series: string, name: string): string | undefined {
  return new RegExp(`${name}="([^"]*)"`).exec(series)?.[1];
}

export function diffCounters(before: Counters, after: Counters): ServiceCounters {
  const result: ServiceCounters = { cacheLookups: 0, cacheHits: 0, cacheByResult: {}, purchases: {}, txRetries: 0 };
  for (const [series, value] of after) {
    const delta = value - (before.get(series) ?? 0);
    if (delta === 0) continue;
    if (series.startsWith('bb_cache_requests_total')) {
      const outcome = label(series, 'result') ?? '?';
      if (label(series, 'namespace') === 'redis') continue; // Redis errors, not lookups
      result.cacheByResult[outcome] = (result.cacheByResult[outcome] ?? 0) + delta;
      result.cacheLookups += delta;
      if (outcome !== 'miss') result.cacheHits += delta;
    } else if (series.startsWith('bb_purchases_total')) {
      const outcome = label(series, 'outcome') ?? '?';
      result.purchases[outcome] = (result.purchases[outcome] ?? 0) + delta;
    } else if (series.startsWith('bb_db_transaction_retries_total')) {
      result.txRetries += delta;
    }
  }
  return result;
}
