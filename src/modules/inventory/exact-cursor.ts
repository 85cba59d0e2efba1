// The player's own lists (inventory, characters, wallet history) take back only the cursors they handed out.
// Node's base64 decoder skips characters outside the alphabet, padding and blanks, and stops at a trailing partial
// byte, so `abc!d`, `abcd==` or `abcdx` read as the cursor `abcd`: a tampered cursor was served as the real one
// (200) instead of refused. A cursor must be exactly what encodeCursor writes for the values it holds.
// (platform/http/pagination.ts's decodeCursor is lenient for every list; this is the strict form for these.)
import { DomainError } from '../../platform/errors.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';

export function decodeExactCursor(cursor: string | undefined, shape: Parameters<typeof decodeCursor>[1]): unknown[] | undefined {
  const values = decodeCursor(cursor, shape);
  if (values !== undefined && encodeCursor(values) !== cursor) throw new DomainError('validation_failed', 'invalid cursor');
  return values;
}
