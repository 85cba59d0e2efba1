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
 * The values of a storefront sort key: `price` (never negative), `featured` (the negated rank, 0..1,000,000, or
 * the "not featured" value), a microsecond `timestamp`, the row's `uuid`. A key outside them was never handed out.
 */
export type SortKeyPart = 'price' | 'featured' | 'timestamp' | 'uuid';
export const MAX_FEATURED_RANK = 1_000_000;
export const NOT_FEATURED_KEY = -2147483647;

function inRange(kind: SortKeyPart, value: unknown): boolean {
  if (kind === 'price') return (value as number) >= 0;
  if (kind === 'featured') return value === NOT_FEATURED_KEY || ((value as number) <= 0 && (value as number) >= -MAX_FEATURED_RANK);
  if (kind === 'timestamp') return isCursorTimestamp(value);
  return true;
}

/**
 * A storefront cursor names its sort first, so a cursor from one sort is refused by another. The sort names are
 * the storefront's list names: no other list uses them (pagination.ts), so other lists refuse these cursors too.
 */
export function decodeSortCursor(cursor: string | undefined, sort: string, shape: readonly SortKeyPart[]): unknown[] | undefined {
  const values = decodeCursorValues(cursor, ['string', ...shape.map((kind) => (kind === 'price' || kind === 'featured' ? 'number' : kind))]);
  if (!values) return undefined;
  if (values[0] !== sort) throw new DomainError('validation_failed', `the cursor belongs to sort "${String(values[0])}", not "${sort}"`);
  shape.forEach((kind, index) => {
    if (!inRange(kind, values[index + 1])) throw new DomainError('validation_failed', 'invalid cursor');
  });
  return values.slice(1);
}

export function encodeSortCursor(sort: string, key: readonly unknown[] | null): string | null {
  return key ? encodeCursorValues([sort, ...key]) : null;
}
