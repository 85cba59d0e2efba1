import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, type TestResponse } from '../support/app.js';
import { ipBucketOf } from '../../src/platform/http/rate-limit.js';

// Found by the issue #6 acceptance re-check. Per-IP budgets (anonymous reads, forged tokens, webhooks) were keyed
// by the full client address. An IPv6 client is handed a whole /64 (usually more), so by picking a new address
// for each request it got a fresh budget every time: the auth_failures budget, the one that stops bulk token
// guessing, stopped nothing. The same client over IPv4 and as an IPv4-mapped IPv6 address also had two budgets.
const WINDOW_MS = 30_000;
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    env: {
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_WINDOW_MS: String(WINDOW_MS),
      RATE_LIMIT_PER_IP: '4',
      RATE_LIMIT_AUTH_FAILURES: '3',
      RATE_LIMIT_KEY_PREFIX: `bb:rl:test:${randomBytes(4).toString('hex')}:`,
    },
  });
});
afterAll(async () => app?.close());

// The test client is a loopback peer, a trusted proxy by default, so X-Forwarded-For names the client.
async function each(addresses: string[], send: (headers: Record<string, string>) => Promise<TestResponse>): Promise<number[]> {
  const statuses: number[] = [];
  for (const address of addresses) statuses.push((await send({ 'x-forwarded-for': address })).status);
  return statuses;
}

describe('IPv6 clients', () => {
  it('when an anonymous client rotates addresses inside its /64, then they all spend one per-IP budget', async () => {
    const addresses = Array.from({ length: 6 }, (_, i) => `2001:db8:a:b:${(i + 1).toString(16)}::${(i * 7 + 1).toString(16)}`);
    expect(await each(addresses, (headers) => app.request('GET', '/games', { headers }))).toEqual([200, 200, 200, 200, 429, 429]);
    // Another /64 is another client.
    expect((await app.request('GET', '/games', { headers: { 'x-forwarded-for': '2001:db8:a:c::1' } })).status).toBe(200);
  });

  it('when forged tokens come from ever new addresses of one /64, then the auth-failure budget still stops them', async () => {
    const addresses = Array.from({ length: 5 }, (_, i) => `2001:db8:f:1::${randomBytes(2).toString('hex')}:${i + 1}`);
    const statuses = await each(addresses, (headers) => app.request('GET', '/user/wallet', { token: `forged.${randomBytes(8).toString('hex')}.sig`, headers }));
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('when one IPv4 client arrives both plain and IPv4-mapped, then it has one budget', async () => {
    const addresses = ['198.51.100.90', '::ffff:198.51.100.90', '198.51.100.90', '::FFFF:198.51.100.90', '198.51.100.90'];
    expect(await each(addresses, (headers) => app.request('GET', '/games', { headers }))).toEqual([200, 200, 200, 200, 429]);
  });
});

describe('ipBucketOf', () => {
  it('keeps IPv4 as it is, unwraps IPv4-mapped addresses and cuts IPv6 to its /64 in one spelling', () => {
    expect(ipBucketOf('203.0.113.5')).toBe('203.0.113.5');
    expect(ipBucketOf('::ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(ipBucketOf('2001:DB8:0:0:1::1')).toBe('2001:db8:0:0::/64');
    expect(ipBucketOf('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(ipBucketOf('2001:0db8:0000:0000:ffff:ffff:ffff:ffff')).toBe('2001:db8:0:0::/64');
    expect(ipBucketOf('::1')).toBe('0:0:0:0::/64');
    expect(ipBucketOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(ipBucketOf('1:2:3:4:5:6:7.8.9.10')).toBe('1:2:3:4::/64');
    expect(ipBucketOf('not an address')).toBe('not an address');
  });

  it('when an IPv4-mapped address is spelled in hex or uncompressed, then it is still that IPv4 client, not the ::/64 every such spelling shared', () => {
    expect(ipBucketOf('::ffff:cb00:7105')).toBe('203.0.113.5');
    expect(ipBucketOf('0:0:0:0:0:FFFF:CB00:7105')).toBe('203.0.113.5');
    expect(ipBucketOf('0:0:0:0:0:ffff:203.0.113.5')).toBe('203.0.113.5');
    expect(ipBucketOf('::ffff:c633:645a')).toBe('198.51.100.90');
    expect(ipBucketOf('::ffff:cb00:7105')).not.toBe(ipBucketOf('::ffff:c633:645a'));
  });
});
