// Opaque keyset cursors: base64url JSON of the list's name and the last row's sort key. Garbage in → 400, never a 500.
// A cursor names its list because most lists key on the same (timestamp, id) pair: an admin items cursor used to
// page the player's inventory, a player's order cursor the operators' orders. Another list's cursor is a 400.
// A list takes back only the exact cursors it hands out. Node's base64 decoder skips characters outside the
// alphabet, padding and blanks, and stops at a trailing partial byte, so `abc!d`, `abcd==` or `abcdx` read as the
// cursor `abcd`: a tampered cursor was served as the real one (200) instead of refused.
import { DomainError } from '../errors.js';
import { isUuid } from '../auth.js';

// Timestamps exactly as our cursors write them. Date.parse accepts far more (`+275760-…` years, `Feb 31` rolled
// over to March) than PostgreSQL will take or read the same way, and a value it refuses must be a 400, not a 500.
const EXACT_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

export function isCursorTimestamp(value: unknown): value is string {
  if (typeof value !== 'string' || !EXACT_TIMESTAMP.test(value)) return false;
  const parsed = new Date(value);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === value.slice(0, 19);
}

export type CursorShape = ReadonlyArray<'string' | 'number' | 'uuid' | 'timestamp' | 'nullable-number'>;

/** The cursor of `list` (its name, unique among the lists) resuming after the row whose sort key is `values`. */
export function encodeCursor(list: string, values: readonly unknown[]): string {
  return encodeCursorValues([list, ...values]);
}

/** The sort key a cursor of `list` carries; a cursor of another list, or not exactly one handed out, is a 400. */
export function decodeCursor(list: string, cursor: string | undefined, shape: CursorShape): unknown[] | undefined {
  const values = decodeCursorValues(cursor, ['string', ...shape]);
  if (!values) return undefined;
  if (values[0] !== list) throw new DomainError('validation_failed', 'invalid cursor: it was handed out by another list');
  return values.slice(1);
}

/** The bare encoding: for cursors that name their list themselves (the storefront's name their sort). */
export function encodeCursorValues(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursorValues(cursor: string | undefined, shape: CursorShape): unknown[] | undefined {
  if (cursor === undefined) return undefined;
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new DomainError('validation_failed', 'invalid cursor');
  }
  if (!Array.isArray(values) || values.length !== shape.length) throw new DomainError('validation_failed', 'invalid cursor');
  shape.forEach((kind, index) => {
    const value = values[index];
    const ok =
      kind === 'string' ? typeof value === 'string' :
      kind === 'number' ? Number.isSafeInteger(value) :
      kind === 'nullable-number' ? value === null || Number.isSafeInteger(value) :
      kind === 'uuid' ? isUuid(value) :
      isCursorTimestamp(value);
    if (!ok) throw new DomainError('validation_failed', 'invalid cursor');
  });
  if (encodeCursorValues(values) !== cursor) throw new DomainError('validation_failed', 'invalid cursor');
  return values;
}

/**
 * A keyset page read with one row past `limit`: the rows to show, and the last of them only when another page
 * follows (its key is the next cursor), so a page that is exactly full hands out no cursor to an empty one.
 */
export function pageOf<T>(rows: readonly T[], limit: number): { rows: T[]; last: T | undefined } {
  const shown = rows.slice(0, limit);
  return { rows: shown, last: rows.length > limit ? shown[shown.length - 1] : undefined };
}

/** Picks `fields` (plus id) from each item: sparse fieldsets. */
export function pickFields<T extends Record<string, unknown>>(items: T[], fields: string | undefined): Array<Partial<T>> {
  if (!fields) return items;
  const wanted = new Set(['id', ...fields.split(',')]);
  return items.map((item) => Object.fromEntries(Object.entries(item).filter(([key]) => wanted.has(key))) as Partial<T>);
}
