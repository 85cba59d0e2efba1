// Notes successful writes for read-your-writes (platform/replica.ts) so modules do not have to: a 2xx answer to a
// non-GET request wrote for the calling player, for a `:userId` in the path (service consume, admin adjustments)
// and for a `userId` in the body (service grants). The position is recorded before the response leaves, so the
// client's next read, on any instance, already knows to wait for the replica or to use the primary.
import type { FastifyRequest } from 'fastify';
import type { App } from './types.js';
import type { RouteContext } from '../../context.js';
import { isUuid } from '../auth.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function usersWrittenBy(request: FastifyRequest): string[] {
  const users: string[] = [];
  if (request.principal?.role === 'player') users.push(request.principal.userId);
  const paramUser = (request.params as { userId?: unknown } | undefined)?.userId;
  if (isUuid(paramUser)) users.push(paramUser.toLowerCase());
  const body = request.body;
  const bodyUser = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { userId?: unknown }).userId : undefined;
  if (isUuid(bodyUser)) users.push(bodyUser.toLowerCase());
  return users;
}

export function registerReadYourWrites(app: App, { db, redis, config }: RouteContext): void {
  db.shareWritesThrough(redis, config.redisKeyPrefix);
  // Without a replica every read is on the primary already; the hook would only cost a query per write.
  if (!db.hasReplica) return;
  app.addHook('onSend', async (request, reply) => {
    if (SAFE_METHODS.has(request.method) || reply.statusCode >= 400) return;
    const users = usersWrittenBy(request);
    if (users.length === 0) return;
    try {
      await db.noteWrite(...users);
    } catch (error) {
      // The write itself succeeded; failing the response now would make the client retry a done purchase.
      request.log.warn({ err: error }, 'could not note the write position for read-your-writes');
    }
  });
}
