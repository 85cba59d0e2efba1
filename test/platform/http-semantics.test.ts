// HTTP semantics every route shares, whatever module serves it: the media type of bodies (415), the challenge of a
// 401 (WWW-Authenticate), a known path under the wrong method (405 with Allow), and what the OpenAPI document says
// about the answers the platform sends for every route.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.close());

const isProblem = (response: { headers: Headers; body: any }, status: number, code: string) => {
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, code, type: expect.any(String), title: expect.any(String), detail: expect.any(String) });
};

describe('request bodies that are not JSON', () => {
  it('when a JSON body is labelled text/plain, then 415 unsupported_media_type and nothing is created', async () => {
    const player = await t.player();
    const response = await t.request('POST', '/user/characters', { token: player.token, body: JSON.stringify({ name: 'Plain' }), headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(415);
    isProblem(response, 415, 'unsupported_media_type');
    const { rows } = await t.runtime.deps.db.query('SELECT 1 FROM characters WHERE user_id = $1', [player.id]);
    expect(rows).toEqual([]);
  });

  it('when fetch sends a string body with its default text/plain;charset=UTF-8, then 415 on a purchase, a grant and an admin write alike', async () => {
    const player = await t.player();
    for (const [path, token, body] of [
      ['/store/purchases', player.token, { listingId: randomUUID() }],
      ['/service/grants', t.serviceToken, { userId: player.id, gems: 10, reason: 'plain' }],
      ['/admin/games', t.adminToken, { slug: `plain-${randomUUID().slice(0, 8)}`, name: 'Plain', slots: [] }],
    ] as const) {
      const response = await fetch(`${t.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() }, body: JSON.stringify(body) });
      expect(response.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      expect([path, response.status, (await response.json()).code]).toEqual([path, 415, 'unsupported_media_type']);
    }
  });

  it('when a body-less POST carries Content-Type text/plain and no bytes, then the route still runs', async () => {
    const response = await t.request('POST', `/admin/fulfillments/${randomUUID()}/retry`, { token: t.adminToken, headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(404); // the route looked the fulfillment up: not a refused body
    isProblem(response, 404, 'not_found');
  });
});

describe('401 challenges', () => {
  it('when no token is sent, then the 401 carries WWW-Authenticate: Bearer without an error', async () => {
    for (const path of ['/user/wallet', '/admin/orders', '/user/inventory']) {
      const response = await t.request('GET', path);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate'), path).toMatch(/^Bearer\b/);
      expect(response.headers.get('www-authenticate'), path).not.toContain('error=');
    }
  });

  it('when a token is refused (garbage, another secret), then the 401 challenge says error="invalid_token"', async () => {
    for (const token of ['garbage', 'a.b.c']) {
      const response = await t.request('POST', '/service/grants', { token, body: { userId: randomUUID(), gems: 1, reason: 'x' }, headers: { 'idempotency-key': randomUUID() } });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    }
  });

  it('when the answer is 403, then no challenge is sent (the token was fine, the role is not)', async () => {
    const player = await t.player();
    const response = await t.request('GET', '/admin/orders', { token: player.token });
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBeNull();
  });
});

describe('a known path under a method it does not serve', () => {
  it('when DELETE /games, PUT /user/wallet, GET /store/purchases or POST /user/characters/:id, then 405 method_not_allowed with Allow', async () => {
    const player = await t.player();
    const cases: Array<[string, string, string]> = [
      ['DELETE', '/games', 'GET, HEAD'],
      ['PUT', '/user/wallet', 'GET, HEAD'],
      ['GET', '/store/purchases', 'POST'],
      ['POST', `/user/characters/${randomUUID()}`, 'DELETE, GET, HEAD, PATCH'],
      ['PATCH', '/healthz', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const response = await t.request(method, path, { token: player.token });
      expect([method, path, response.status], response.text).toEqual([method, path, 405]);
      isProblem(response, 405, 'method_not_allowed');
      expect(response.headers.get('allow'), `${method} ${path}`).toBe(allow);
      expect(response.body.instance).toBe(path);
    }
  });

  it('when the path itself is unknown, then still 404 not_found without Allow', async () => {
    for (const [method, path] of [['GET', '/no/such/route'], ['DELETE', '/games/'], ['POST', '/user/characters/a/b/c']]) {
      const response = await t.request(method!, path!);
      expect(response.status, `${method} ${path}`).toBe(404);
      isProblem(response, 404, 'not_found');
      expect(response.body.instance, 'instance names the path, as on every other problem').toBe(path);
      expect(response.headers.get('allow')).toBeNull();
    }
  });
});

describe('the OpenAPI document describes the answers the platform sends', () => {
  let doc: any;
  beforeAll(async () => {
    doc = (await t.request('GET', '/openapi.json')).body;
  });
  const operations = () =>
    Object.entries<any>(doc.paths).flatMap(([path, item]) => Object.entries<any>(item).map(([method, operation]) => ({ path, method, operation })));

  it('then every error response that is a Problem is documented as application/problem+json, the type it is sent with (readiness 503 is its own JSON)', async () => {
    const sent = await t.request('GET', '/user/wallet');
    expect(sent.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const mislabelled = operations().flatMap(({ path, method, operation }) =>
      Object.entries<any>(operation.responses ?? {})
        .filter(([status, response]) => Number(status) >= 400 && JSON.stringify(response.content ?? {}).includes('#/components/schemas/Problem'))
        .filter(([, response]) => response.content?.['application/problem+json']?.schema?.$ref !== '#/components/schemas/Problem')
        .map(([status]) => `${method} ${path} ${status}`),
    );
    expect(mislabelled).toEqual([]);
    expect(doc.paths['/user/wallet'].get.responses['401'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    const without = operations().filter(({ operation }) => operation.responses?.['401'] && !operation.responses['401'].headers?.['www-authenticate']);
    expect(without.map(({ method, path }) => `${method} ${path}`)).toEqual([]);
    expect(Object.keys(doc.paths['/readyz'].get.responses['503'].content)).toEqual(['application/json']);
  });

  it('then every operation with a body or a method that carries one documents 413, every JSON one 415, and every operation 503', () => {
    const missing = operations().flatMap(({ path, method, operation }) => {
      const statuses = Object.keys(operation.responses ?? {});
      const body = operation.requestBody || ['put', 'post', 'patch', 'delete'].includes(method);
      const need = ['503', ...(body ? ['413'] : []), ...(body && path !== '/webhooks/shopify' ? ['415'] : [])];
      return need.filter((status) => !statuses.includes(status)).map((status) => `${method} ${path} ${status}`);
    });
    expect(missing).toEqual([]);
  });

  it('when a body-less DELETE is sent a text body, then the 415 it answers is one its operation documents', async () => {
    const player = await t.player();
    const response = await t.request('DELETE', `/user/characters/${randomUUID()}`, { token: player.token, body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(415);
    expect(doc.paths['/user/characters/{id}'].delete.responses['415'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
  });

  it('then every operation taking an Idempotency-Key documents Idempotent-Replayed on its answers, and every conditional read its ETag, Cache-Control and If-None-Match', async () => {
    const keyed = operations().filter(({ operation }) => (operation.parameters ?? []).some((p: any) => p.in === 'header' && p.name === 'idempotency-key'));
    expect(keyed.map(({ method, path }) => `${method} ${path}`)).toContain('post /store/purchases');
    const unmarked = keyed.flatMap(({ path, method, operation }) =>
      Object.entries<any>(operation.responses)
        .filter(([status, response]) => (status.startsWith('2') || status === '404' || status === '409') && !response.headers?.['idempotent-replayed'])
        .map(([status]) => `${method} ${path} ${status}`));
    expect(keyed.every(({ operation }) => !operation.responses['401']?.headers?.['idempotent-replayed'])).toBe(true); // refused before the key
    expect(unmarked).toEqual([]);
    const conditional = operations().filter(({ operation }) => operation.responses?.['304']);
    expect(conditional.map(({ method, path }) => `${method} ${path}`)).toEqual(expect.arrayContaining(['get /store/items', 'get /store/items/{id}', 'get /games']));
    for (const { operation } of conditional) {
      expect(Object.keys(operation.responses['200'].headers ?? {})).toEqual(expect.arrayContaining(['etag', 'cache-control']));
      expect(operation.parameters.filter((p: any) => p.in === 'header' && p.name === 'if-none-match')).toHaveLength(1);
    }
    // and what the document says is what a storefront read sends
    const page = await t.request('GET', '/store/items');
    expect(page.headers.get('etag')).toBeTruthy();
    expect(page.headers.get('cache-control')).toBeTruthy();
  });

  it('then a body property the service fills in when left out (a default) is not listed as required', () => {
    const purchase = doc.paths['/store/purchases'].post.requestBody.content['application/json'].schema;
    expect(purchase.properties.quantity.default).toBe(1);
    expect(purchase.required).toEqual(['listingId']);
    const defaulted = operations().flatMap(({ path, method, operation }) =>
      Object.values<any>(operation.requestBody?.content ?? {}).flatMap((media) =>
        (media.schema?.required ?? []).filter((name: string) => media.schema.properties?.[name]?.default !== undefined).map((name: string) => `${method} ${path} ${name}`)));
    expect(defaulted).toEqual([]);
    expect(JSON.stringify(doc)).not.toContain('x-body-optional');
    // the routes that read a missing body as {} (one unit, the default reason) do not require one
    expect(doc.paths['/admin/orders/{id}/refund'].post.requestBody.required).toBe(false);
    expect(doc.paths['/user/inventory/{id}/use'].post.requestBody.required).toBe(false);
    expect(doc.paths['/store/purchases'].post.requestBody.required).toBe(true);
  });

  it('then GET /docs, which API.md lists among the operations, is described and answers the HTML it says', async () => {
    expect(doc.paths['/docs'].get.responses['200'].content['text/html'].schema.type).toBe('string');
    const page = await t.request('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('then no query parameter with a default is documented as required (limit may be left out of every list)', () => {
    const wronglyRequired = operations().flatMap(({ path, method, operation }) =>
      (operation.parameters ?? [])
        .filter((parameter: any) => parameter.in === 'query' && parameter.required === true && parameter.schema?.default !== undefined)
        .map((parameter: any) => `${method.toUpperCase()} ${path} ?${parameter.name}`));
    expect(wronglyRequired).toEqual([]);
    const limit = doc.paths['/user/inventory'].get.parameters.find((parameter: any) => parameter.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', schema: { default: 20 } });
    expect(limit.required ?? false).toBe(false);
  });

  it('then /metrics is documented as text/plain and /openapi.json as a JSON object', () => {
    expect(doc.paths['/metrics'].get.responses['200'].content['text/plain'].schema.type).toBe('string');
    expect(doc.paths['/openapi.json'].get.responses['200'].content['application/json'].schema.type).toBe('object');
  });
});

describe('router refusals (a broken percent-encoding, an over-long path parameter)', () => {
  const unmatched400 = async () => {
    const text = (await t.request('GET', '/metrics')).text;
    const line = text.split('\n').find((l) => l.startsWith('bb_http_requests_total{method="GET",route="unmatched",status="400"}'));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  it('when the router refuses the URL, then the 400 problem carries the security headers and the request id like every other answer', async () => {
    for (const path of ['/user/characters/%zz', `/user/characters/${'a'.repeat(150)}`]) {
      const response = await t.request('GET', path, { headers: { 'x-request-id': 'router-refusal-1' } });
      expect(response.status, path).toBe(400);
      isProblem(response, 400, 'validation_failed');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('strict-transport-security'), path).toMatch(/max-age=\d+/);
      expect(response.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(response.headers.get('x-request-id'), path).toBe('router-refusal-1');
      expect(response.body.instance, path).toBe(path);
    }
  });

  it('when the router refuses the URL, then the answer is counted in bb_http_requests_total', async () => {
    const before = await unmatched400();
    await t.request('GET', '/user/characters/%zz');
    await t.request('GET', `/store/items/${'b'.repeat(150)}`);
    expect(await unmatched400()).toBe(before + 2);
  });
});

describe('content codings', () => {
  it('when a JSON body comes with Content-Encoding gzip (gzipped, or plain but labelled so), then 415 and nothing is created', async () => {
    const { gzipSync } = await import('node:zlib');
    const player = await t.player();
    for (const body of [gzipSync(JSON.stringify({ name: 'Zipped' })), Buffer.from(JSON.stringify({ name: 'Labelled' }))]) {
      const response = await fetch(`${t.baseUrl}/user/characters`, {
        method: 'POST',
        headers: { authorization: `Bearer ${player.token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body,
      });
      expect(response.status).toBe(415);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect((await response.json()).code).toBe('unsupported_media_type');
    }
    const { rows } = await t.runtime.deps.db.query('SELECT 1 FROM characters WHERE user_id = $1', [player.id]);
    expect(rows).toEqual([]);
  });

  it('when the body says Content-Encoding identity, then it is read as it is', async () => {
    const player = await t.player();
    const response = await t.request('POST', '/user/characters', { token: player.token, body: { name: 'Identity' }, headers: { 'content-encoding': 'identity' } });
    expect(response.status).toBe(201);
  });
});

describe('problems stored under an Idempotency-Key', () => {
  it('when a refused purchase is answered and then replayed, then both problems name the request path in instance, like every other problem', async () => {
    const player = await t.player();
    const headers = { 'idempotency-key': randomUUID() };
    const body = { listingId: randomUUID() };
    const first = await t.request('POST', '/store/purchases', { token: player.token, headers, body });
    const replay = await t.request('POST', '/store/purchases', { token: player.token, headers, body });
    for (const response of [first, replay]) {
      isProblem(response, 404, 'not_found');
      expect(response.body.instance).toBe('/store/purchases');
    }
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('validation problems', () => {
  it('when a value must be one of several constants (a sort, a kind), then the problem names them once instead of one failure per branch', async () => {
    const response = await t.request('GET', '/store/items?sort=cheapest');
    isProblem(response, 400, 'validation_failed');
    expect(response.body.detail).toMatch(/sort must be one of: .*"price_asc".*"price_desc"/);
    expect(response.body.detail).not.toMatch(/must be equal to constant/);
    expect(response.body.errors).toHaveLength(1);
  });
});
