// API.md: "The OpenAPI document served at /openapi.json must describe all of it." This file holds the service to
// its own document: it fetches /openapi.json, drives a journey over every route of API.md (public, player, service,
// admin, webhooks, operations; successes and refusals) over real HTTP, and checks every answer against the
// operation the document gives for it:
//  (a) the status is one the operation documents;
//  (b) the content type is one documented for that status (problem+json for errors), and the body validates
//      against its schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses, $refs into components.schemas);
//  (c) the headers API.md names (ETag, Cache-Control, Idempotent-Replayed, Retry-After, RateLimit-*,
//      WWW-Authenticate) are sent where the document marks them required, and listed wherever they are sent;
//  (d) a problem's status and code are the HTTP status and one of the codes API.md gives it;
//  (e) a request the service accepted is one the document allows, and one it refused with 400 is one the document
//      refuses too (unless the rule is one no schema can state);
//  (f) an operation documented as open answers a caller without a token, and a guarded one answers 401.
// A sweep sends every operation the usual refusals; every documented path answers other methods 405 with an Allow
// naming exactly its documented ones; a second app, with workers and the Shopify simulator, walks the delivery
// lifecycle. Every disagreement is collected and reported together; the journey also asserts it reached every
// operation. OPENAPI_CONFORMANCE_REPORT=1 prints the documented statuses and the problem codes the journey saw.
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule, { type FormatsPlugin } from 'ajv-formats';
import { startTestApp, type TestApp, type TestResponse } from '../support/app.js';
import { STATUS_BY_CODE, type ErrorCode } from '../../src/platform/errors.js';
import { startShopifySimulator, type ShopifySimulator } from '../../tools/shopify-simulator/simulator.js';

// ajv-formats is CommonJS with an `exports.default`: what a NodeNext import gives is the module, its plugin under `default`.
const addFormats = ((addFormatsModule as unknown as { default?: FormatsPlugin }).default ?? addFormatsModule) as FormatsPlugin;

type Json = Record<string, any>;
const WEBHOOK_BUDGET = 24;

let t: TestApp;
let doc: Json;
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
const validators = new Map<string, ReturnType<typeof ajv.compile>>();
const mismatches: string[] = [];
/** `METHOD /path` → the statuses it answered during the journey. */
const answered = new Map<string, Set<number>>();
/** `METHOD /path status` → the problem codes it answered. */
const answeredCodes = new Map<string, Set<string>>();

/** Starts the app the calls below go to (`t`) and reads its document (`doc`). */
async function startApp(options: Parameters<typeof startTestApp>[0] = {}): Promise<void> {
  t = await startTestApp({
    ...options,
    // The document as production serves it: rate limiting on (it adds 429 to every limited operation).
    env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_WEBHOOKS: String(WEBHOOK_BUDGET), BODY_LIMIT_BYTES: String(64 * 1024), ...options.env },
  });
  const served = await t.request('GET', '/openapi.json');
  expect(served.status).toBe(200);
  doc = served.body;
  validators.clear();
  paramValidators.clear();
}

function validatorFor(schema: Json) {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    // The response schema with the document's components beside it, so its `#/components/schemas/…` refs resolve.
    validate = ajv.compile({ ...schema, components: doc.components });
    validators.set(key, validate);
  }
  return validate;
}

/** When the answer carries one of these headers (API.md names them), the document lists it for that response. */
const MUST_BE_DOCUMENTED = ['etag', 'retry-after', 'idempotent-replayed', 'www-authenticate', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'];

interface Call {
  method: string;
  /** The path as the document spells it, `{name}` for parameters. */
  path: string;
  params?: Record<string, string>;
  query?: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** This request repeats an earlier one's Idempotency-Key and body: the answer is a replay. */
  replay?: boolean;
  /** A 400 for a rule no schema states (see conformRequest). */
  semantic?: boolean;
}

function conform(call: Call, response: TestResponse): void {
  const method = call.method.toLowerCase();
  const where = `${call.method} ${call.path} → ${response.status}`;
  const operation: Json | undefined = doc.paths[call.path]?.[method];
  if (!operation) {
    mismatches.push(`${call.method} ${call.path}: no such operation in the document`);
    return;
  }
  const seen = answered.get(`${call.method} ${call.path}`) ?? new Set<number>();
  seen.add(response.status);
  answered.set(`${call.method} ${call.path}`, seen);
  if (response.status < 300 || response.status === 400) conformRequest(call, operation, response.status);

  const documented: Json | undefined = operation.responses?.[String(response.status)] ?? operation.responses?.[`${String(response.status)[0]}XX`] ?? operation.responses?.default;
  if (!documented) {
    mismatches.push(`${where}: status not documented (documents ${Object.keys(operation.responses ?? {}).join(', ')}) — ${response.text.slice(0, 200)}`);
    return;
  }
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const content: Json | undefined = documented.content;
  if (!content || Object.keys(content).length === 0) {
    if (response.text !== '') mismatches.push(`${where}: documented without a body, but sent ${type}: ${response.text.slice(0, 200)}`);
  } else if (!content[type]) {
    mismatches.push(`${where}: content type '${type}' not documented (documents ${Object.keys(content).join(', ')})`);
  } else {
    const schema = content[type].schema;
    if (response.status >= 400 && JSON.stringify(content).includes('#/components/schemas/Problem') && type !== 'application/problem+json') {
      mismatches.push(`${where}: a problem sent as ${type}`);
    }
    if (schema) {
      const value = type.endsWith('json') ? response.body : response.text;
      if (type.endsWith('json') && value === undefined) mismatches.push(`${where}: ${type} documented, body is not JSON: ${response.text.slice(0, 200)}`);
      else {
        const validate = validatorFor(schema);
        if (!validate(value)) mismatches.push(`${where}: body does not match the documented schema: ${ajv.errorsText(validate.errors)} — ${response.text.slice(0, 300)}`);
      }
    }
  }
  const fields = new URLSearchParams(call.query ?? '').get('fields');
  if (fields && response.status === 200 && Array.isArray(response.body?.items)) {
    const asked = new Set(['id', ...fields.split(',')]);
    const extra = response.body.items.flatMap((item: Json) => Object.keys(item).filter((name) => !asked.has(name)));
    if (extra.length) mismatches.push(`${where}: fields=${fields} answered other fields too: ${[...new Set(extra)].join(', ')}`);
  }
  if (type === 'application/problem+json' && response.body && typeof response.body === 'object') {
    const problem = response.body as Json;
    if (problem.status !== response.status) mismatches.push(`${where}: the problem says status ${problem.status}`);
    if (STATUS_BY_CODE[problem.code as ErrorCode] !== response.status) mismatches.push(`${where}: code '${problem.code}' is not one API.md gives this status`);
    const codes = answeredCodes.get(`${call.method} ${call.path} ${response.status}`) ?? new Set<string>();
    answeredCodes.set(`${call.method} ${call.path} ${response.status}`, codes.add(String(problem.code)));
  }
  // A header may be a reference into components.headers.
  const headers: Json = Object.fromEntries(Object.entries<Json>(documented.headers ?? {}).map(([name, header]) =>
    [name, typeof header.$ref === 'string' ? doc.components.headers?.[header.$ref.replace('#/components/headers/', '')] ?? {} : header]));
  for (const name of Object.keys(headers)) {
    const sent = response.headers.get(name);
    if (headers[name].required === true && sent === null) mismatches.push(`${where}: header '${name}' is documented as required, but not sent`);
    if (name === 'idempotent-replayed' && call.replay && sent !== 'true') mismatches.push(`${where}: a replay without Idempotent-Replayed: true`);
    if (sent !== null && headers[name].schema?.type === 'integer' && !/^\d+$/.test(sent)) mismatches.push(`${where}: header '${name}' is '${sent}', documented as an integer`);
  }
  for (const name of MUST_BE_DOCUMENTED) {
    if (response.headers.get(name) !== null && !headers[name]) mismatches.push(`${where}: sends '${name}' which the document does not list for this response`);
  }
  if (call.replay && response.headers.get('idempotent-replayed') !== 'true') mismatches.push(`${where}: expected a replay (Idempotent-Replayed: true)`);
}

/**
 * Why the document would refuse this request: a path, query or header parameter its schema refuses, a query
 * parameter it does not list (`ignored` when the operation takes no query string at all: the service ignores one
 * there), a required parameter or body left out, or a body its schema refuses. Empty: the document allows it.
 */
function requestDeviations(call: Call, operation: Json): { deviations: string[]; ignored: string[] } {
  const deviations: string[] = [];
  const ignored: string[] = [];
  const parameters: Json[] = operation.parameters ?? [];
  const query = new URLSearchParams(call.query ?? '');
  const sentHeaders = Object.fromEntries(Object.entries(call.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const takesQuery = parameters.some((p) => p.in === 'query');
  for (const name of new Set(query.keys())) {
    const parameter = parameters.find((p) => p.in === 'query' && p.name === name);
    if (!parameter) (takesQuery ? deviations : ignored).push(`query parameter '${name}' is not listed`);
    else if (!paramValidatorFor(parameter.schema)({ value: query.get(name) })) deviations.push(`${name}=${query.get(name)} is refused by its schema`);
  }
  for (const parameter of parameters) {
    const value = parameter.in === 'query' ? query.get(parameter.name) ?? undefined
      : parameter.in === 'header' ? sentHeaders[String(parameter.name).toLowerCase()]
      : parameter.in === 'path' ? call.params?.[parameter.name] : undefined;
    if (value === undefined) {
      if (parameter.required === true) deviations.push(`the required ${parameter.in} parameter '${parameter.name}' is missing`);
    } else if (parameter.in !== 'query' && !paramValidatorFor(parameter.schema)({ value })) {
      deviations.push(`${parameter.in} parameter ${parameter.name}=${value} is refused by its schema`);
    }
  }
  const requestBody: Json | undefined = operation.requestBody;
  if (call.body === undefined) {
    if (requestBody?.required === true) deviations.push('the required body is missing');
    return { deviations, ignored };
  }
  const type = (sentHeaders['content-type'] ?? 'application/json').split(';')[0]!.trim();
  const schema = requestBody?.content?.[type]?.schema;
  if (!requestBody) deviations.push('a body is sent, but the document describes none');
  else if (!schema) deviations.push(`a ${type} body is not listed`);
  else {
    let body: unknown;
    try {
      body = typeof call.body === 'string' ? JSON.parse(call.body) : call.body;
    } catch {
      deviations.push('the body is not JSON');
      return { deviations, ignored };
    }
    const validate = validatorFor(schema);
    if (!validate(body)) deviations.push(`the body is refused by its schema: ${ajv.errorsText(validate.errors)} — ${JSON.stringify(body).slice(0, 200)}`);
  }
  return { deviations, ignored };
}

/**
 * A request the service accepted is one the document allows; a request it refused as invalid (400) is one the
 * document refuses too, unless the refusal is a rule no schema can state (`semantic`: an unknown `fields=` name, a
 * forged cursor, a shipping address a merch listing needs).
 */
function conformRequest(call: Call, operation: Json, status: number): void {
  const where = `${call.method} ${call.path} (answered ${status})`;
  const { deviations, ignored } = requestDeviations(call, operation);
  if (status < 300) for (const deviation of deviations) mismatches.push(`${where}: accepted, but ${deviation}`);
  if (status === 400 && !call.semantic && deviations.length + ignored.length === 0) {
    mismatches.push(`${where}: refused a request the document allows: ${JSON.stringify({ query: call.query, params: call.params, body: call.body }).slice(0, 300)}`);
  }
}

/** Query values arrive as text: validated as the service reads them (numbers and booleans coerced). */
const paramAjv = new Ajv2020({ strict: false, allErrors: true, coerceTypes: true });
addFormats(paramAjv);
const paramValidators = new Map<string, ReturnType<typeof ajv.compile>>();
function paramValidatorFor(schema: Json) {
  const key = JSON.stringify(schema);
  let validate = paramValidators.get(key);
  if (!validate) {
    validate = paramAjv.compile({ type: 'object', properties: { value: schema }, components: doc.components });
    paramValidators.set(key, validate);
  }
  return validate;
}

async function call(c: Call): Promise<TestResponse> {
  const url = c.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = c.params?.[name];
    if (value === undefined) throw new Error(`${c.path}: no value for {${name}}`);
    return encodeURIComponent(value);
  }) + (c.query ? `?${c.query}` : '');
  const response = await t.request(c.method, url, { token: c.token, body: c.body, headers: c.headers });
  conform(c, response);
  return response;
}

/** A call the journey relies on: it must answer `status`, or the rest of the journey has nothing to stand on. */
async function must(status: number, c: Call): Promise<TestResponse> {
  const response = await call(c);
  expect(response.status, `${c.method} ${c.path}: ${response.text.slice(0, 300)}\nmismatches so far:\n${mismatches.join('\n')}`).toBe(status);
  return response;
}

const key = () => ({ 'idempotency-key': randomUUID() });
const ADDRESS = { name: 'Ada Lovelace', address1: '12 Analytical St', city: 'London', zip: 'N1 9GU', country: 'GB' };
const signPayment = (raw: string) => createHmac('sha256', t.config.paymentsWebhookSecret).update(raw).digest('hex');
const signShopify = (raw: string) => createHmac('sha256', t.config.shopifyWebhookSecret).update(raw).digest('base64');

describe('the OpenAPI document describes what the service answers', () => {
  beforeAll(() => startApp());
  afterAll(async () => t?.close());

  it('then the checker itself refuses a body its schema does not allow (so a clean run means something)', () => {
    const problem = validatorFor({ $ref: '#/components/schemas/Problem' });
    expect(problem({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'gone', code: 'not_found' })).toBe(true);
    expect(problem({ type: 'about:blank', title: 'Not Found', status: '404', detail: 'gone', code: 'not_found' })).toBe(false);
    const gamePage = validatorFor(doc.paths['/admin/games'].get.responses['200'].content['application/json'].schema);
    const game = { id: randomUUID(), slug: 's', name: 'n', slots: [], createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
    expect(gamePage({ items: [game], nextCursor: null })).toBe(true);
    expect(gamePage({ items: [{ ...game, id: 'not-a-uuid' }], nextCursor: null })).toBe(false);
    expect(gamePage({ items: [{ ...game, createdAt: 'yesterday' }], nextCursor: null })).toBe(false);
  });

  it('then the headers API.md names are documented as required where they are always sent, and Idempotent-Replayed as optional', () => {
    const responses = (path: string, method: string) => doc.paths[path][method].responses;
    for (const path of ['/games', '/store/items', '/store/items/{id}', '/user/inventory']) {
      for (const status of ['200', '304']) {
        for (const name of ['etag', 'cache-control']) expect(responses(path, 'get')[status].headers[name]?.required, `${path} ${status} ${name}`).toBe(true);
      }
    }
    const purchase = responses('/store/purchases', 'post');
    for (const name of ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy']) expect(purchase['429'].headers[name]?.required, name).toBe(true);
    expect(purchase['401'].headers['www-authenticate'].required).toBe(true);
    expect(purchase['503'].headers['retry-after'].required).toBe(true);
    expect(purchase['201'].headers['idempotent-replayed'].required ?? false).toBe(false);
    expect(responses('/webhooks/payments', 'post')['200'].headers['idempotent-replayed'].required ?? false).toBe(false);
    // the webhooks take no token: their signature header is the credential, and without it nothing gets in
    const header = (path: string, name: string) => doc.paths[path].post.parameters.find((p: Json) => p.in === 'header' && p.name === name);
    expect(header('/webhooks/payments', 'x-signature')?.required).toBe(true);
    expect(header('/webhooks/shopify', 'x-shopify-hmac-sha256')?.required).toBe(true);
    // every answer of a limited operation carries the RateLimit-* fields (docs/rate-limiting.md § Headers)
    for (const status of ['201', '400', '409']) {
      expect(purchase[status].headers['ratelimit-remaining'], status).toEqual({ $ref: '#/components/headers/RateLimit-Remaining' });
    }
    expect(doc.components.headers['RateLimit-Remaining']).toMatchObject({ required: true, schema: { type: 'integer' } });
    expect(responses('/healthz', 'get')['200'].headers?.['ratelimit-remaining']).toBeUndefined(); // probes are not limited
  });

  it('then no read documents a conflict, and no list a 404 (the admin routes share one error list with their writes)', () => {
    const claimed = Object.entries<Json>(doc.paths).flatMap(([path, item]) => {
      const responses = Object.keys(item.get?.responses ?? {});
      return [
        ...(responses.includes('409') ? [`GET ${path} 409`] : []),
        ...(responses.includes('404') && !path.includes('{') ? [`GET ${path} 404`] : []),
      ];
    });
    expect(claimed).toEqual([]);
    expect(Object.keys(doc.paths['/admin/games/{id}'].get.responses)).toContain('404');
    expect(Object.keys(doc.paths['/admin/games/{id}'].patch.responses)).toEqual(expect.arrayContaining(['404', '409']));
  });

  it('then every list says which fields= names it takes: the properties of its items', () => {
    const lists = Object.entries<Json>(doc.paths).filter(([, item]) => (item.get?.parameters ?? []).some((p: Json) => p.in === 'query' && p.name === 'fields'));
    expect(lists.length).toBeGreaterThanOrEqual(12);
    const unnamed = lists.flatMap(([path, item]) => {
      const description: string = item.get.parameters.find((p: Json) => p.name === 'fields').description ?? '';
      let schema: Json = item.get.responses['200'].content['application/json'].schema.properties.items.items;
      if (schema.$ref) schema = doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')];
      return Object.keys(schema.properties).filter((name) => !description.includes(`\`${name}\``)).map((name) => `${path} ${name}`);
    });
    expect(unnamed).toEqual([]);
  });

  it('then every problem response names the codes its status carries (API.md § Errors), and the checker holds answers to them', () => {
    const purchase = doc.paths['/store/purchases'].post.responses;
    expect(purchase['409'].content['application/problem+json'].schema.properties.code.enum).toEqual(expect.arrayContaining(['insufficient_funds', 'out_of_stock', 'already_owned', 'purchase_limit_reached', 'not_available', 'price_changed', 'idempotency_in_progress']));
    expect(purchase['409'].description).toContain('`price_changed`');
    const unnamed = Object.entries<Json>(doc.paths).flatMap(([path, item]) => Object.entries<Json>(item).flatMap(([method, operation]) =>
      Object.entries<Json>(operation.responses).filter(([status, response]) => Number(status) >= 400 && response.content?.['application/problem+json'])
        .filter(([, response]) => !Array.isArray(response.content['application/problem+json'].schema.properties?.code?.enum))
        .map(([status]) => `${method} ${path} ${status}`)));
    expect(unnamed).toEqual([]);
    const notFound = validatorFor(doc.paths['/store/items/{id}'].get.responses['404'].content['application/problem+json'].schema);
    expect(notFound({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'gone', code: 'not_found' })).toBe(true);
    expect(notFound({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'gone', code: 'out_of_stock' })).toBe(false);
    expect(notFound({ type: 'about:blank', title: 'Not Found', status: 400, detail: 'gone', code: 'not_found' })).toBe(false);
  });

  it('when a client walks every route of API.md, successes and refusals, then every answer is one the document describes', async () => {
    const admin = t.adminToken;
    const service = t.serviceToken;
    const buyer = await t.player({ email: 'buyer@players.test', name: 'Buyer' });
    const other = await t.player();
    const missing = randomUUID();

    // ── operations ──
    await must(200, { method: 'GET', path: '/healthz' });
    await must(200, { method: 'GET', path: '/readyz' });
    await must(200, { method: 'GET', path: '/metrics' });
    await must(200, { method: 'GET', path: '/openapi.json' });
    await must(200, { method: 'GET', path: '/docs' });

    // ── admin: games ──
    const game = (await must(201, { method: 'POST', path: '/admin/games', token: admin, body: { slug: 'conformance', name: 'Conformance', slots: ['weapon_skin', 'emote'] } })).body;
    const spare = (await must(201, { method: 'POST', path: '/admin/games', token: admin, body: { slug: 'spare', name: 'Spare' } })).body;
    await must(409, { method: 'POST', path: '/admin/games', token: admin, body: { slug: 'conformance', name: 'Again', slots: [] } });
    await must(400, { method: 'POST', path: '/admin/games', token: admin, body: { slug: 'Bad Slug', name: 'x' } });
    await must(401, { method: 'POST', path: '/admin/games', body: { slug: 'x', name: 'x' } });
    await must(401, { method: 'GET', path: '/admin/games', token: 'garbage' });
    await must(403, { method: 'POST', path: '/admin/games', token: buyer.token, body: { slug: 'x', name: 'x' } });
    await must(413, { method: 'POST', path: '/admin/games', token: admin, body: { slug: 'big', name: 'x'.repeat(70_000) } });
    await must(415, { method: 'POST', path: '/admin/games', token: admin, body: 'slug=x', headers: { 'content-type': 'text/plain' } });
    const gamesPage = (await must(200, { method: 'GET', path: '/admin/games', token: admin, query: 'limit=1' })).body;
    await must(200, { method: 'GET', path: '/admin/games', token: admin, query: `limit=1&cursor=${encodeURIComponent(gamesPage.nextCursor)}` });
    await must(200, { method: 'GET', path: '/admin/games', token: admin, query: 'fields=slug' });
    await must(400, { method: 'GET', path: '/admin/games', token: admin, query: 'fields=nope', semantic: true });
    await must(400, { method: 'GET', path: '/admin/games', token: admin, query: 'limit=0' });
    await must(200, { method: 'GET', path: '/admin/games/{id}', params: { id: game.id }, token: admin });
    await must(404, { method: 'GET', path: '/admin/games/{id}', params: { id: missing }, token: admin });
    await must(400, { method: 'GET', path: '/admin/games/{id}', params: { id: 'not-a-uuid' }, token: admin });
    await must(200, { method: 'PATCH', path: '/admin/games/{id}', params: { id: game.id }, token: admin, body: { name: 'Conformance Game' } });
    await must(400, { method: 'PATCH', path: '/admin/games/{id}', params: { id: game.id }, token: admin, body: {} });
    await must(404, { method: 'PATCH', path: '/admin/games/{id}', params: { id: missing }, token: admin, body: { name: 'Nobody' } });

    // ── public: games ──
    const games = await must(200, { method: 'GET', path: '/games' });
    await must(304, { method: 'GET', path: '/games', headers: { 'if-none-match': games.headers.get('etag')! } });
    await must(200, { method: 'GET', path: '/games', query: 'fields=name&limit=1', token: buyer.token });
    await must(400, { method: 'GET', path: '/games', query: 'limit=101' });

    // ── admin: items ──
    const item = (body: Json) => must(201, { method: 'POST', path: '/admin/items', token: admin, body });
    const skin = (await item({ sku: 'skin-1', name: 'Blue Blade', kind: 'game_skin', gameId: game.id, slot: 'weapon_skin' })).body;
    const emote = (await item({ sku: 'emote-1', name: 'Wave', kind: 'game_skin', gameId: game.id, slot: 'emote' })).body;
    const avatar = (await item({ sku: 'avatar-1', name: 'Platform Hat', kind: 'platform_skin', compatibleGameIds: [spare.id], slot: 'weapon_skin' })).body;
    const lives = (await item({ sku: 'lives-1', name: 'Extra Life', kind: 'utility', consumable: true, deliveryType: 'functional', effect: { lives: 1 } })).body;
    const potion = (await item({ sku: 'potion-1', name: 'Potion', kind: 'game_item', gameId: game.id, consumable: true, maxStack: 50 })).body;
    const voucher = (await item({ sku: 'voucher-1', name: 'Gift Card', kind: 'voucher' })).body;
    const merch = (await item({ sku: 'merch-1', name: 'T-shirt', kind: 'merch', shopifyVariantId: 'gid://shopify/ProductVariant/1' })).body;
    const gems = (await item({ sku: 'gems-1', name: '500 Gems', kind: 'gem_pack', effect: { gems: 500 } })).body;
    const unused = (await item({ sku: 'unused-1', name: 'Unused', kind: 'utility', description: 'to delete' })).body;
    await must(409, { method: 'POST', path: '/admin/items', token: admin, body: { sku: 'skin-1', name: 'Dup', kind: 'game_skin', gameId: game.id, slot: 'emote' } });
    await must(400, { method: 'POST', path: '/admin/items', token: admin, body: { sku: 'x', name: 'x', kind: 'nope' } });
    await must(404, { method: 'POST', path: '/admin/items', token: admin, body: { sku: 'orphan', name: 'x', kind: 'game_skin', gameId: missing } });
    const itemsPage = (await must(200, { method: 'GET', path: '/admin/items', token: admin, query: 'limit=2' })).body;
    await must(200, { method: 'GET', path: '/admin/items', token: admin, query: `limit=2&cursor=${encodeURIComponent(itemsPage.nextCursor)}` });
    await must(200, { method: 'GET', path: '/admin/items', token: admin, query: `gameId=${game.id}&kind=game_skin&fields=sku,name` });
    await must(400, { method: 'GET', path: '/admin/items', token: admin, query: 'kind=nope' });
    // a filter naming nothing is an empty page, not 404 (lists document no 404)
    await must(200, { method: 'GET', path: '/admin/items', token: admin, query: `gameId=${missing}` });
    await must(200, { method: 'GET', path: '/admin/listings', token: admin, query: `gameId=${missing}` });
    await must(200, { method: 'GET', path: '/store/items', query: `gameId=${missing}` });
    await must(200, { method: 'GET', path: '/user/inventory', token: buyer.token, query: `gameId=${missing}` });
    await must(200, { method: 'GET', path: '/admin/items/{id}', params: { id: lives.id }, token: admin });
    await must(404, { method: 'GET', path: '/admin/items/{id}', params: { id: missing }, token: admin });
    await must(200, { method: 'PATCH', path: '/admin/items/{id}', params: { id: skin.id }, token: admin, body: { description: 'A blue blade', attributes: { rarity: 'rare' } } });
    await must(404, { method: 'PATCH', path: '/admin/items/{id}', params: { id: missing }, token: admin, body: { name: 'x' } });
    await must(400, { method: 'PATCH', path: '/admin/items/{id}', params: { id: skin.id }, token: admin, body: { maxStack: 0 } });
    await must(204, { method: 'DELETE', path: '/admin/items/{id}', params: { id: unused.id }, token: admin });
    await must(404, { method: 'DELETE', path: '/admin/items/{id}', params: { id: unused.id }, token: admin });
    await must(409, { method: 'DELETE', path: '/admin/games/{id}', params: { id: game.id }, token: admin });

    // ── admin: vouchers ──
    await must(200, { method: 'POST', path: '/admin/items/{id}/vouchers', params: { id: voucher.id }, token: admin, body: { codes: ['CODE-1', 'CODE-2', 'CODE-2'] } });
    await must(404, { method: 'POST', path: '/admin/items/{id}/vouchers', params: { id: missing }, token: admin, body: { codes: ['X'] } });
    await call({ method: 'POST', path: '/admin/items/{id}/vouchers', params: { id: skin.id }, token: admin, body: { codes: ['X'] } });
    await must(400, { method: 'POST', path: '/admin/items/{id}/vouchers', params: { id: voucher.id }, token: admin, body: { codes: [] } });

    // ── admin: listings ──
    const listing = (body: Json) => must(201, { method: 'POST', path: '/admin/listings', token: admin, body });
    const skinListing = (await listing({ title: 'Blue Blade', price: 100, items: [{ itemId: skin.id }], tags: ['blades'], featuredRank: 1 })).body;
    const emoteListing = (await listing({ title: 'Wave', price: 10, items: [{ itemId: emote.id }], stock: 1 })).body;
    const avatarListing = (await listing({ title: 'Hat', price: 10, items: [{ itemId: avatar.id }], perUserLimit: 1 })).body;
    const livesListing = (await listing({ title: 'Lives x3', price: 5, items: [{ itemId: lives.id, quantity: 3 }] })).body;
    const potionListing = (await listing({ title: 'Potions', price: 1, items: [{ itemId: potion.id, quantity: 5 }] })).body;
    const limitedPotions = (await listing({ title: 'One per player', price: 1, items: [{ itemId: potion.id }], perUserLimit: 1 })).body;
    const voucherListing = (await listing({ title: 'Gift Card', price: 20, items: [{ itemId: voucher.id }] })).body;
    const merchListing = (await listing({ title: 'T-shirt', price: 30, items: [{ itemId: merch.id }] })).body;
    const gemsListing = (await listing({ title: 'Gems', price: 0, items: [{ itemId: gems.id }] })).body;
    const bundle = (await listing({ title: 'Bundle', price: 50, items: [{ itemId: potion.id, quantity: 2 }, { itemId: voucher.id }], endsAt: '2999-01-01T00:00:00Z' })).body;
    const closed = (await listing({ title: 'Closed', price: 1, items: [{ itemId: potion.id }], active: false })).body;
    const doomed = (await listing({ title: 'Doomed', price: 1, items: [{ itemId: potion.id }] })).body;
    await must(400, { method: 'POST', path: '/admin/listings', token: admin, body: { title: 'No lines', price: 1, items: [] } });
    await call({ method: 'POST', path: '/admin/listings', token: admin, body: { title: 'Ghost', price: 1, items: [{ itemId: missing }] } });
    const listingsPage = (await must(200, { method: 'GET', path: '/admin/listings', token: admin, query: 'limit=3' })).body;
    await must(200, { method: 'GET', path: '/admin/listings', token: admin, query: `limit=3&cursor=${encodeURIComponent(listingsPage.nextCursor)}` });
    await must(200, { method: 'GET', path: '/admin/listings', token: admin, query: 'active=false&fields=title,price' });
    await must(200, { method: 'GET', path: '/admin/listings/{id}', params: { id: bundle.id }, token: admin });
    await must(404, { method: 'GET', path: '/admin/listings/{id}', params: { id: missing }, token: admin });
    await must(200, { method: 'PATCH', path: '/admin/listings/{id}', params: { id: skinListing.id }, token: admin, body: { tags: ['blades', 'blue'] } });
    await must(200, { method: 'PATCH', path: '/admin/listings/{id}', params: { id: skinListing.id }, token: admin, body: { items: [{ itemId: skin.id }] } });
    await must(404, { method: 'PATCH', path: '/admin/listings/{id}', params: { id: missing }, token: admin, body: { price: 1 } });
    await must(400, { method: 'PATCH', path: '/admin/listings/{id}', params: { id: skinListing.id }, token: admin, body: { price: -1 } });
    await must(204, { method: 'DELETE', path: '/admin/listings/{id}', params: { id: doomed.id }, token: admin });
    await must(404, { method: 'DELETE', path: '/admin/listings/{id}', params: { id: missing }, token: admin });
    await call({ method: 'DELETE', path: '/admin/items/{id}', params: { id: skin.id }, token: admin });
    await call({ method: 'DELETE', path: '/admin/games/{id}', params: { id: spare.id }, token: admin }); // the platform hat names it
    const lone = (await must(201, { method: 'POST', path: '/admin/games', token: admin, body: { slug: 'lone', name: 'Lone' } })).body;
    await must(204, { method: 'DELETE', path: '/admin/games/{id}', params: { id: lone.id }, token: admin });
    await must(404, { method: 'DELETE', path: '/admin/games/{id}', params: { id: missing }, token: admin });

    // ── public: storefront ──
    const store = await must(200, { method: 'GET', path: '/store/items' });
    await must(304, { method: 'GET', path: '/store/items', headers: { 'if-none-match': store.headers.get('etag')! } });
    const storePage = (await must(200, { method: 'GET', path: '/store/items', query: 'limit=2&sort=price_asc' })).body;
    await must(200, { method: 'GET', path: '/store/items', query: `limit=2&sort=price_asc&cursor=${encodeURIComponent(storePage.nextCursor)}` });
    await must(200, { method: 'GET', path: '/store/items', query: `gameId=${game.id}&kind=game_skin&deliveryType=inventory&tag=blades&q=blade&minPrice=1&maxPrice=1000&featured=true&sort=newest` });
    await must(200, { method: 'GET', path: '/store/items', query: 'fields=title,price', token: buyer.token });
    await must(400, { method: 'GET', path: '/store/items', query: 'sort=cheapest' });
    await must(400, { method: 'GET', path: '/store/items', query: 'kind=nope' });
    const one = await must(200, { method: 'GET', path: '/store/items/{id}', params: { id: bundle.id } });
    await must(304, { method: 'GET', path: '/store/items/{id}', params: { id: bundle.id }, headers: { 'if-none-match': one.headers.get('etag')! } });
    await must(404, { method: 'GET', path: '/store/items/{id}', params: { id: missing } });
    await must(404, { method: 'GET', path: '/store/items/{id}', params: { id: closed.id } });
    await must(400, { method: 'GET', path: '/store/items/{id}', params: { id: 'nope' } });

    // ── admin: campaigns ──
    const campaign = (await must(201, { method: 'POST', path: '/admin/campaigns', token: admin, body: { slug: 'spring-cup', name: 'Spring Cup', kind: 'tournament', attributes: { prize: 'gems' } } })).body;
    await must(201, { method: 'POST', path: '/admin/campaigns', token: admin, body: { slug: 'collab', name: 'Collab', kind: 'collab', startsAt: '2020-01-01T00:00:00Z', endsAt: '2021-01-01T00:00:00Z' } });
    await must(409, { method: 'POST', path: '/admin/campaigns', token: admin, body: { slug: 'spring-cup', name: 'Again', kind: 'tournament' } });
    await must(400, { method: 'POST', path: '/admin/campaigns', token: admin, body: { slug: 'x', name: 'x', kind: 'nope' } });
    const campaigns = (await must(200, { method: 'GET', path: '/admin/campaigns', token: admin, query: 'limit=1' })).body;
    await must(200, { method: 'GET', path: '/admin/campaigns', token: admin, query: `limit=1&cursor=${encodeURIComponent(campaigns.nextCursor)}` });
    await must(200, { method: 'GET', path: '/admin/campaigns', token: admin, query: 'active=true&kind=tournament&fields=slug' });
    await must(200, { method: 'PATCH', path: '/admin/campaigns/{id}', params: { id: campaign.id }, token: admin, body: { name: 'Spring Cup 2026' } });
    await must(404, { method: 'PATCH', path: '/admin/campaigns/{id}', params: { id: missing }, token: admin, body: { name: 'x' } });
    await must(400, { method: 'PATCH', path: '/admin/campaigns/{id}', params: { id: campaign.id }, token: admin, body: { slug: 'changed' } });
    await must(404, { method: 'GET', path: '/admin/campaigns/{id}', params: { id: missing }, token: admin });

    // ── service: grants ──
    const grantBody = { userId: buyer.id, gems: 1_000, items: [{ itemId: potion.id, quantity: 2 }], reason: 'Spring Cup prize', campaignId: campaign.id };
    const grantKey = key();
    await must(201, { method: 'POST', path: '/service/grants', token: service, headers: grantKey, body: grantBody });
    await must(201, { method: 'POST', path: '/service/grants', token: service, headers: grantKey, body: grantBody, replay: true });
    await must(422, { method: 'POST', path: '/service/grants', token: service, headers: grantKey, body: { ...grantBody, gems: 2_000 } });
    await must(400, { method: 'POST', path: '/service/grants', token: service, body: grantBody });
    await must(403, { method: 'POST', path: '/service/grants', token: buyer.token, headers: key(), body: grantBody });
    await must(401, { method: 'POST', path: '/service/grants', headers: key(), body: grantBody });
    await must(404, { method: 'POST', path: '/service/grants', token: service, headers: key(), body: { userId: buyer.id, items: [{ itemId: missing, quantity: 1 }], reason: 'ghost' } });
    await must(201, { method: 'POST', path: '/service/grants', token: service, headers: key(), body: { userId: other.id, gems: 15, reason: 'welcome' } });
    await must(200, { method: 'GET', path: '/admin/campaigns/{id}', params: { id: campaign.id }, token: admin });

    // ── webhooks: payments ──
    const topUp = JSON.stringify({ eventId: `evt-${randomUUID()}`, userId: buyer.id, gems: 100, amountCents: 199, currency: 'USD' });
    await must(200, { method: 'POST', path: '/webhooks/payments', body: topUp, headers: { 'x-signature': signPayment(topUp) } });
    await must(200, { method: 'POST', path: '/webhooks/payments', body: topUp, headers: { 'x-signature': signPayment(topUp) } });
    await must(401, { method: 'POST', path: '/webhooks/payments', body: topUp, headers: { 'x-signature': 'deadbeef' } });
    await must(401, { method: 'POST', path: '/webhooks/payments', body: topUp });
    const negative = JSON.stringify({ eventId: 'evt-bad', userId: buyer.id, gems: -1, amountCents: 0, currency: 'USD' });
    await must(400, { method: 'POST', path: '/webhooks/payments', body: negative, headers: { 'x-signature': signPayment(negative) } });
    await must(413, { method: 'POST', path: '/webhooks/payments', body: JSON.stringify({ padding: 'x'.repeat(70_000) }), headers: { 'x-signature': signPayment('x') } });
    await must(415, { method: 'POST', path: '/webhooks/payments', body: topUp, headers: { 'content-type': 'text/plain', 'x-signature': signPayment(topUp) } });

    // ── player: wallet ──
    await must(200, { method: 'GET', path: '/user/wallet', token: buyer.token });
    await must(401, { method: 'GET', path: '/user/wallet' });
    await must(403, { method: 'GET', path: '/user/wallet', token: admin });
    const ledger = (await must(200, { method: 'GET', path: '/user/wallet/transactions', token: buyer.token, query: 'limit=1' })).body;
    await must(200, { method: 'GET', path: '/user/wallet/transactions', token: buyer.token, query: `limit=1&cursor=${encodeURIComponent(ledger.nextCursor)}` });
    await must(200, { method: 'GET', path: '/user/wallet/transactions', token: buyer.token, query: 'fields=amount' });
    await must(400, { method: 'GET', path: '/user/wallet/transactions', token: buyer.token, query: 'cursor=garbage', semantic: true });

    // ── admin: wallet adjustments ──
    const adjustKey = key();
    const adjust = { amount: 50, reason: 'Goodwill' };
    await must(201, { method: 'POST', path: '/admin/users/{userId}/wallet/adjustments', params: { userId: buyer.id }, token: admin, headers: adjustKey, body: adjust });
    await must(201, { method: 'POST', path: '/admin/users/{userId}/wallet/adjustments', params: { userId: buyer.id }, token: admin, headers: adjustKey, body: adjust, replay: true });
    await must(422, { method: 'POST', path: '/admin/users/{userId}/wallet/adjustments', params: { userId: buyer.id }, token: admin, headers: adjustKey, body: { amount: 51, reason: 'Goodwill' } });
    await must(409, { method: 'POST', path: '/admin/users/{userId}/wallet/adjustments', params: { userId: other.id }, token: admin, headers: key(), body: { amount: -1_000_000, reason: 'Claw back' } });
    await must(404, { method: 'POST', path: '/admin/users/{userId}/wallet/adjustments', params: { userId: missing }, token: admin, headers: key(), body: adjust });
    await must(400, { method: 'POST', path: '/admin/users/{userId}/wallet/adjustments', params: { userId: buyer.id }, token: admin, headers: key(), body: { amount: 0, reason: 'nothing' } });

    // ── player: purchases ──
    const buy = (status: number, body: Json, headers: Record<string, string> = key(), token = buyer.token, replay = false, semantic = false) =>
      must(status, { method: 'POST', path: '/store/purchases', token, headers, body, replay, semantic });
    const skinKey = key();
    const skinOrder = (await buy(201, { listingId: skinListing.id, expectedPrice: 100 }, skinKey)).body;
    await buy(201, { listingId: skinListing.id, expectedPrice: 100 }, skinKey, buyer.token, true);
    await buy(422, { listingId: skinListing.id, quantity: 2 }, skinKey);
    const ownedKey = key();
    await buy(409, { listingId: skinListing.id }, ownedKey);                      // already_owned
    await buy(409, { listingId: skinListing.id }, ownedKey, buyer.token, true);   // the stored refusal, replayed
    await buy(409, { listingId: livesListing.id, expectedPrice: 4 });             // price_changed
    await buy(409, { listingId: closed.id });                                     // not_available
    const missingKey = key();
    await buy(404, { listingId: missing }, missingKey);
    await buy(404, { listingId: missing }, missingKey, buyer.token, true);       // a stored 404, replayed
    await buy(400, { listingId: skinListing.id }, {});                            // no Idempotency-Key
    await buy(400, { listingId: merchListing.id }, key(), buyer.token, false, true); // merch without an address
    await buy(409, { listingId: potionListing.id, quantity: 100 }, key(), other.token); // insufficient_funds
    await buy(201, { listingId: emoteListing.id });
    await buy(409, { listingId: emoteListing.id }, key(), other.token);          // out_of_stock
    await buy(201, { listingId: avatarListing.id });
    await buy(409, { listingId: avatarListing.id });                              // already_owned (not consumable)
    await buy(201, { listingId: limitedPotions.id });
    await buy(409, { listingId: limitedPotions.id });                             // purchase_limit_reached
    const livesOrder = (await buy(201, { listingId: livesListing.id, quantity: 2 })).body;
    await buy(201, { listingId: potionListing.id });
    await buy(201, { listingId: voucherListing.id });
    await buy(201, { listingId: gemsListing.id });
    await buy(201, { listingId: bundle.id });
    const merchOrder = (await buy(201, { listingId: merchListing.id, shippingAddress: { ...ADDRESS, address2: null, phone: '+44 20 7946 0000' } })).body;
    await must(403, { method: 'POST', path: '/store/purchases', token: service, headers: key(), body: { listingId: skinListing.id } });

    const orders = (await must(200, { method: 'GET', path: '/user/purchases', token: buyer.token, query: 'limit=2' })).body;
    await must(200, { method: 'GET', path: '/user/purchases', token: buyer.token, query: `limit=2&cursor=${encodeURIComponent(orders.nextCursor)}` });
    await must(200, { method: 'GET', path: '/user/purchases', token: buyer.token, query: 'fields=status,lines' });
    await must(400, { method: 'GET', path: '/user/purchases', token: buyer.token, query: 'fields=secret', semantic: true });
    for (const order of (await must(200, { method: 'GET', path: '/user/purchases', token: buyer.token, query: 'limit=100' })).body.items) {
      await must(200, { method: 'GET', path: '/user/purchases/{id}', params: { id: order.id }, token: buyer.token });
    }
    await must(404, { method: 'GET', path: '/user/purchases/{id}', params: { id: skinOrder.id }, token: other.token });

    // ── webhooks: shopify ──
    const shopify = (status: number, raw: string, topic: string, { signature = signShopify(raw), webhookId = randomUUID() } = {}) =>
      must(status, { method: 'POST', path: '/webhooks/shopify', body: raw, headers: { 'x-shopify-topic': topic, 'x-shopify-hmac-sha256': signature, 'x-shopify-webhook-id': webhookId, 'x-shopify-event-id': randomUUID() } });
    const fulfilled = JSON.stringify({ id: 1, name: '#1001', tags: `bb-order-${merchOrder.id}` });
    const webhookId = randomUUID();
    await shopify(200, fulfilled, 'orders/fulfilled', { webhookId });
    await shopify(200, fulfilled, 'orders/fulfilled', { webhookId }); // a redelivery: duplicate
    await shopify(401, fulfilled, 'orders/fulfilled', { signature: 'bm90IGl0' });
    await shopify(400, fulfilled, 'Not A Topic');
    const unsigned = { method: 'POST', path: '/webhooks/shopify', body: fulfilled } as const;
    await must(400, { ...unsigned, headers: { 'x-shopify-hmac-sha256': signShopify(fulfilled), 'x-shopify-webhook-id': randomUUID() } }); // no topic
    await must(400, { ...unsigned, headers: { 'x-shopify-hmac-sha256': signShopify(fulfilled), 'x-shopify-topic': 'orders/fulfilled' } }); // no webhook id
    await must(401, { ...unsigned, headers: {} }); // nothing: the signature is checked first
    await shopify(400, '[1]', 'orders/fulfilled');

    // ── player: inventory ──
    const inventory = await must(200, { method: 'GET', path: '/user/inventory', token: buyer.token });
    await must(304, { method: 'GET', path: '/user/inventory', token: buyer.token, headers: { 'if-none-match': inventory.headers.get('etag') ?? '"none"' } });
    const invPage = (await must(200, { method: 'GET', path: '/user/inventory', token: buyer.token, query: 'limit=1' })).body;
    await must(200, { method: 'GET', path: '/user/inventory', token: buyer.token, query: `limit=1&cursor=${encodeURIComponent(invPage.nextCursor)}` });
    await must(200, { method: 'GET', path: '/user/inventory', token: buyer.token, query: `gameId=${game.id}&kind=game_item&consumable=true&equipped=false&fields=quantity` });
    const shaped = await must(200, { method: 'GET', path: '/user/inventory', token: buyer.token, query: 'fields=name,quantity' });
    await must(304, { method: 'GET', path: '/user/inventory', token: buyer.token, query: 'fields=name,quantity', headers: { 'if-none-match': shaped.headers.get('etag') ?? '"none"' } });
    await must(400, { method: 'GET', path: '/user/inventory', token: buyer.token, query: 'kind=nope' });
    const entries: Json[] = inventory.body.items;
    const entry = (itemId: string) => entries.find((e) => e.itemId === itemId)!;
    const potionEntry = entry(potion.id);
    const skinEntry = entry(skin.id);
    const useKey = key();
    await must(200, { method: 'POST', path: '/user/inventory/{id}/use', params: { id: potionEntry.id }, token: buyer.token, headers: useKey, body: { quantity: 1 } });
    await must(200, { method: 'POST', path: '/user/inventory/{id}/use', params: { id: potionEntry.id }, token: buyer.token, headers: useKey, body: { quantity: 1 }, replay: true });
    await must(422, { method: 'POST', path: '/user/inventory/{id}/use', params: { id: potionEntry.id }, token: buyer.token, headers: useKey, body: { quantity: 2 } });
    await must(409, { method: 'POST', path: '/user/inventory/{id}/use', params: { id: potionEntry.id }, token: buyer.token, headers: key(), body: { quantity: 999 } });
    await must(409, { method: 'POST', path: '/user/inventory/{id}/use', params: { id: skinEntry.id }, token: buyer.token, headers: key() });
    await must(404, { method: 'POST', path: '/user/inventory/{id}/use', params: { id: potionEntry.id }, token: other.token, headers: key(), body: {} });
    await must(400, { method: 'POST', path: '/user/inventory/{id}/use', params: { id: potionEntry.id }, token: buyer.token, body: {} });
    const consume = { method: 'POST', path: '/service/users/{userId}/inventory/{id}/consume' } as const;
    await must(200, { ...consume, params: { userId: buyer.id, id: potionEntry.id }, token: service, headers: key(), body: { quantity: 1 } });
    await must(404, { ...consume, params: { userId: other.id, id: potionEntry.id }, token: service, headers: key(), body: { quantity: 1 } });
    await must(409, { ...consume, params: { userId: buyer.id, id: potionEntry.id }, token: service, headers: key(), body: { quantity: 10_000 } });
    await must(403, { ...consume, params: { userId: buyer.id, id: potionEntry.id }, token: buyer.token, headers: key(), body: { quantity: 1 } });

    // ── player: characters ──
    const hero = (await must(201, { method: 'POST', path: '/user/characters', token: buyer.token, body: { name: 'Hero', gameId: game.id } })).body;
    const charKey = key();
    await must(201, { method: 'POST', path: '/user/characters', token: buyer.token, headers: charKey, body: { name: 'Avatar', gameId: null } });
    await must(201, { method: 'POST', path: '/user/characters', token: buyer.token, headers: charKey, body: { name: 'Avatar', gameId: null }, replay: true });
    await must(422, { method: 'POST', path: '/user/characters', token: buyer.token, headers: charKey, body: { name: 'Other' } });
    await must(404, { method: 'POST', path: '/user/characters', token: buyer.token, body: { name: 'Lost', gameId: missing } });
    await must(400, { method: 'POST', path: '/user/characters', token: buyer.token, body: { name: ' ' } });
    const chars = (await must(200, { method: 'GET', path: '/user/characters', token: buyer.token, query: 'limit=1' })).body;
    await must(200, { method: 'GET', path: '/user/characters', token: buyer.token, query: `limit=1&cursor=${encodeURIComponent(chars.nextCursor)}` });
    await must(200, { method: 'GET', path: '/user/characters', token: buyer.token, query: 'fields=name' });
    await must(200, { method: 'GET', path: '/user/characters/{id}', params: { id: hero.id }, token: buyer.token });
    await must(404, { method: 'GET', path: '/user/characters/{id}', params: { id: hero.id }, token: other.token });
    await must(200, { method: 'PATCH', path: '/user/characters/{id}', params: { id: hero.id }, token: buyer.token, body: { name: 'Hero II' } });
    await must(404, { method: 'PATCH', path: '/user/characters/{id}', params: { id: missing }, token: buyer.token, body: { name: 'Nobody' } });
    await must(400, { method: 'PATCH', path: '/user/characters/{id}', params: { id: hero.id }, token: buyer.token, body: {} });
    const equip = { method: 'PUT', path: '/user/characters/{id}/equipment/{slot}' } as const;
    await must(200, { ...equip, params: { id: hero.id, slot: 'weapon_skin' }, token: buyer.token, body: { inventoryItemId: skinEntry.id } });
    await must(409, { ...equip, params: { id: hero.id, slot: 'emote' }, token: buyer.token, body: { inventoryItemId: skinEntry.id } });     // wrong slot: not_compatible
    await must(409, { ...equip, params: { id: hero.id, slot: 'weapon_skin' }, token: buyer.token, body: { inventoryItemId: entry(avatar.id).id } }); // wrong game
    await call({ ...equip, params: { id: hero.id, slot: 'weapon_skin' }, token: other.token, body: { inventoryItemId: skinEntry.id } });
    await must(404, { ...equip, params: { id: missing, slot: 'weapon_skin' }, token: buyer.token, body: { inventoryItemId: skinEntry.id } });
    await must(400, { ...equip, params: { id: hero.id, slot: 'Bad Slot' }, token: buyer.token, body: { inventoryItemId: skinEntry.id } });
    const otherHero = (await must(201, { method: 'POST', path: '/user/characters', token: other.token, body: { name: 'Rival', gameId: game.id } })).body;
    await call({ ...equip, params: { id: otherHero.id, slot: 'weapon_skin' }, token: other.token, body: { inventoryItemId: skinEntry.id } }); // not_owned or 404
    await must(200, { method: 'POST', path: '/service/loadouts', token: service, body: { characterIds: [hero.id, otherHero.id, missing] } });
    await must(400, { method: 'POST', path: '/service/loadouts', token: service, body: { characterIds: [] } });
    await must(403, { method: 'POST', path: '/service/loadouts', token: buyer.token, body: { characterIds: [hero.id] } });
    const unequip = { method: 'DELETE', path: '/user/characters/{id}/equipment/{slot}' } as const;
    await must(200, { ...unequip, params: { id: hero.id, slot: 'weapon_skin' }, token: buyer.token });
    await call({ ...unequip, params: { id: hero.id, slot: 'no_such_slot' }, token: buyer.token });
    await must(404, { ...unequip, params: { id: missing, slot: 'weapon_skin' }, token: buyer.token });
    await must(204, { method: 'DELETE', path: '/user/characters/{id}', params: { id: otherHero.id }, token: other.token });
    await must(404, { method: 'DELETE', path: '/user/characters/{id}', params: { id: otherHero.id }, token: other.token });

    // ── admin: orders, refunds, fulfillments ──
    const adminOrders = (await must(200, { method: 'GET', path: '/admin/orders', token: admin, query: 'limit=2' })).body;
    await must(200, { method: 'GET', path: '/admin/orders', token: admin, query: `limit=2&cursor=${encodeURIComponent(adminOrders.nextCursor)}` });
    await must(200, { method: 'GET', path: '/admin/orders', token: admin, query: 'status=completed&fields=userId,totalPrice' });
    await must(400, { method: 'GET', path: '/admin/orders', token: admin, query: 'status=lost' });
    const refundKey = key();
    await must(200, { method: 'POST', path: '/admin/orders/{id}/refund', params: { id: livesOrder.id }, token: admin, headers: refundKey, body: { reason: 'Customer request' } });
    await must(200, { method: 'POST', path: '/admin/orders/{id}/refund', params: { id: livesOrder.id }, token: admin, headers: refundKey, body: { reason: 'Customer request' }, replay: true });
    await must(422, { method: 'POST', path: '/admin/orders/{id}/refund', params: { id: livesOrder.id }, token: admin, headers: refundKey, body: { reason: 'Another' } });
    await must(409, { method: 'POST', path: '/admin/orders/{id}/refund', params: { id: livesOrder.id }, token: admin, headers: key(), body: {} });
    await must(404, { method: 'POST', path: '/admin/orders/{id}/refund', params: { id: missing }, token: admin, headers: key() });
    await must(200, { method: 'POST', path: '/admin/orders/{id}/refund', params: { id: merchOrder.id }, token: admin, headers: key() });
    await must(200, { method: 'GET', path: '/admin/orders', token: admin, query: 'status=refunded' });
    await must(200, { method: 'GET', path: '/user/purchases/{id}', params: { id: merchOrder.id }, token: buyer.token });
    const fulfillments = (await must(200, { method: 'GET', path: '/admin/fulfillments', token: admin, query: 'limit=2' })).body;
    await must(200, { method: 'GET', path: '/admin/fulfillments', token: admin, query: `limit=2&cursor=${encodeURIComponent(fulfillments.nextCursor)}` });
    await must(200, { method: 'GET', path: '/admin/fulfillments', token: admin, query: 'status=pending&fields=status,error' });
    await must(400, { method: 'GET', path: '/admin/fulfillments', token: admin, query: 'status=lost' });
    for (const f of (await must(200, { method: 'GET', path: '/admin/fulfillments', token: admin, query: 'limit=100' })).body.items) {
      await must(200, { method: 'GET', path: '/admin/fulfillments/{id}', params: { id: f.id }, token: admin });
    }
    await must(404, { method: 'GET', path: '/admin/fulfillments/{id}', params: { id: missing }, token: admin });
    const pending = fulfillments.items[0];
    await must(409, { method: 'POST', path: '/admin/fulfillments/{id}/retry', params: { id: pending.id }, token: admin });
    await must(404, { method: 'POST', path: '/admin/fulfillments/{id}/retry', params: { id: missing }, token: admin });
    const { rows } = await t.runtime.deps.db.query<{ id: string }>(
      `UPDATE fulfillments SET status = 'failed', last_error = 'simulated dead letter' WHERE id = (SELECT id FROM fulfillments WHERE status = 'pending' LIMIT 1) RETURNING id`,
    );
    if (rows[0]) await must(200, { method: 'POST', path: '/admin/fulfillments/{id}/retry', params: { id: rows[0].id }, token: admin });

    // ── every name a list's fields= documents is one it takes ──
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      const fields = (item.get?.parameters ?? []).find((p: Json) => p.in === 'query' && p.name === 'fields');
      if (!fields) continue;
      const names = [...String(fields.description).matchAll(/`(\w+)`/g)].map((match) => match[1]).filter((name) => name !== 'id');
      const token = path.startsWith('/admin') ? admin : path.startsWith('/user') ? buyer.token : undefined;
      await must(200, { method: 'GET', path, token, query: `fields=${names.join(',')}` });
    }

    // ── rate limits: the webhook budget is small here; spend it ──
    let limited: TestResponse | undefined;
    for (let i = 0; i < WEBHOOK_BUDGET + 2 && !limited; i++) {
      const response = await call({ method: 'POST', path: '/webhooks/payments', body: topUp, headers: { 'x-signature': 'deadbeef' } });
      if (response.status === 429) limited = response;
    }
    expect(limited?.status, 'the webhook budget runs out').toBe(429);

    // Every operation of the document was reached, and answered a success at least once.
    const unreached = Object.entries<Json>(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).filter((method) => ['get', 'put', 'post', 'patch', 'delete'].includes(method)).map((method) => `${method.toUpperCase()} ${path}`))
      .filter((operation) => ![...(answered.get(operation) ?? [])].some((status) => status < 400));
    expect(unreached, 'operations the journey never saw succeed').toEqual([]);
    if (process.env.OPENAPI_CONFORMANCE_REPORT) {
      const unseen = Object.entries<Json>(doc.paths).flatMap(([path, item]) => Object.entries<Json>(item).flatMap(([method, operation]) =>
        Object.keys(operation.responses ?? {}).filter((status) => !answered.get(`${method.toUpperCase()} ${path}`)?.has(Number(status))).map((status) => `${method.toUpperCase()} ${path} ${status}`)));
      console.log(`documented statuses the journey did not see:\n${unseen.join('\n')}`);
      console.log(`codes:\n${[...answeredCodes].map(([k, v]) => `${k} ${[...v].join(',')}`).join('\n')}`);
    }
    expect(mismatches).toEqual([]);
  }, 60_000);

  it('when every operation is sent no token, a wrong one, the wrong role, unknown ids, an unknown query parameter, a body too large or not JSON, then every refusal is one the document describes', async () => {
    mismatches.length = 0;
    const player = await t.player();
    type Role = 'admin' | 'service' | 'player' | 'public';
    const roleOf = (path: string): Role =>
      path.startsWith('/admin') ? 'admin' : path.startsWith('/service') ? 'service' : path.startsWith('/user') || path === '/store/purchases' ? 'player' : 'public';
    const tokenOf: Record<Role, string | undefined> = { admin: t.adminToken, service: t.serviceToken, player: player.token, public: undefined };
    const wrongRoleOf: Record<Role, string | undefined> = { admin: player.token, service: player.token, player: t.adminToken, public: undefined };
    const big = JSON.stringify({ padding: 'x'.repeat(70_000) });
    let sent = 0;
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      // The webhooks have their own small budget here (spent by the journey); their refusals are driven there.
      if (path.startsWith('/webhooks/')) continue;
      for (const [method, operation] of Object.entries<Json>(item)) {
        if (!['get', 'put', 'post', 'patch', 'delete'].includes(method)) continue;
        const role = roleOf(path);
        const names = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
        const params = Object.fromEntries(names.map((name) => [name, name === 'slot' ? 'weapon_skin' : randomUUID()]));
        const keyed = (operation.parameters ?? []).some((parameter: Json) => parameter.in === 'header' && parameter.name === 'idempotency-key');
        const withBody = method !== 'get';
        const base: Call = { method: method.toUpperCase(), path, params };
        const as = (token: string | undefined, extra: Partial<Call> = {}): Call =>
          ({ ...base, token, headers: keyed ? key() : undefined, body: withBody ? {} : undefined, ...extra });
        const calls: Call[] = [as(tokenOf[role]), as(tokenOf[role], { query: 'zzz=1' })];
        calls.push(as('garbage'));
        if (role !== 'public') calls.push(as(wrongRoleOf[role]));
        // The document's security (the operation's own, else the document's) says whether a caller without a token gets in.
        // (`[]`: none needed; `[{}]` among others: optional.)
        const security: Json[] = operation.security ?? doc.security ?? [];
        const open = security.length === 0 || security.some((requirement) => Object.keys(requirement).length === 0);
        const anonymous = await call(as(undefined));
        sent++;
        if (open === (anonymous.status === 401)) mismatches.push(`${method.toUpperCase()} ${path}: documented ${open ? 'open' : 'bearer-only'}, but without a token it answers ${anonymous.status}`);
        if (names.some((name) => name !== 'slot')) calls.push(as(tokenOf[role], { params: Object.fromEntries(names.map((name) => [name, 'not-a-uuid'])) }));
        if (withBody) {
          calls.push(as(tokenOf[role], { body: big }));
          calls.push(as(tokenOf[role], { body: 'plain words', headers: { ...(keyed ? key() : {}), 'content-type': 'text/plain' } }));
        }
        for (const c of calls) {
          await call(c);
          sent++;
        }
      }
    }
    expect(sent).toBeGreaterThan(200);
    expect(mismatches).toEqual([]);
  }, 60_000);

  it('when a documented path is sent a method the document does not list, then 405 with Allow naming exactly the documented methods (HEAD with GET)', async () => {
    const wrong: string[] = [];
    for (const [path, item] of Object.entries<Json>(doc.paths)) {
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => (name === 'slot' ? 'weapon_skin' : randomUUID()));
      const documented = ['GET', 'PUT', 'POST', 'PATCH', 'DELETE'].filter((method) => item[method.toLowerCase()]);
      const allowed = [...documented, ...(documented.includes('GET') ? ['HEAD'] : [])].sort();
      for (const method of ['GET', 'PUT', 'POST', 'PATCH', 'DELETE'].filter((m) => !documented.includes(m))) {
        const response = await t.request(method, url, { token: t.adminToken });
        const allow = (response.headers.get('allow') ?? '').split(',').map((m) => m.trim()).filter(Boolean).sort();
        if (response.status !== 405 || allow.join() !== allowed.join()) wrong.push(`${method} ${path}: ${response.status}, Allow: ${allow.join(', ')} (documented: ${allowed.join(', ')})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('when the service is shutting down, then what it answers meanwhile is the documented 503 with Retry-After (run last: it stops this app)', async () => {
    mismatches.length = 0;
    const player = await t.player();
    await must(200, { method: 'GET', path: '/user/wallet', token: player.token }); // a kept-alive connection to answer on
    const closing = t.runtime.close();
    // The first answers may still be the usual ones; from the first 503 on, the service is refusing new work.
    for (let i = 0; i < 100 && (await call({ method: 'GET', path: '/healthz' })).status !== 503; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const answers = await Promise.all([
      call({ method: 'GET', path: '/games' }),
      call({ method: 'GET', path: '/user/wallet', token: player.token }),
      call({ method: 'POST', path: '/store/purchases', token: player.token, headers: key(), body: { listingId: randomUUID() } }),
      call({ method: 'GET', path: '/healthz' }),
    ]);
    await closing;
    expect(answers.map((answer) => answer.status)).toEqual([503, 503, 503, 503]);
    expect(mismatches).toEqual([]);
  });
});

describe('the OpenAPI document describes the answers of the delivery lifecycle (workers and the Shopify simulator running)', () => {
  const SHOPIFY_TOKEN = 'shpat_conformance';
  const SHOPIFY_SECRET = 'shopify-conformance-secret';
  let sim: ShopifySimulator;
  beforeAll(async () => {
    sim = await startShopifySimulator({ webhookSecret: SHOPIFY_SECRET, accessToken: SHOPIFY_TOKEN, webhookRetries: { attempts: 0, baseMs: 1 } });
    await startApp({ workers: true, env: { SHOPIFY_ADMIN_URL: sim.url, SHOPIFY_ACCESS_TOKEN: SHOPIFY_TOKEN, SHOPIFY_WEBHOOK_SECRET: SHOPIFY_SECRET, JOB_RETRY_BASE_MS: '100', JOB_MAX_ATTEMPTS: '1' } });
    sim.setWebhookUrl(`${t.baseUrl}/webhooks/shopify`);
  });
  afterAll(async () => {
    await t?.close();
    await sim?.close();
  });

  const statusOf = async (fulfillmentId: string) =>
    (await t.runtime.deps.db.query<{ status: string }>('SELECT status FROM fulfillments WHERE id = $1', [fulfillmentId])).rows[0]!.status;
  async function until(fulfillmentId: string, status: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while ((await statusOf(fulfillmentId)) !== status) {
      if (Date.now() > deadline) throw new Error(`fulfillment ${fulfillmentId} never became ${status} (is ${await statusOf(fulfillmentId)})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('when orders are shipped, delivered, dead-lettered, retried and refunded, then every read of them is one the document describes', async () => {
    mismatches.length = 0;
    const admin = t.adminToken;
    const buyer = await t.player({ email: 'lifecycle@players.test' });
    const merch = (await must(201, { method: 'POST', path: '/admin/items', token: admin, body: { sku: 'hoodie', name: 'Hoodie', kind: 'merch', shopifyVariantId: 'gid://shopify/ProductVariant/7' } })).body;
    const voucher = (await must(201, { method: 'POST', path: '/admin/items', token: admin, body: { sku: 'card', name: 'Gift Card', kind: 'voucher' } })).body;
    await must(200, { method: 'POST', path: '/admin/items/{id}/vouchers', params: { id: voucher.id }, token: admin, body: { codes: ['GIFT-1', 'GIFT-2', 'GIFT-3'] } });
    const merchListing = (await must(201, { method: 'POST', path: '/admin/listings', token: admin, body: { title: 'Hoodie', price: 10, items: [{ itemId: merch.id }] } })).body;
    const bundle = (await must(201, { method: 'POST', path: '/admin/listings', token: admin, body: { title: 'Hoodie and cards', price: 10, items: [{ itemId: merch.id }, { itemId: voucher.id, quantity: 2 }] } })).body;
    await must(201, { method: 'POST', path: '/service/grants', token: t.serviceToken, headers: key(), body: { userId: buyer.id, gems: 100, reason: 'lifecycle' } });
    const buy = async (listingId: string) =>
      (await must(201, { method: 'POST', path: '/store/purchases', token: buyer.token, headers: key(), body: { listingId, shippingAddress: ADDRESS } })).body;
    const read = async (orderId: string, fulfillmentIds: string[]) => {
      await must(200, { method: 'GET', path: '/user/purchases/{id}', params: { id: orderId }, token: buyer.token });
      await must(200, { method: 'GET', path: '/user/purchases', token: buyer.token });
      await must(200, { method: 'GET', path: '/admin/orders', token: admin });
      await must(200, { method: 'GET', path: '/admin/fulfillments', token: admin });
      for (const id of fulfillmentIds) await must(200, { method: 'GET', path: '/admin/fulfillments/{id}', params: { id }, token: admin });
    };

    // shipped, then delivered, with tracking; the bundle's vouchers mailed (codes in the order detail)
    const shipped = await buy(bundle.id);
    const shippedIds = shipped.lines.map((line: Json) => line.fulfillment.id as string);
    const merchLine = shipped.lines.find((line: Json) => line.deliveryType === 'shopify').fulfillment.id as string;
    await until(merchLine, 'processing');
    await read(shipped.id, shippedIds);
    await sim.advance(`bb-order-${shipped.id}`, 'in_transit');
    await until(merchLine, 'shipped');
    await read(shipped.id, shippedIds);
    await sim.advance(`bb-order-${shipped.id}`, 'delivered');
    await until(merchLine, 'delivered');
    await read(shipped.id, shippedIds);

    // Shopify refuses the order: dead-lettered with its error, retried by an operator, then refunded
    sim.injectFaults({ userErrors: { count: 1, message: 'Address is not deliverable' } });
    const refused = await buy(merchListing.id);
    const refusedLine = refused.lines[0].fulfillment.id as string;
    await until(refusedLine, 'failed');
    await read(refused.id, [refusedLine]);
    await must(200, { method: 'GET', path: '/admin/fulfillments', token: admin, query: 'status=failed' });
    await must(200, { method: 'POST', path: '/admin/fulfillments/{id}/retry', params: { id: refusedLine }, token: admin });
    await until(refusedLine, 'processing');
    await read(refused.id, [refusedLine]);
    await must(200, { method: 'POST', path: '/admin/orders/{id}/refund', params: { id: refused.id }, token: admin, headers: key(), body: { reason: 'Could not ship' } });
    await read(refused.id, [refusedLine]);
    await call({ method: 'POST', path: '/admin/orders/{id}/refund', params: { id: shipped.id }, token: admin, headers: key() });
    await read(shipped.id, shippedIds);

    expect(mismatches).toEqual([]);
  }, 60_000);
});
