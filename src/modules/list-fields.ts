// `fields=a,b,c` on list endpoints (API.md § Pagination): only the named top-level properties of each item, `id` always.
// Shared by the lists whose query strings are declared in the modules (games, items, listings, orders, campaigns,
// transactions). Unknown names answer 400 validation_failed, as on the storefront, inventory and characters lists.
import { Type, type TObject, type TProperties } from '@sinclair/typebox';
import { DomainError } from '../platform/errors.js';
import { Fields, Uuid } from '../platform/http/schemas.js';
import { pickFields } from '../platform/http/pagination.js';

export { Fields };

/** The item schema of a page that `fields=` may shape: every property optional except `id`. */
export function sparseItem(schema: TObject, options: { $id?: string } = {}): TObject {
  const properties: TProperties = { ...Type.Partial(Type.Object(schema.properties)).properties, id: Uuid };
  return Type.Object(properties, options);
}

/** Refuses unknown names, then keeps only the named properties (and id) of each item. */
export function applyFields<T extends { id: string }>(
  page: { items: T[]; nextCursor: string | null },
  fields: string | undefined,
  known: readonly string[],
): { items: Array<Partial<T> & { id: string }>; nextCursor: string | null } {
  if (fields === undefined) return page;
  const knownSet = new Set(known);
  const unknown = fields.split(',').filter((field) => !knownSet.has(field));
  if (unknown.length) throw new DomainError('validation_failed', `unknown fields: ${unknown.join(', ')}`);
  return { items: pickFields(page.items, fields) as Array<Partial<T> & { id: string }>, nextCursor: page.nextCursor };
}
