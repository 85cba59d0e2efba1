import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

describe('operations endpoints', () => {
  it('when the database is migrated, then /healthz and /readyz answer 200', async () => {
    expect((await t.request('GET', '/healthz')).status).toBe(200);
    const ready = await t.request('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.database).toBe('ok');
  });

  it('then /metrics is Prometheus text and /openapi.json describes the routes', async () => {
    const metrics = await t.request('GET', '/metrics');
    expect(metrics.text).toContain('bb_http_requests_total');
    const openapi = await t.request('GET', '/openapi.json');
    expect(openapi.body.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.body.paths)).toContain('/games');
    // API.md: the document describes all of the contract, the operations endpoints included.
    expect(Object.keys(openapi.body.paths)).toEqual(expect.arrayContaining(['/healthz', '/readyz', '/metrics', '/openapi.json']));
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) expect(openapi.body.paths[path].get.security, path).toEqual([]);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
  });

  it('when a route does not exist, then a 404 problem+json comes back with a request id', async () => {
    const response = await t.request('GET', '/no/such/route', { headers: { 'x-request-id': 'trace-123' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status: 404, code: 'not_found' });
    expect(response.headers.get('x-request-id')).toBe('trace-123');
  });
});

describe('authentication and roles', () => {
  it('when the token is missing, forged, expired or alg none, then 401 unauthorized', async () => {
    const forged = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject(crypto.randomUUID()).setExpirationTime('1h').sign(new TextEncoder().encode('wrong-secret'));
    const expired = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject(crypto.randomUUID()).setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(new TextEncoder().encode('test-secret-for-battlebucks-tests-only'));
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ sub: crypto.randomUUID(), role: 'admin' })).toString('base64url')}.`;
    for (const token of [undefined, forged, expired, none, 'garbage']) {
      const response = await t.request('GET', '/admin/games', { token });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('unauthorized');
    }
  });

  it('when a player calls an admin route, then 403 forbidden', async () => {
    const player = await t.player();
    const response = await t.request('GET', '/admin/games', { token: player.token });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('forbidden');
  });
});

describe('request hygiene', () => {
  it('when the JSON is malformed, then 400 validation_failed and nothing is created', async () => {
    const response = await t.request('POST', '/admin/games', { token: t.adminToken, body: '{"slug": "x",' });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
    expect((await t.request('GET', '/games')).body.items).toHaveLength(0);
  });

  it('when the body is over 1 MB, then 413 payload_too_large', async () => {
    const response = await t.request('POST', '/admin/games', { token: t.adminToken, body: JSON.stringify({ slug: 'big', name: 'x'.repeat(1_100_000), slots: [] }) });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('payload_too_large');
  });

  it('when an id is not a UUID, then 400 and not a 500', async () => {
    const response = await t.request('GET', '/admin/games/not-a-uuid', { token: t.adminToken });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('validation_failed');
  });
});

describe('body validation is strict', () => {
  it('when a JSON body carries null or a numeric string where the schema wants another type, then 400 and nothing is created', async () => {
    for (const body of [{ slug: 'nulls', name: null, slots: [] }, { slug: 'strings', name: 'Strings', slots: 'weapon_skin' }, { slug: 123, name: 'Numbers', slots: [] }]) {
      const response = await t.request('POST', '/admin/games', { token: t.adminToken, body });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('validation_failed');
    }
    expect((await t.request('GET', '/games')).body.items).toHaveLength(0);
  });

  it('when query strings carry numbers and booleans as text, then they are still coerced', async () => {
    const response = await t.request('GET', '/store/items?limit=5&featured=true');
    expect(response.status).toBe(200);
  });
});
