// Numbers in query strings are written in decimal digits. The validator coerces query text to its schema types with
// JavaScript's own conversion, which also reads a blank (`minPrice=%20` → 0), padding (`1%20` → 1), hex
// (`limit=0x10` → 16), exponents (`1e1` → 10) and `+5`: a typo or a probe would be served as a number the client
// never wrote. This hook runs before validation and refuses such text on the routes whose query has numbers.
import type { FastifyRequest, FastifySchema } from 'fastify';
import { DomainError } from '../errors.js';
import type { App } from './types.js';

const INTEGER = /^-?\d{1,20}$/;
const NUMBER = /^-?\d{1,20}(\.\d{1,20})?$/;

type NumericKeys = ReadonlyMap<string, RegExp>;
const EMPTY: NumericKeys = new Map();
const keysBySchema = new WeakMap<object, NumericKeys>();

function numericKeysOf(schema: FastifySchema | undefined): NumericKeys {
  const query = schema?.querystring as { properties?: Record<string, { type?: unknown }> } | undefined;
  if (!query?.properties) return EMPTY;
  let keys = keysBySchema.get(query);
  if (!keys) {
    const found = new Map<string, RegExp>();
    for (const [name, property] of Object.entries(query.properties)) {
      if (property.type === 'integer') found.set(name, INTEGER);
      else if (property.type === 'number') found.set(name, NUMBER);
    }
    keys = found.size > 0 ? found : EMPTY;
    keysBySchema.set(query, keys);
  }
  return keys;
}

export function refuseLooseQueryNumbers(app: App): void {
  app.addHook('preValidation', (request: FastifyRequest, _reply, done) => {
    const keys = numericKeysOf(request.routeOptions.schema);
    if (keys === EMPTY) return done();
    const query = request.query as Record<string, unknown> | undefined;
    for (const [name, form] of keys) {
      const value = query?.[name];
      if (value === undefined) continue;
      for (const text of Array.isArray(value) ? value : [value]) {
        if (typeof text === 'string' && !form.test(text)) {
          return done(new DomainError('validation_failed', `querystring/${name} must be a number written in decimal digits`));
        }
      }
    }
    done();
  });
}
