// Hostile-input generators for the fuzz and security tests. Routes come from the service's own /openapi.json, so
// a route added tomorrow is fuzzed tomorrow without anyone remembering to list it.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { expect } from 'vitest';
import type { TestApp, TestResponse } from './app.js';

export interface RouteSpec {
  method: string;
  /** OpenAPI form: /user/characters/{id} */
  path: string;
  tags: string[];
  pathParams: string[];
  queryParams: string[];
  headerParams: string[];
  /** JSON body schema (properties and required), when the route takes one. */
  body?: { properties: Record<string, any>; required: string[] };
}

export async function loadRoutes(t: TestApp): Promise<RouteSpec[]> {
  const response = await t.request('GET', '/openapi.json');
  expect(response.status).toBe(200);
  const routes: RouteSpec[] = [];
  for (const [path, operations] of Object.entries<any>(response.body.paths)) {
    for (const [method, operation] of Object.entries<any>(operations)) {
      const parameters: Array<{ in: string; name: string }> = operation.parameters ?? [];
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      routes.push({
        method: method.toUpperCase(),
        path,
        tags: operation.tags ?? [],
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: parameters.filter((p) => p.in === 'query').map((p) => p.name),
        headerParams: parameters.filter((p) => p.in === 'header').map((p) => p.name),
        body: schema ? { properties: schema.properties ?? {}, required: schema.required ?? [] } : undefined,
      });
    }
  }
  return routes;
}

/** /user/characters/{id} → /user/characters/<value> (values URL-encoded). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? randomUUID()));
}

export const SQL_FRAGMENTS = [
  "' OR '1'='1",
  "'; DROP TABLE ledger_entries; --",
  '1; SELECT pg_sleep(10)',
  "00000000-0000-0000-0000-000000000000' OR 1=1 --",
  '$1',
  '\\x00',
  "') UNION SELECT balance FROM ledger_accounts --",
  '%',
  '_',
  '\\',
];

export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];

const HUGE_NUMBERS = [2 ** 53, 2 ** 53 + 2, -(2 ** 63), 2 ** 64, 1e308, -1e308, Number.MAX_VALUE, Number.MIN_VALUE, 9.999999999999999e22, 0.1, -0, -1, 2147483648, -2147483649];

/** A deeply nested object or array, deeper than any schema allows. */
function nested(depth: number, array: boolean): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = array ? [value] : { a: value };
  return value;
}

/** `{"__proto__": {...}}` as an own property, the way JSON.parse produces it from hostile text. */
export function prototypePollution(key: string): Record<string, unknown> {
  return JSON.parse(`{"${key}": {"isAdmin": true, "role": "admin", "balance": 1000000000, "polluted": "yes"}}`);
}

/** Any JSON value a hostile client might put where the schema wants something else. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.constantFrom(...HUGE_NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(...SQL_FRAGMENTS),
  fc.constantFrom('', ' ', '\u0000', '\uFEFF', '\u202E', '𝕏'.repeat(70), 'x'.repeat(300), 'x'.repeat(20_000), '😀'.repeat(1000)),
  fc.constantFrom(randomUUID(), '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'),
  fc.constantFrom('2026-13-45T99:99:99Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z'),
  fc.constantFrom(...[20, 200, 2000].flatMap((depth) => [nested(depth, false), nested(depth, true)])),
  fc.constantFrom(...PROTOTYPE_KEYS.map(prototypePollution)),
  fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string()), { maxKeys: 4 }),
);

/**
 * A body for a route: usually its own shape with some properties replaced by hostile values and hostile extra keys
 * (so validation of each property is reached), sometimes no object at all.
 */
export function hostileBody(spec: RouteSpec['body'], plausible: (name: string) => unknown): fc.Arbitrary<unknown> {
  const names = Object.keys(spec?.properties ?? {});
  const shaped = fc.record({
    replace: fc.subarray(names),
    extras: fc.subarray([...PROTOTYPE_KEYS, 'userId', 'balance', 'price', 'status', 'role', 'id', 'ownerId', 'unitPrice']),
    values: fc.array(hostileValue, { minLength: names.length + 9, maxLength: names.length + 9 }),
  }).map(({ replace, extras, values }) => {
    const body: Record<string, unknown> = {};
    names.forEach((name, i) => {
      body[name] = replace.includes(name) ? values[i] : plausible(name);
    });
    extras.forEach((key, i) => {
      if (PROTOTYPE_KEYS.includes(key)) Object.assign(body, prototypePollution(key));
      else body[key] = values[names.length + i];
    });
    return body;
  });
  return fc.oneof({ weight: 6, arbitrary: shaped }, { weight: 1, arbitrary: hostileValue });
}

/** A path parameter: a real id, a stranger's, or something that is not an id at all. */
export function hostilePathValue(real: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: real.length ? fc.constantFrom(...real) : fc.constant(randomUUID()) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.constantFrom(...SQL_FRAGMENTS, '..', '../admin', '%00', 'null', 'undefined', '0', '-1', '1e309', 'x'.repeat(2000), '😀', ' ') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  );
}

export function hostileQueryValue(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('0', '-1', '101', '100000000000000000000', '1e3', '1.5', 'NaN', 'true', 'null', '', '[]', '{}', 'price_asc', 'featured', 'gem_pack', 'email'),
    fc.constantFrom(...SQL_FRAGMENTS),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('x'.repeat(5000), 'a,b,c,id,__proto__', 'eyJ4Ijoi', 'Zm9v'),
    fc.uuid(),
  );
}

/** Every answer to a hostile request: never a 5xx; every error a problem+json with a `code` and its status. */
export function expectWellFormedAnswer(response: TestResponse, request: string): void {
  if (response.status >= 500) {
    throw new Error(`${request} → ${response.status} ${response.text.slice(0, 500)}`);
  }
  if (response.status >= 400) {
    const type = response.headers.get('content-type') ?? '';
    if (!type.startsWith('application/problem+json') || typeof response.body?.code !== 'string' || response.body.status !== response.status) {
      throw new Error(`${request} → ${response.status} is not a problem+json with a code: ${type} ${response.text.slice(0, 300)}`);
    }
  }
}

/** Runs `tasks` with at most `concurrency` in flight; the first failure is rethrown after all settle. */
export async function runConcurrently<T>(items: readonly T[], concurrency: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const lanes = Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const index = next++;
      try {
        await task(items[index]!, index);
      } catch (error) {
        failures.push(error);
      }
    }
  });
  await Promise.all(lanes);
  if (failures.length > 0) {
    throw new AggregateError(failures, `${failures.length} of ${items.length} requests failed; first: ${(failures[0] as Error).message}`);
  }
}
