// Domain errors carry a stable code and no HTTP. One table below maps codes to statuses; the error handler in
// http/problem.ts turns them into RFC 9457 problem+json.

export type ErrorCode =
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'insufficient_funds'
  | 'out_of_stock'
  | 'already_owned'
  | 'purchase_limit_reached'
  | 'not_available'
  | 'price_changed'
  | 'insufficient_quantity'
  | 'not_compatible'
  | 'not_owned'
  | 'stack_limit_reached'
  | 'limit_reached'
  | 'idempotency_conflict'
  | 'idempotency_in_progress'
  | 'idempotency_key_reused'
  | 'invalid_state'
  | 'payload_too_large'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'request_timeout'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'service_unavailable'
  | 'internal_error';

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  insufficient_funds: 409,
  out_of_stock: 409,
  already_owned: 409,
  purchase_limit_reached: 409,
  not_available: 409,
  price_changed: 409,
  insufficient_quantity: 409,
  not_compatible: 409,
  not_owned: 409,
  stack_limit_reached: 409,
  limit_reached: 409,
  idempotency_conflict: 409,
  idempotency_in_progress: 409,
  idempotency_key_reused: 422,
  invalid_state: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  headers_too_large: 431,
  request_timeout: 408,
  unsupported_media_type: 415,
  rate_limited: 429,
  service_unavailable: 503,
  internal_error: 500,
};

export const TITLE_BY_STATUS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  431: 'Request Header Fields Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string) => new DomainError('not_found', `${what} not found`);
export const invalid = (message: string, details?: Record<string, unknown>) => new DomainError('validation_failed', message, details);

/** PostgreSQL error codes we translate into domain errors instead of 500s. */
export const PG = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  notNullViolation: '23502',
  invalidTextRepresentation: '22P02',
  numericOutOfRange: '22003',
  stringTooLong: '22001',
  /** "date/time field value out of range": a timestamp PostgreSQL cannot store (year 0000). */
  datetimeFieldOverflow: '22008',
  invalidDatetimeFormat: '22007',
  /** "invalid byte sequence for encoding UTF8: 0x00": a NUL in a text parameter (a query string's %00). */
  characterNotInRepertoire: '22021',
  /** "\u0000 cannot be converted to text": a NUL inside a JSON value bound for jsonb. */
  untranslatableCharacter: '22P05',
  queryCanceled: '57014',
  /** Left over after withTx's retries, or from a statement outside a transaction: transient, so 503. */
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  lockNotAvailable: '55P03',
} as const;

/**
 * The SQLSTATE of a database error. PostgreSQL 18 (and PGlite, which is PostgreSQL 18) reports a row still referenced
 * through an ON DELETE RESTRICT foreign key — every foreign key of this schema — as 23001 restrict_violation, where
 * up to 17 (CI runs 15) it is 23503 foreign_key_violation: read as the one the services translate (409 conflict, a
 * listing deactivated instead of deleted), whichever server answered.
 */
export function pgErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (code === '23001') return PG.foreignKeyViolation;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

export function pgConstraint(error: unknown): string | undefined {
  return (error as { constraint?: string } | null)?.constraint;
}
