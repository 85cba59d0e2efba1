// The app's Ajv coerces types (useful for query strings), which in a JSON body turns `null` into 0, false or ""
// before our schema sees it: `{"price": null}` would create a free listing and `{"active": null}` would
// deactivate one. This preValidation hook refuses null for every top-level body field whose schema does not
// allow it, so a null is either meant (type ["x","null"]) or a 400.
import type { TObject } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '../../platform/errors.js';

export function rejectNullsOutside(schema: TObject) {
  const nullable = new Set(
    Object.entries(schema.properties)
      .filter(([, property]) => Array.isArray(property.type) ? property.type.includes('null') : property.type === 'null')
      .map(([key]) => key),
  );
  return async function rejectUnexpectedNulls(request: FastifyRequest): Promise<void> {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
    for (const [key, value] of Object.entries(body)) {
      if (value === null && !nullable.has(key) && key in schema.properties) {
        throw new DomainError('validation_failed', `body/${key} must not be null`, { errors: [{ path: `body/${key}`, message: 'must not be null' }] });
      }
    }
  };
}
