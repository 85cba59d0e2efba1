// The OpenAPI document's last pass (swagger `transformObject`, run once when the document is first built): what
// every route answers but no route schema can say, because the platform sends it, not the route.
//  - Errors leave as `application/problem+json` (problem.ts), which @fastify/swagger does not say: it labels every
//    response schema `application/json`. Each error response that is a Problem lists `application/problem+json`
//    first; the `application/json` entry stays beside it for readers of the document written against it (a problem
//    document is JSON; test/embedded/demo-storefront.test.ts reads it there).
//  - Any operation with a body, or a method that may carry one, may be refused before its schema runs: 413 payload_too_large (BODY_LIMIT_BYTES)
//    and 415 unsupported_media_type (a body that is not JSON); a request during a shutdown, an unreachable
//    database or a transaction that kept colliding is 503 service_unavailable with Retry-After.
//  - A 401 carries its WWW-Authenticate challenge (problem.ts).
//  - Every Problem response names the `code`s its status carries (API.md § Errors; errors.ts STATUS_BY_CODE), in
//    its description and, on its problem+json entry, as an enum beside the Problem $ref, with `status` the HTTP
//    status. Only 409 has more than one: any of the domain conflicts (the document does not narrow them per operation).
//  - /metrics answers Prometheus text and /openapi.json this document, which their route schemas leave undescribed.
//  - An operation taking an Idempotency-Key may answer a replay, marked `Idempotent-Replayed: true`, with a status
//    its key stored: a success, or a domain refusal (404, 409) (platform/http/idempotent-reply.ts).
//  - A conditional read (one that documents 304) sends ETag and Cache-Control with its 200 and takes If-None-Match;
//    its 304 carries them too (RFC 9110 §15.4.5: the validator the client is to keep), so the 304 lists them.
//  - The payments webhook answers a redelivered event (an eventId already credited) with the first credit and
//    `Idempotent-Replayed: true`, though it takes no Idempotency-Key: its 200 lists the header.
//  - A header the platform always sends with a status is marked `required: true` (OpenAPI's default is false, "may be
//    sent"): WWW-Authenticate on 401, Retry-After and the RateLimit-* fields on 429, Retry-After on a problem 503,
//    ETag and Cache-Control on a conditional read's 200 and 304. Idempotent-Replayed stays optional: only replays carry it.
//  - Every answer of a limited operation (one that documents 429) carries the RateLimit-* fields
//    (docs/rate-limiting.md § Headers), refusals included: each response lists them as references to
//    components.headers, which keeps the document small; the 429 lists them itself (rate-limit.ts). A 503 may be
//    answered before the limiter has run (a request during a shutdown), so it does not.
//  - A list's `fields` parameter names the fields it may pick: the properties of the page's item schema.
//  - A read answers no conflict: a GET never answers 409, and a GET without path parameters (a list: a filter that
//    names nothing is an empty page) never answers 404. The admin routes share one error list across reads and
//    writes (400, 401, 403, 404, 409); the document keeps what each read can answer.
//  - A body property with a default may be left out (the validator fills it in, `useDefaults`), so it is not listed
//    as required, at any depth (a listing line's `quantity` too); typebox lists every property that is not
//    `Optional`, defaulted ones included. An operation whose schema says `'x-body-optional': true` (its route turns a
//    missing body into `{}`) does not require a body.
//    A query parameter with a default (every list's `limit`) is likewise not required.

import { STATUS_BY_CODE, TITLE_BY_STATUS } from '../errors.js';

type Json = Record<string, any>;

const PROBLEM_REF = '#/components/schemas/Problem';
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const BODY_METHODS = new Set(['put', 'post', 'delete', 'patch']);
/** The Shopify webhook reads any media type as raw bytes (its signature covers them): it never answers 415. */
const ANY_MEDIA_TYPE = new Set(['/webhooks/shopify']);

const problemResponse = (description: string, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/problem+json': { schema: { $ref: PROBLEM_REF } }, 'application/json': { schema: { $ref: PROBLEM_REF } } },
});

const PLATFORM_RESPONSES = {
  413: () => problemResponse('Payload Too Large: the body exceeds BODY_LIMIT_BYTES (`payload_too_large`)'),
  415: () => problemResponse('Unsupported Media Type: the body is not `application/json` (`unsupported_media_type`)'),
  503: () => problemResponse('Service Unavailable: shutting down, or the database is briefly unreachable (`service_unavailable`); retry', {
    'retry-after': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying' },
  }),
};

const IDEMPOTENT_REPLAYED = { schema: { type: 'string', enum: ['true'] }, description: 'Present on a replay: the first response to this Idempotency-Key, sent again' };
/** What a key stores and replays: the work's success and its domain refusals (validation, auth and limits come first). */
const REPLAYABLE = (status: string) => (Number(status) >= 200 && Number(status) < 300) || status === '404' || status === '409';
const CONDITIONAL_HEADERS = {
  etag: { schema: { type: 'string' }, description: 'A weak validator of this representation; send it back in If-None-Match' },
  'cache-control': { schema: { type: 'string' }, description: 'How long shared and private caches may keep this answer' },
};
/** Operations that mark a replay without taking an Idempotency-Key (the event id is the key), and the statuses they replay. */
const REPLAYED_WITHOUT_KEY: Record<string, Record<string, string[]>> = { '/webhooks/payments': { post: ['200'] } };
const EVENT_REPLAYED = { schema: { type: 'string', enum: ['true'] }, description: 'Present on a redelivery: this event was credited before, and this is that credit' };
const IF_NONE_MATCH = { name: 'if-none-match', in: 'header', required: false, schema: { type: 'string' }, description: 'An ETag of an earlier answer: 304 Not Modified when it still matches' };

const WWW_AUTHENTICATE = { schema: { type: 'string' }, description: 'The challenge: `Bearer realm="battlebucks"`, with `error="invalid_token"` when a token was sent and refused' };

const BODY_OPTIONAL = 'x-body-optional';

/** Headers sent with every answer of a status (problem.ts, rate-limit.ts, rendered-body.ts), when the document lists them. */
const ALWAYS_SENT: Record<string, string[]> = {
  200: ['etag', 'cache-control'],
  304: ['etag', 'cache-control'],
  401: ['www-authenticate'],
  429: ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'ratelimit-policy'],
  503: ['retry-after'],
};

function markAlwaysSent(status: string, response: Json): void {
  const names = ALWAYS_SENT[status];
  if (!names || !response?.headers) return;
  // New objects: header descriptions are shared between operations (and with the route schemas).
  response.headers = Object.fromEntries(Object.entries<Json>(response.headers).map(([name, header]) => [name, names.includes(name) ? { ...header, required: true } : header]));
}

const RATE_LIMIT_HEADERS: Record<string, Json> = {
  'RateLimit-Limit': { required: true, schema: { type: 'integer' }, description: 'Requests per window of the budget this request spent (also sent as X-RateLimit-Limit, and in the single RateLimit field)' },
  'RateLimit-Remaining': { required: true, schema: { type: 'integer' }, description: 'Requests left in this window (also X-RateLimit-Remaining)' },
  'RateLimit-Reset': { required: true, schema: { type: 'integer' }, description: 'Seconds until the window resets (also X-RateLimit-Reset, in seconds too)' },
  'RateLimit-Policy': { required: true, schema: { type: 'string' }, description: 'The budget: `<limit>;w=<window seconds>;comment="<budget name>"`' },
};
const RATE_LIMIT_REFS = Object.fromEntries(Object.keys(RATE_LIMIT_HEADERS).map((name) => [name.toLowerCase(), { $ref: `#/components/headers/${name}` }]));

/** What a client must send: defaulted properties are not required, and a body its route fills in is optional. */
function documentRequestBody(operation: Json): void {
  const bodyOptional = operation[BODY_OPTIONAL] === true;
  delete operation[BODY_OPTIONAL];
  const requestBody: Json | undefined = operation.requestBody;
  if (!requestBody) return;
  for (const media of Object.values<Json>(requestBody.content ?? {})) {
    if (media?.schema) media.schema = withoutDefaultedRequired(media.schema);
  }
  if (bodyOptional) requestBody.required = false;
}

const SUBSCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];

/**
 * The schema with every property that has a default left out of its object's `required`, at any depth (a listing's
 * `items[].quantity` defaults to 1 as much as a purchase's `quantity` does). New objects throughout: the document must
 * not share (and change) what the route's validator was compiled from.
 */
function withoutDefaultedRequired(schema: Json): Json {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const copy: Json = { ...schema };
  if (typeof schema.properties === 'object' && schema.properties !== null) {
    copy.properties = Object.fromEntries(Object.entries<Json>(schema.properties).map(([name, property]) => [name, withoutDefaultedRequired(property)]));
    if (Array.isArray(schema.required)) {
      const required = (schema.required as string[]).filter((name) => schema.properties[name]?.default === undefined);
      if (required.length > 0) copy.required = required;
      else delete copy.required;
    }
  }
  if (typeof schema.items === 'object') copy.items = withoutDefaultedRequired(schema.items);
  if (typeof schema.additionalProperties === 'object') copy.additionalProperties = withoutDefaultedRequired(schema.additionalProperties);
  for (const key of SUBSCHEMA_LISTS) {
    if (Array.isArray(schema[key])) copy[key] = schema[key].map(withoutDefaultedRequired);
  }
  return copy;
}

/** The codes a problem of each status carries (internal_error is no answer the service means to give). */
const CODES_BY_STATUS: Record<string, string[]> = {};
for (const [code, status] of Object.entries(STATUS_BY_CODE)) {
  if (code !== 'internal_error') (CODES_BY_STATUS[status] ??= []).push(code);
}

/** A Problem response's schema and description, narrowed to its status and the codes that status carries. */
function describeProblem(status: string, response: Json): void {
  const codes = CODES_BY_STATUS[status];
  if (!codes) return;
  // On the problem+json entry, the type problems are sent with; the application/json one stays the plain Problem.
  const media: Json | undefined = response.content?.['application/problem+json'];
  if (media && isProblem(media.schema)) {
    response.content['application/problem+json'] = { ...media, schema: { $ref: PROBLEM_REF, properties: { status: { const: Number(status) }, code: { enum: codes } } } };
  }
  const named = codes.map((code) => `\`${code}\``).join(', ');
  if (!response.description || response.description === 'Default Response') response.description = `${TITLE_BY_STATUS[Number(status)] ?? status}: ${named}`;
  else if (!codes.every((code) => String(response.description).includes(code))) response.description = `${response.description} (code: ${named})`;
}

/** `fields=`: which names it takes, read off the item schema of the page the operation answers (API.md § Pagination). */
function documentFields(operation: Json, components: Json | undefined): void {
  const at = (operation.parameters ?? []).findIndex((parameter: Json) => parameter.in === 'query' && parameter.name === 'fields');
  if (at < 0) return;
  let item: Json | undefined = operation.responses?.['200']?.content?.['application/json']?.schema?.properties?.items?.items;
  if (typeof item?.$ref === 'string') item = components?.schemas?.[item.$ref.replace('#/components/schemas/', '')];
  const names = Object.keys(item?.properties ?? {});
  if (names.length === 0) return;
  const parameter = operation.parameters[at];
  operation.parameters = operation.parameters.map((p: Json, i: number) => i !== at ? p : {
    ...parameter,
    description: `Comma-separated top-level fields to return of each item (\`id\` always comes): ${names.map((name) => `\`${name}\``).join(', ')}; any other name is 400 validation_failed`,
  });
}

function isProblem(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && (schema as Json).$ref === PROBLEM_REF;
}

export function documentPlatformResponses({ openapiObject }: { openapiObject: Json }): Json {
  // @fastify/swagger-ui registers its routes hidden; API.md lists GET /docs among the operations, so it is described.
  openapiObject.paths ??= {};
  const tooMany: Json | undefined = openapiObject.paths['/openapi.json']?.get?.responses?.['429'];
  openapiObject.paths['/docs'] ??= {
    get: {
      tags: ['operations'],
      summary: 'Browsable API documentation (Swagger UI over this document)',
      security: [],
      responses: {
        200: { description: 'The documentation page', content: { 'text/html': { schema: { type: 'string' } } } },
        // Limited like every route but the probes: its 429 is the one the rate-limit transform gave the document's route.
        ...(tooMany ? { 429: tooMany } : {}),
      },
    },
  };
  for (const [path, item] of Object.entries<Json>(openapiObject.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const operation: Json | undefined = item[method];
      if (!operation) continue;
      documentRequestBody(operation);
      const responses: Json = (operation.responses ??= {});
      for (const [status, response] of Object.entries<Json>(responses)) {
        const json = response?.content?.['application/json'];
        if (Number(status) >= 400 && json && isProblem(json.schema)) {
          response.content = { 'application/problem+json': json, ...response.content };
        }
        if (status === '401') response.headers = { ...response.headers, 'www-authenticate': WWW_AUTHENTICATE };
      }
      // New objects, as for the body: the document must not change what the validator was compiled from.
      if (Array.isArray(operation.parameters)) {
        operation.parameters = operation.parameters.map((parameter: Json) =>
          parameter.in === 'query' && parameter.required === true && parameter.schema?.default !== undefined ? { ...parameter, required: false } : parameter);
      }
      documentFields(operation, openapiObject.components);
      const parameters: Json[] = operation.parameters ?? [];
      if (method === 'get') {
        delete responses['409'];
        if (!parameters.some((parameter) => parameter.in === 'path')) delete responses['404'];
      }
      if (parameters.some((parameter) => parameter.in === 'header' && String(parameter.name).toLowerCase() === 'idempotency-key')) {
        for (const [status, response] of Object.entries<Json>(responses)) {
          if (REPLAYABLE(status)) response.headers = { ...response.headers, 'idempotent-replayed': IDEMPOTENT_REPLAYED };
        }
      }
      for (const status of REPLAYED_WITHOUT_KEY[path]?.[method] ?? []) {
        if (responses[status]) responses[status].headers = { ...responses[status].headers, 'idempotent-replayed': EVENT_REPLAYED };
      }
      if (responses['304'] && responses['200']) {
        responses['200'].headers = { ...CONDITIONAL_HEADERS, ...responses['200'].headers };
        responses['304'].headers = { ...CONDITIONAL_HEADERS, ...responses['304'].headers };
        if (!parameters.some((parameter) => parameter.in === 'header' && String(parameter.name).toLowerCase() === 'if-none-match')) {
          operation.parameters = [...parameters, IF_NONE_MATCH];
        }
      }
      // Fastify reads a body sent with any of these methods, whether the operation takes one or not.
      if (operation.requestBody || BODY_METHODS.has(method)) {
        responses[413] ??= PLATFORM_RESPONSES[413]();
        if (!ANY_MEDIA_TYPE.has(path)) responses[415] ??= PLATFORM_RESPONSES[415]();
      }
      responses[503] ??= PLATFORM_RESPONSES[503]();
      const limited = responses['429'] !== undefined;
      for (const [status, response] of Object.entries<Json>(responses)) {
        if (Number(status) >= 400) describeProblem(status, response);
        if (limited && status !== '429' && status !== '503') response.headers = { ...response.headers, ...RATE_LIMIT_REFS };
        markAlwaysSent(status, response);
      }
    }
  }
  if (Object.values<Json>(openapiObject.paths).some((item) => HTTP_METHODS.some((method) => item[method]?.responses?.['429']))) {
    openapiObject.components ??= {};
    openapiObject.components.headers = { ...openapiObject.components.headers, ...RATE_LIMIT_HEADERS };
  }
  const metrics = openapiObject.paths?.['/metrics']?.get?.responses?.[200];
  if (metrics) metrics.content = { 'text/plain': { schema: { type: 'string', description: 'Prometheus text exposition format 0.0.4' } } };
  const document = openapiObject.paths?.['/openapi.json']?.get?.responses?.[200];
  if (document) document.content = { 'application/json': { schema: { type: 'object', description: 'An OpenAPI 3.1 document' } } };
  return openapiObject;
}
