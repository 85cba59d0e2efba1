// The service's JSON body parser: Fastify's own (prototype-poisoning checks included), with two differences every
// route wants. An empty body labelled application/json (curl -H, generic HTTP clients, a DELETE) is no body, not
// a 400. A body nested deeper than MAX_JSON_DEPTH is refused with 400: JSON.parse accepts thousands of levels,
// but the recursive code after it (JSON.stringify into a jsonb column, the schema validator) overflows the stack,
// which answered 500.
// Every body is JSON (API.md): Fastify's built-in text/plain parser is removed, so a body of any other media type
// is 415 unsupported_media_type. It used to reach the route as a string and answer 400 "body must be object",
// which told a client that sent JSON labelled text/plain (fetch's default for a string body) to fix its JSON.
// An empty text/plain body is still no body, like an empty JSON one: a body-less POST stays a body-less POST.
// No content coding is decoded (RFC 9110 § 8.4.1): a body sent with Content-Encoding other than identity is 415. It
// used to be read as if it were plain JSON — gzip bytes answered 400, and a plain body mislabelled gzip was accepted.
import type { FastifyInstance } from 'fastify';
import { DomainError } from '../errors.js';

export const MAX_JSON_DEPTH = 64;

/** Whether objects and arrays nest deeper than `limit` (iterative: the value may be deeper than the stack). */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * The body of a webhook, parsed by its own route once the signature over the raw bytes has been checked (the shared
 * parser would have dropped those bytes): the same rules as the shared parser, valid JSON at most MAX_JSON_DEPTH deep.
 */
export function parseSignedJson(raw: Buffer): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new DomainError('validation_failed', 'the body is not valid JSON');
  }
  if (nestsDeeperThan(parsed, MAX_JSON_DEPTH)) throw new DomainError('validation_failed', `the body nests deeper than ${MAX_JSON_DEPTH} levels`);
  return parsed;
}

/**
 * Fastify's parser refuses `__proto__` and `constructor.prototype` keys (prototype poisoning) with the same words as
 * broken JSON, "Body is not valid JSON". When the text does parse, that was the reason, and the 400 says so.
 * Only refused bodies are parsed a second time.
 */
function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
const PROTOTYPE_KEYS_REFUSED = () =>
  new DomainError('validation_failed', 'the JSON body must not contain a "__proto__" or "constructor.prototype" key');

/** No Content-Encoding, or only `identity`. */
function isIdentityCoded(header: string | undefined): boolean {
  return header === undefined || header.split(',').every((coding) => ['', 'identity'].includes(coding.trim().toLowerCase()));
}

export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '' || (typeof body !== 'string' && body.length === 0)) return done(null, undefined);
    return done(new DomainError('unsupported_media_type', 'the request body must be application/json'), undefined);
  });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '') return done(null, undefined);
    if (!isIdentityCoded(request.headers['content-encoding'])) {
      return done(new DomainError('unsupported_media_type', 'request bodies are not decoded: send them without Content-Encoding'), undefined);
    }
    parse(request, text, (error, value) => {
      if (error) return done(isValidJson(text) ? PROTOTYPE_KEYS_REFUSED() : error, undefined);
      if (nestsDeeperThan(value, MAX_JSON_DEPTH)) {
        return done(new DomainError('validation_failed', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      }
      return done(null, value);
    });
  });
}
