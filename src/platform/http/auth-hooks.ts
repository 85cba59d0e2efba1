// Route guards: `onRequest: authenticate('player')` verifies the token, checks the role and, for players,
// provisions the user just in time. It runs before the body is read, so a caller without the right role learns
// 401/403 and nothing about the body's validation.
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { DomainError } from '../errors.js';
import { singleAuthorization, type Principal, type Role, type TokenVerifier } from '../auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new DomainError('unauthorized', 'authentication required');
  return request.principal;
}

export function createAuthenticate(verifier: TokenVerifier, provision: (principal: Principal) => Promise<void>) {
  return function authenticate(...roles: Role[]): onRequestAsyncHookHandler {
    return async function guard(request: FastifyRequest, _reply: FastifyReply) {
      const principal = await verifier.verify(singleAuthorization(request.headers.authorization, request.raw.rawHeaders));
      if (!roles.includes(principal.role)) {
        throw new DomainError('forbidden', `this endpoint requires the ${roles.join(' or ')} role`);
      }
      if (principal.role === 'player') await provision(principal);
      request.principal = principal;
    };
  };
}
