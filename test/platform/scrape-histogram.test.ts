import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ScrapeTimeHistogram } from '../../src/platform/scrape-histogram.js';

const BOUNDS = [0.001, 0.01, 0.1, 1];
// Boundary values included: Prometheus buckets are upper-inclusive (le).
const OBSERVED: Array<[string, string, number]> = [
  ['GET', '/a', 0.0005], ['GET', '/a', 0.001], ['GET', '/a', 0.05], ['GET', '/a', 3],
  ['POST', '/b', 0.01], ['POST', '/b', 0.2], ['GET', '/a', 1],
];

describe('the scrape-time histogram', () => {
  it('renders exactly what prom-client\'s own Histogram renders for the same observations', async () => {
    const ours = new client.Registry();
    const theirs = new client.Registry();
    const fast = new ScrapeTimeHistogram('t_seconds', 'a test histogram', BOUNDS, ours);
    const reference = new client.Histogram({ name: 't_seconds', help: 'a test histogram', labelNames: ['method', 'route'], buckets: BOUNDS, registers: [theirs] });
    for (const [method, route, value] of OBSERVED) {
      fast.observe(`${method} ${route}`, () => ({ method, route }), value);
      reference.observe({ method, route }, value);
    }
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('t_seconds_bucket{le="0.001",method="GET",route="/a"} 2');
    expect(text).toContain('t_seconds_bucket{le="+Inf",method="GET",route="/a"} 5');
    expect(text).toContain('t_seconds_count{method="POST",route="/b"} 2');
  });

  it('starts over on reset, as the registry\'s resetMetrics expects', async () => {
    const registry = new client.Registry();
    const fast = new ScrapeTimeHistogram('r_seconds', 'reset', BOUNDS, registry);
    fast.observe('k', () => ({ route: '/x' }), 0.5);
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('r_seconds_count');
  });
});
