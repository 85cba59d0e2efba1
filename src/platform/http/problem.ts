// Every failure leaves as RFC 9457 problem+json with a stable `code`. 5xx bodies never carry internals.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, PG, STATUS_BY_CODE, TITLE_BY_STATUS, pgErrorCode, type ErrorCode } from '../errors.js';
import { trackAllowedMethods } from './allowed-methods.js';
import { answerConnect } from './client-errors.js';
import { recordHttpRequest } from '../metrics.js';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  errors?: Array<{ path: string; message: string }>;
  [extra: string]: unknown;
}

export function problem(code: ErrorCode, detail: string, extra: Record<string, unknown> = {}): Problem {
  const status = STATUS_BY_CODE[code];
  return {
    type: `https://battlebucks.dev/problems/${code.replace(/_/g, '-')}`,
    title: TITLE_BY_STATUS[status] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.status(body.status).type('application/problem+json').send(body);
}

// Fastify's own error codes → ours. Anything in the 4xx range that is not listed stays a 400 validation error.
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'validation_failed',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation_failed',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation_failed',
  FST_ERR_VALIDATION: 'validation_failed',
};

type AjvError = { keyword?: string; instancePath?: string; message?: string; params?: Record<string, unknown> };

/**
 * A choice among constants (a union of literals: `sort`, `kind`, a status) fails once per branch — "must be equal
 * to constant" four to eight times, then "must match a schema in anyOf" — and names none of them. One line per
 * field instead, naming what it may be.
 */
function withAllowedValuesNamed(validation: AjvError[]): AjvError[] {
  const allowed = new Map<string, unknown[]>();
  for (const v of validation) {
    if (v.keyword === 'const') allowed.set(v.instancePath ?? '', [...(allowed.get(v.instancePath ?? '') ?? []), v.params?.allowedValue]);
  }
  if (allowed.size === 0) return validation;
  const named = new Set<string>();
  return validation.flatMap((v) => {
    const path = v.instancePath ?? '';
    if (!allowed.has(path) || (v.keyword !== 'const' && v.keyword !== 'anyOf')) return [v];
    if (named.has(path)) return [];
    named.add(path);
    return [{ ...v, keyword: 'enum', message: `must be one of: ${allowed.get(path)!.map((value) => JSON.stringify(value)).join(', ')}` }];
  });
}

/** A problem's `instance`: the request's path, without its query. */
export function instanceOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '/';
}

export function toProblem(error: unknown, request: FastifyRequest): Problem {
  if (error instanceof DomainError) {
    return problem(error.code, error.message, error.details ?? {});
  }
  const fastifyError = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fastifyError.validation) {
    const errors = withAllowedValuesNamed(fastifyError.validation).map((v) => {
      const missing = v.params?.missingProperty ? `/${String(v.params.missingProperty)}` : '';
      const extraProp = v.params?.additionalProperty ? `/${String(v.params.additionalProperty)}` : '';
      return { path: `${fastifyError.validationContext ?? ''}${v.instancePath ?? ''}${missing}${extraProp}`, message: v.message ?? 'invalid' };
    });
    return problem('validation_failed', errors.map((e) => `${e.path} ${e.message}`).join('; ') || 'invalid request', { errors });
  }
  if (fastifyError.statusCode === 429) {
    return problem('rate_limited', fastifyError.message || 'rate limit exceeded');
  }
  const mapped = fastifyError.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (mapped) return problem(mapped, fastifyError.message);
  if (error instanceof SyntaxError) return problem('validation_failed', 'malformed JSON body');

  const pgCode = pgErrorCode(error);
  if (pgCode === PG.invalidTextRepresentation || pgCode === PG.numericOutOfRange || pgCode === PG.stringTooLong) {
    return problem('validation_failed', 'a value is out of range or malformed');
  }
  // PostgreSQL text cannot hold U+0000. Only client text carries one (our SQL never builds it), wherever a schema
  // did not already refuse control characters: the request is at fault, and nothing was written.
  if (pgCode === PG.characterNotInRepertoire || pgCode === PG.untranslatableCharacter) {
    return problem('validation_failed', 'text must not contain NUL (U+0000) characters');
  }
  // A date-time the schema's format accepts but PostgreSQL cannot hold (year 0000: there is no year zero).
  if (pgCode === PG.datetimeFieldOverflow || pgCode === PG.invalidDatetimeFormat) {
    return problem('validation_failed', 'a date-time is outside the range that can be stored');
  }
  if (isDatabaseUnreachable(error, pgCode)) {
    request.log.warn({ err: error }, 'database unreachable');
    return problem('service_unavailable', 'the service is briefly unavailable; retry later');
  }
  // 25006: the database refused a write as read-only: a failover that left DATABASE_URL on the demoted node, or a
  // primary fenced read-only. An outage for the client; logged as an error, since a write sent to a replica by our
  // own mistake would look the same.
  if (pgCode === '25006') {
    request.log.error({ err: error }, 'database refused a write: it is read-only (failover or fencing?)');
    return problem('service_unavailable', 'the service is briefly unavailable; retry later');
  }
  if (pgCode === PG.serializationFailure || pgCode === PG.deadlockDetected) {
    request.log.warn({ err: error }, 'transaction conflict');
    return problem('service_unavailable', 'the request collided with a concurrent one; retry');
  }
  if (pgCode === PG.queryCanceled || pgCode === PG.lockNotAvailable) {
    request.log.warn({ err: error }, 'database timeout');
    return problem('service_unavailable', 'the request took too long; retry later');
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const code: ErrorCode = status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : 'validation_failed';
    return problem(code, fastifyError.message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return problem('internal_error', 'an unexpected error occurred; it has been logged');
}

// The database restarting or failing over is an outage, not a bug: 503 with Retry-After tells clients (and load
// balancers) to come back, where a 500 would say the request itself was at fault. Class 08 is connection
// exceptions, 57P0x the server shutting down or starting, 53300 no connection slot left; a database closed to
// connections (maintenance) refuses them with 55000, a code statements use for other things too, hence its message;
// a login it refuses (class 28: a rotated password, a role without LOGIN, pg_hba) or a database gone from under the
// service (3D000) come only from connecting, like /readyz's "unreachable"; the rest are the driver's words for a lost socket.
const UNREACHABLE_MESSAGES = /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|ECONNREFUSED|ECONNRESET|is not currently accepting connections/;

function isDatabaseUnreachable(error: unknown, pgCode: string | undefined): boolean {
  if (pgCode?.startsWith('08') || pgCode?.startsWith('28') || pgCode === '3D000' || pgCode === '57P01' || pgCode === '57P02' || pgCode === '57P03' || pgCode === '53300') return true;
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || (error instanceof Error && UNREACHABLE_MESSAGES.test(error.message));
}

/**
 * RFC 9110 § 15.5.2: a 401 names the scheme that would have worked. RFC 6750 § 3: a request that sent no credentials
 * gets the bare challenge, one whose token was refused `error="invalid_token"`.
 */
export function bearerChallenge(request: FastifyRequest): string {
  return request.headers.authorization === undefined ? 'Bearer realm="battlebucks"' : 'Bearer realm="battlebucks", error="invalid_token"';
}

export function registerProblemHandlers(app: FastifyInstance): void {
  // Registered before any route, so it sees every route the modules add (operations, docs and webhooks included).
  const allowedMethods = trackAllowedMethods(app);
  // CONNECT bypasses Fastify entirely (Node's 'connect' event); without a listener Node drops the connection unanswered.
  app.server.on('connect', answerConnect);
  // An Expect other than 100-continue: Node answers a bare, empty 417 and closes unless someone listens. RFC 9110
  // § 10.1.1 lets a server ignore an expectation it does not know; the request is served like any other.
  app.server.on('checkExpectation', (request, response) => app.server.emit('request', request, response));
  app.setErrorHandler((error, request, reply) => {
    const body = toProblem(error, request);
    if (body.status === 401) reply.header('www-authenticate', bearerChallenge(request));
    if (body.status === 429) {
      const retryAfter = reply.getHeader('retry-after');
      if (retryAfter === undefined) reply.header('retry-after', '1');
    }
    if (body.status === 503) reply.header('retry-after', '1');
    return sendProblem(reply, { ...body, instance: instanceOf(request) });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = instanceOf(request);
    const allowed = allowedMethods(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(reply, problem('method_not_allowed', `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`, { instance: path }));
    }
    return sendProblem(reply, problem('not_found', `no route for ${request.method} ${path}`, { instance: path }));
  });
}

/**
 * Fastify's `frameworkErrors`: router refusals (a malformed percent-encoding, a path parameter over maxParamLength)
 * are answered before any hook runs, so the answer gets here what the onRequest and onResponse hooks give every
 * other one: the security headers, the request id, and its count in bb_http_requests_total.
 */
export function answerFrameworkError(securityHeaders: Readonly<Record<string, string>>) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const started = performance.now();
    reply.headers(securityHeaders).header('x-request-id', request.id);
    reply.raw.once('finish', () => recordHttpRequest(request.method, 'unmatched', reply.statusCode, (performance.now() - started) / 1000));
    void sendProblem(reply, { ...toProblem(error, request), instance: instanceOf(request) });
  };
}
