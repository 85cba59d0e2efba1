// Cursor values come back from clients, so every one is checked before it reaches SQL: a timestamp that
// JavaScript accepts but PostgreSQL rejects (or silently rolls over, like Feb 31) must be a 400, not a 500.
import { DomainError } from '../../platform/errors.js';
import { decodeCursor, decodeCursorValues, encodeCursor, encodeCursorValues, isCursorTimestamp } from '../../platform/http/pagination.js';

export function checkTimestamp(value: unknown): void {
  if (!isCursorTimestamp(value)) throw new DomainError('validation_failed', 'invalid cursor');
}

/** The admin catalog lists, each with cursors of its own (`items`'s are refused by `listings` and the reverse). */
export type CreatedList = 'items' | 'listings';

/** Cursor of the admin lists: the last row's (created_at with microseconds, id). */
export function encodeCreatedCursor(list: CreatedList, last: { createdAt: string; id: string } | undefined): string | null {
  return last ? encodeCursor(list, [last.createdAt, last.id]) : null;
}

export function decodeCreatedCursor(list: CreatedList, cursor: string | undefined): { createdAt: string; id: string } | undefined {
  const values = decodeCursor(list, cursor, ['timestamp', 'uuid']);
  if (!values) return undefined;
  checkTimestamp(values[0]);
  return { createdAt: values[0] as string, id: values[1] as string };
}

/**
 * A storefront cursor names its sort first, so a cursor from one sort is refused by another. The sort names are
 * the storefront's list names: no other list uses them (pagination.ts), so other lists refuse these cursors too.
 */
export function decodeSortCursor(cursor: string | undefined, sort: string, shape: ReadonlyArray<'number' | 'timestamp' | 'uuid'>): unknown[] | undefined {
  const values = decodeCursorValues(cursor, ['string', ...shape]);
  if (!values) return undefined;
  if (values[0] !== sort) throw new DomainError('validation_failed', `the cursor belongs to sort "${String(values[0])}", not "${sort}"`);
  shape.forEach((kind, index) => {
    if (kind === 'timestamp') checkTimestamp(values[index + 1]);
  });
  return values.slice(1);
}

export function encodeSortCursor(sort: string, key: readonly unknown[] | null): string | null {
  return key ? encodeCursorValues([sort, ...key]) : null;
}
