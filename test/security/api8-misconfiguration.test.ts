// OWASP API8:2023 Security Misconfiguration: helmet's headers on every answer (errors included), no framework
// banner, CORS closed, and a 5xx that says nothing about the code or the database behind it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

function expectHardened(headers: Headers, what: string): void {
  expect(headers.get('x-powered-by'), what).toBeNull();
  expect(headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(headers.get('x-frame-options'), what).toBe('SAMEORIGIN');
  expect(headers.get('strict-transport-security'), what).toMatch(/max-age=\d+/);
  expect(headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(headers.get('x-dns-prefetch-control'), what).toBe('off');
  expect(headers.get('cross-origin-opener-policy'), what).toBe('same-origin');
  expect(headers.get('x-xss-protection'), what).toBe('0');
}

describe('API8 security misconfiguration', () => {
  it('when any kind of answer is sent (200, 304, 400, 401, 403, 404, 413), then it carries the security headers and no X-Powered-By', async () => {
    const player = await t.player();
    const items = await t.request('GET', '/store/items');
    const answers = [
      ['200 public', items],
      ['304', await t.request('GET', '/store/items', { headers: { 'if-none-match': items.headers.get('etag') ?? '' } })],
      ['200 player', await t.request('GET', '/user/wallet', { token: player.token })],
      ['400', await t.request('GET', '/store/items?limit=1000')],
      ['401', await t.request('GET', '/user/wallet')],
      ['403', await t.request('GET', '/admin/orders', { token: player.token })],
      ['404', await t.request('GET', '/nothing/here')],
      ['413', await t.request('POST', '/user/characters', { token: player.token, body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) })],
      ['health', await t.request('GET', '/healthz')],
    ] as const;
    for (const [what, response] of answers) expectHardened(response.headers, what);
    expect(answers.map(([, r]) => r.status)).toEqual([200, 304, 200, 400, 401, 403, 404, 413, 200]);
  });

  it('when a browser from another origin asks, then no CORS grant is given', async () => {
    const preflight = await t.request('OPTIONS', '/user/wallet', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await t.request('GET', '/store/items', { headers: { origin: 'https://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('when the database fails under a request, then the 500 is a bare problem+json: no stack, no SQL, no table or driver names', async () => {
    const player = await t.player();
    await t.request('GET', '/user/wallet', { token: player.token });
    const db = t.runtime.deps.db;
    await db.query('ALTER TABLE ledger_entries RENAME TO ledger_entries_hidden');
    let response;
    try {
      response = await t.request('GET', '/user/wallet/transactions', { token: player.token });
    } finally {
      await db.query('ALTER TABLE ledger_entries_hidden RENAME TO ledger_entries');
    }
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ status: 500, code: 'internal_error' });
    expect(Object.keys(response.body).sort()).toEqual(['code', 'detail', 'instance', 'status', 'title', 'type']);
    expect(response.text).not.toMatch(/ledger|relation|SELECT|FROM|postgres|pg|\bat \S+:\d+|\.ts|node_modules|stack/i);
    expectHardened(response.headers, '500');
  });

  it('when the router itself refuses a URL (a path parameter over 100 characters, broken percent-encoding), then a 400 problem+json, not a framework JSON', async () => {
    const player = await t.player();
    for (const path of [`/user/characters/${'x'.repeat(2000)}`, '/user/characters/%E0%A4%A', `/admin/items/${'%41'.repeat(300)}`]) {
      const response = await t.request('GET', path, { token: player.token });
      expect(response.status, path).toBe(400);
      expect(response.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      expect(response.body.code, path).toBe('validation_failed');
    }
  });

  it('when malformed JSON or a wrong content type is sent, then a 4xx problem without parser internals', async () => {
    const player = await t.player();
    const malformed = await t.request('POST', '/user/characters', { token: player.token, body: '{"name": "x",' });
    expect(malformed.status).toBe(400);
    expect(malformed.text).not.toMatch(/at JSON\.parse|Unexpected end|position \d+ \(line/);
    const xml = await t.request('POST', '/user/characters', { token: player.token, body: '<name>x</name>', headers: { 'content-type': 'application/xml' } });
    expect(xml.status).toBe(415);
    expect(xml.body.code).toBe('unsupported_media_type');
  });
});
