// OWASP API4:2023 Unrestricted Resource Consumption. Every list is capped at 100 per page, bodies at 1 MB,
// batches at 100, arrays and strings at their schema bounds, and requests per window per caller and per budget.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { fillPath, loadRoutes } from '../support/fuzz.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const tokenFor = (path: string) => (path.startsWith('/admin/') ? t.adminToken : path.startsWith('/service/') ? t.serviceToken : undefined);

describe('API4 resource consumption', () => {
  it('when any list endpoint is asked for more than 100 items (or 0, or a negative page), then 400 validation_failed', async () => {
    const player = await t.player();
    const lists = (await loadRoutes(t)).filter((route) => route.method === 'GET' && route.queryParams.includes('limit'));
    expect(lists.length).toBeGreaterThanOrEqual(8);
    for (const route of lists) {
      for (const limit of ['101', '1000000', '0', '-1', '1e3']) {
        const response = await t.request('GET', `${fillPath(route.path, {})}?limit=${limit}`, { token: tokenFor(route.path) ?? player.token });
        expect(response.status, `${route.path}?limit=${limit}: ${response.text}`).toBe(400);
        expect(response.body.code).toBe('validation_failed');
      }
      const ok = await t.request('GET', `${fillPath(route.path, {})}?limit=100`, { token: tokenFor(route.path) ?? player.token });
      expect([200, 404], `${route.path}?limit=100`).toContain(ok.status);
    }
  });

  it('when a body is larger than 1 MB, then 413 payload_too_large before anything is parsed', async () => {
    const player = await t.player();
    const huge = JSON.stringify({ listingId: randomUUID(), quantity: 1, padding: 'x'.repeat(1024 * 1024 + 10) });
    const cases: Array<[string, string, string | undefined, Record<string, string>]> = [
      ['POST', '/store/purchases', player.token, { 'idempotency-key': randomUUID() }],
      ['POST', '/user/characters', player.token, {}],
      ['POST', `/admin/items/${randomUUID()}/vouchers`, t.adminToken, {}],
      ['POST', '/webhooks/payments', undefined, { 'x-signature': '0'.repeat(64) }],
      ['POST', '/webhooks/shopify', undefined, { 'x-shopify-hmac-sha256': 'AAAA', 'x-shopify-topic': 'orders/cancelled', 'x-shopify-webhook-id': randomUUID() }],
    ];
    for (const [method, path, token, headers] of cases) {
      const response = await t.request(method, path, { token, body: huge, headers });
      expect(response.status, `${path}: ${response.text.slice(0, 200)}`).toBe(413);
      expect(response.body.code).toBe('payload_too_large');
    }
  });

  it('when a loadout batch names more than 100 characters, then 400; 100 is served', async () => {
    const ids = (n: number) => Array.from({ length: n }, () => randomUUID());
    const tooMany = await t.request('POST', '/service/loadouts', { token: t.serviceToken, body: { characterIds: ids(101) } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.code).toBe('validation_failed');
    const hundred = await t.request('POST', '/service/loadouts', { token: t.serviceToken, body: { characterIds: ids(100) } });
    expect(hundred.status).toBe(200);
    expect(hundred.body.missing).toHaveLength(100);
  });

  it('when arrays, strings or nesting exceed their bounds, then 400 (grant items > 100, codes > 10 000, a 100 000-deep body)', async () => {
    const grant = await t.request('POST', '/service/grants', {
      token: t.serviceToken,
      headers: { 'idempotency-key': randomUUID() },
      body: { userId: randomUUID(), reason: 'x', items: Array.from({ length: 101 }, () => ({ itemId: randomUUID(), quantity: 1 })) },
    });
    expect(grant.status).toBe(400);
    const codes = await t.request('POST', `/admin/items/${randomUUID()}/vouchers`, { token: t.adminToken, body: { codes: Array.from({ length: 10_001 }, (_, i) => `C${i}`) } });
    expect(codes.status).toBe(400);
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const nested = await t.request('POST', '/user/characters', { token: (await t.player()).token, body: deep });
    expect(nested.status).toBe(400);
    const name = await t.request('POST', '/user/characters', { token: (await t.player()).token, body: { name: 'n'.repeat(65) } });
    expect(name.status).toBe(400);
  });

  it('when a header or query string is huge, then the answer is a 4xx, never a 5xx or a hang', async () => {
    const player = await t.player();
    const longQuery = await t.request('GET', `/store/items?q=${'a'.repeat(10_000)}`);
    expect(longQuery.status).toBeGreaterThanOrEqual(400);
    expect(longQuery.status).toBeLessThan(500);
    const longKey = await t.request('POST', '/store/purchases', { token: player.token, body: { listingId: randomUUID(), quantity: 1 }, headers: { 'idempotency-key': 'k'.repeat(256) } });
    expect(longKey.status).toBe(400);
  });
});

describe('API4 rate limits (RATE_LIMIT_ENABLED=true)', () => {
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp({ env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_PER_USER: '20', RATE_LIMIT_PURCHASES: '5', RATE_LIMIT_AUTH_FAILURES: '5' } });
  });
  afterAll(async () => limited?.close());

  it('when one player exceeds the general budget, then 429 rate_limited with Retry-After and RateLimit headers, and other players are unaffected', async () => {
    const greedy = await limited.player();
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 25; i++) {
      last = await limited.request('GET', '/user/wallet', { token: greedy.token });
      statuses.push(last.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(last!.status).toBe(429);
    expect(last!.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(last!.body.code).toBe('rate_limited');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.headers.get('ratelimit-limit')).toBe('20');
    const other = await limited.player();
    expect((await limited.request('GET', '/user/wallet', { token: other.token })).status).toBe(200);
  });

  it('when someone keeps presenting forged tokens, then they are throttled on the small auth-failure budget', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await limited.request('GET', '/user/wallet', { token: `forged.${i}.token` })).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
  });
});
