// The HTTP face of platform/idempotency.ts: reads and checks the Idempotency-Key header, scopes the key to the
// caller, fingerprints the request (route, params, body) and replays stored responses with Idempotent-Replayed.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../db.js';
import { DomainError } from '../errors.js';
import { fingerprintRequest, runIdempotent, type IdempotentWork, type StoredResponse } from '../idempotency.js';
import { principalOf } from './auth-hooks.js';
import { isUuid } from '../auth.js';
import { instanceOf } from './problem.js';

/** A UUID in the path names the same row in either case: a retry spelling it in capitals is the same request. */
function pathIdsInOneCase(params: unknown): unknown {
  if (typeof params !== 'object' || params === null) return params;
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, isUuid(value) ? value.toLowerCase() : value]));
}

export function idempotencyKeyOf(request: FastifyRequest): string {
  const raw = request.headers['idempotency-key'];
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new DomainError('validation_failed', 'the Idempotency-Key header is required for this request');
  }
  if (raw.length > 255) throw new DomainError('validation_failed', 'Idempotency-Key must be 1-255 characters');
  return raw;
}

export async function replyIdempotent<R>(
  db: Database,
  request: FastifyRequest,
  reply: FastifyReply,
  work: IdempotentWork<R>,
  options: {
    afterCommit?: (response: StoredResponse & { replayed: boolean }) => Promise<void>;
    /**
     * The body as the route understands it, when two spellings mean one request (an optional line sent as null that
     * means absent, an id in capitals): the key compares what is asked for, not how the JSON was written. Default:
     * the validated body (defaults filled in; key order never matters).
     */
    fingerprintBody?: unknown;
  } = {},
): Promise<FastifyReply> {
  const key = idempotencyKeyOf(request);
  const principal = principalOf(request);
  const result = await runIdempotent(
    db,
    {
      scope: `${principal.role}:${principal.userId}`,
      key,
      fingerprint: fingerprintRequest({
        method: request.method,
        route: request.routeOptions.url,
        params: pathIdsInOneCase(request.params),
        body: (options.fingerprintBody !== undefined ? options.fingerprintBody : request.body) ?? null,
      }),
    },
    work,
  );
  // Runs after the commit but before the client hears back, so a read that follows the response sees the change
  // (cache invalidation belongs here, not inside the transaction where a reader could re-cache the old state).
  // A replayed success runs it too: the first attempt may have died between its commit and this line, and the
  // client's retry, possibly on another instance, is a replay; without it the old pages would stay cached.
  if (options.afterCommit && (!result.replayed || result.status < 400)) await options.afterCommit(result);
  if (result.replayed) reply.header('idempotent-replayed', 'true');
  if (result.status >= 400) {
    // A stored problem names no request; like every other problem it names this one (a replay names the retry's).
    reply.type('application/problem+json');
    return reply.status(result.status).send({ ...(result.body as object), instance: instanceOf(request) });
  }
  return reply.status(result.status).send(result.body);
}
