// /metrics reports the layered cache: lookups by namespace and result, and the hit ratio derived from them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { createItem, createListing } from '../catalog/fixtures.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ redis: true });
  const item = await createItem(t, { name: 'Metered Skin' });
  await createListing(t, { title: 'Metered Offer', price: 5, items: [{ itemId: item.id, quantity: 1 }] });
});
afterAll(async () => t?.close());

async function scrape(): Promise<Map<string, number>> {
  const response = await t.request('GET', '/metrics');
  expect(response.status).toBe(200);
  const series = new Map<string, number>();
  for (const line of response.text.split('\n')) {
    if (!line.startsWith('bb_cache_')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

const lookups = (ns: string, result: string) => `bb_cache_requests_total{namespace="${ns}",result="${result}"}`;

describe('cache metrics', () => {
  it('when a storefront page misses once and then hits, then the lookup counters move and bb_cache_hit_ratio matches them', async () => {
    const before = await scrape();
    const path = '/store/items?limit=7&sort=price_desc';
    for (let i = 0; i < 4; i++) expect((await t.request('GET', path)).status).toBe(200);
    const after = await scrape();
    const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(delta(lookups('storefront', 'miss'))).toBeGreaterThanOrEqual(1);
    expect(delta(lookups('storefront', 'local_hit'))).toBeGreaterThanOrEqual(3);

    const count = (result: string) => after.get(lookups('storefront', result)) ?? 0;
    const hits = count('local_hit') + count('redis_hit') + count('coalesced');
    const ratio = after.get('bb_cache_hit_ratio{namespace="storefront"}');
    expect(ratio).toBeDefined();
    expect(ratio!).toBeCloseTo(hits / (hits + count('miss')), 6);
    expect(ratio!).toBeGreaterThan(0);
    expect(ratio!).toBeLessThan(1);
  });
});
